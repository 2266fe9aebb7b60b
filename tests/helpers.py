"""Small helpers the tests share."""
import numpy as np


def make_xy(layers, loss, m=16, seed=1):
    """A float32-representable batch whose targets suit ``loss``."""
    from compare.gradients import make_batch
    return make_batch(tuple(layers), loss, m, seed)


def fd_gradients(f, x, h=1e-6):
    """Central differences of the scalar f at x (float64)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g


def rel_diff(a, b):
    """The lecture's ||a - b|| / (||a|| + ||b||), as the harness computes it."""
    from compare.report import errors
    return errors(a, b)["rel_diff"]
