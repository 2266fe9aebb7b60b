"""Mistake: db summed over the wrong axis, the units instead of the examples (rows layout).

    python -m compare.candidate examples/rows_db_wrong_axis.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rows_correct.py")).read(),
             "rows_correct.py", "exec"))


class Net(Net):
    def bias_gradient(self, dZ):
        return dZ.sum(axis=1)  # should be axis=0: a sum over the examples
