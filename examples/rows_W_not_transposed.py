"""Mistake: W where W^T belongs in dA_prev = dZ W^T (rows layout).  On square layers no shape
check catches it:

    python -m compare.candidate examples/rows_W_not_transposed.py --layers 6,6,6,6
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rows_correct.py")).read(),
             "rows_correct.py", "exec"))


class Net(Net):
    def input_gradient(self, dZ, W):
        return dZ @ W  # should be dZ @ W.T
