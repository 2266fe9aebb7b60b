"""Mistake: tanh'(z) written as 1 - a instead of 1 - a^2, in tanh hidden layers:

    python -m compare.candidate examples/columns_tanh_derivative.py --hidden-activation tanh
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns_correct.py")).read(),
             "columns_correct.py", "exec"))

HIDDEN_ACTIVATION = "tanh"


def tanh_backward(dA, cache):
    t = np.tanh(cache)
    return dA * (1 - t)  # should be dA * (1 - t ** 2)


BACKWARD["tanh"] = tanh_backward
