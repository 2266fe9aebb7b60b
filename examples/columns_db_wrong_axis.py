"""Mistake: db summed over the wrong axis, the units instead of the examples.

    python -m compare.candidate examples/columns_db_wrong_axis.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns_correct.py")).read(),
             "columns_correct.py", "exec"))


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=0, keepdims=True) / m  # should be axis=1: a sum over the examples
    dA_prev = W.T @ dZ
    return dA_prev, dW, db
