"""Mistake: the output delta written with g(z) instead of g'(z), in the rows layout: dZ[L] =
dA[L] * sigmoid(Z[L]) where sigmoid'(Z[L]) = A (1 - A) belongs.

    python -m compare.candidate examples/rows_delta_with_g.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rows_correct.py")).read(),
             "rows_correct.py", "exec"))


class Net(Net):
    def output_delta(self, AL, Y):
        dAL = -(Y / AL - (1 - Y) / (1 - AL)) / AL.size
        return dAL * AL  # should be dAL * AL * (1 - AL)
