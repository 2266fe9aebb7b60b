"""Mistake: the output delta written with g(z) instead of g'(z).

The lecture's own "Hint" slide prints delta(3) = (a(3) - y) * g(z(3)); the derivative belongs
there, g'(z) = g(z) (1 - g(z)) for the sigmoid.  Everything else is examples/columns_correct.py.

    python -m compare.candidate examples/columns_delta_with_g.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns_correct.py")).read(),
             "columns_correct.py", "exec"))


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s  # should be dA * s * (1 - s)


BACKWARD["sigmoid"] = sigmoid_backward
