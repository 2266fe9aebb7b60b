"""Mistake: tanh'(z) written as 1 - a instead of 1 - a^2, in tanh hidden layers (rows layout).

    python -m compare.candidate examples/rows_tanh_derivative.py
"""
import os

exec(compile(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rows_correct.py")).read(),
             "rows_correct.py", "exec"))

HIDDEN_ACTIVATION = "tanh"
_g_prime = g_prime


def g_prime(name, Z, A):
    return 1 - A if name == "tanh" else _g_prime(name, Z, A)  # tanh's should be 1 - A ** 2
