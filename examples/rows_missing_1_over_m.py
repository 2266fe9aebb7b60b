"""Mistake: the output delta without the 1/m of the batch mean, in the rows layout.

    python -m compare.candidate examples/rows_missing_1_over_m.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rows_correct.py")).read(),
             "rows_correct.py", "exec"))


class Net(Net):
    def output_delta(self, AL, Y):
        return AL - Y  # should be (AL - Y) / (m n_out)
