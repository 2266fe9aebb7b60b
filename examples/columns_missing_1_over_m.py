"""Mistake: dW without the 1/m of the batch mean.

    python -m compare.candidate examples/columns_missing_1_over_m.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns_correct.py")).read(),
             "columns_correct.py", "exec"))


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T  # should be dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = W.T @ dZ
    return dA_prev, dW, db
