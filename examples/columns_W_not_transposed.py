"""Mistake: W where W^T belongs in dA_prev = W^T dZ.  On a square layer the shapes agree, so no
shape check catches it; run it on square layers:

    python -m compare.candidate examples/columns_W_not_transposed.py --layers 6,6,6,6
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns_correct.py")).read(),
             "columns_correct.py", "exec"))


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = W @ dZ  # should be W.T @ dZ
    return dA_prev, dW, db
