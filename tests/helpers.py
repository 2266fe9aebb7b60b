"""Small helpers the tests share.

Every rounding tolerance the tests use comes from ``scratch.tolerances``: the dtype's epsilon
times the number of roundings the compared quantity went through, each derived where it is
used.  The checks below go through ``check``, which names the quantity and shows the measured
error beside its bound.
"""
import numpy as np

from scratch import tolerances

#: The step of ``fd_gradients``: its error per element is h^2 + eps / h ~ 2.2e-10 in float64.
FD_STEP = 1e-6


def make_xy(layers, loss, m=16, seed=1):
    """A float32-representable batch whose targets suit ``loss``."""
    from compare.cases import make_batch
    return make_batch(tuple(layers), loss, m, seed)


def fd_gradients(f, x, h=FD_STEP):
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
    from compare.core import errors
    return errors(a, b)["rel_diff"]


def check(what: str, error: float, bound: float) -> None:
    """Assert ``error <= bound``, saying what was compared and by how much it missed."""
    assert error <= bound, f"{what}: {error:.3g} > {bound:.3g} allowed"


def fd_tolerance(backprop, fd, h=FD_STEP, f_error=None, dtype="float64") -> float:
    """``tolerances.finite_differences`` for one tensor: sqrt(size) (h^2 + eps / h) / norm, with
    norm = ||backprop|| + ||fd||.

    That counts f as computed to within eps.  ``f_error``, where given, is how far one evaluation
    of f may be off instead (a network's cost J: ``tolerances.network(...) |J|``); it takes eps's
    place: sqrt(size) (h^2 + f_error / h) / norm.
    """
    norm = float(np.linalg.norm(backprop) + np.linalg.norm(fd))
    if f_error is None:
        return tolerances.finite_differences(h, np.size(backprop), norm, dtype)
    return float(np.sqrt(np.size(backprop))) * (h * h + f_error / h) / norm if norm else 0.0


def assert_matches_fd(backprop, fd, h=FD_STEP, f_error=None, what="backprop vs finite differences"):
    """Backprop within the truncation and rounding of a central difference with step h."""
    check(f"{what} (rel diff)", rel_diff(backprop, fd), fd_tolerance(backprop, fd, h, f_error))


def assert_close(actual, expected, rtol: float = 0.0, scale=None, atol=0.0, what="value"):
    """Elementwise |actual - expected| <= rtol * scale + atol (scale and atol: scalars or per element).

    ``scale`` defaults to max(|actual|, |expected|): rtol is then a count of ulps of the value,
    as ``tolerances.ulps`` gives it.  Pass the magnitudes of the terms summed instead where the
    result cancels (Higham's bound is relative to them, not to the result).
    """
    actual, expected = np.broadcast_arrays(np.asarray(actual, np.float64), np.asarray(expected, np.float64))
    if scale is None:
        scale = np.maximum(np.abs(actual), np.abs(expected))
    diff = np.abs(actual - expected)
    bound = rtol * np.broadcast_to(np.asarray(scale, np.float64), diff.shape) + atol
    if not diff.size:
        return
    ratio = np.divide(diff, bound, out=np.where(diff > 0, np.inf, 0.0), where=bound > 0)
    worst = int(np.argmax(ratio))
    at = tuple(int(i) for i in np.unravel_index(worst, diff.shape))
    check(f"{what}: |actual - expected| at {at}", float(diff.flat[worst]),
          float(bound.flat[worst]))


def assert_rel_diff(a, b, tol: float, what="rel diff"):
    """The harness's ||a - b|| / (||a|| + ||b||) within ``tol``."""
    check(what, rel_diff(a, b), tol)
