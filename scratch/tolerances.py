"""How far apart two correct computations of the same quantity may be, from the dtype's epsilon.

Two implementations that are both right still round differently.  BLAS kernels sum in other
orders, with or without fused multiply-adds, on other CPUs (OpenBLAS picks SkylakeX, Haswell
or Sandybridge kernels at run time) and with other thread counts; TensorFlow's exp and tanh
are not NumPy's.  So a tolerance here is never a constant that passed once on one machine:
it is the dtype's machine epsilon times the number of roundings the compared quantity went
through, and each function says how it counts them.

The one fact every bound rests on (Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed., section 3.1): a sum of n terms, computed in any order, with or without FMA, is off
its exact value by at most gamma_n = n u / (1 - n u) times the sum of the terms' magnitudes,
where u = eps / 2 is the unit roundoff.  Two orders of the same sum are then at most
2 gamma_n ~ n eps apart.  A product adds one more rounding, which the counts below absorb.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: An elementwise function (exp, log, tanh, sigmoid, sqrt) is within about 2 ulps of the true
#: value in glibc, in NumPy's SIMD kernels and in Eigen's: two libraries are at most 4 apart.
FUNCTION_ULPS = 4


def eps(dtype) -> float:
    """Machine epsilon, the distance from 1 to the next number: 2^-23 in float32, 2^-52 in float64."""
    return float(np.finfo(np.dtype(dtype)).eps)


def sums(dtype, n_terms: int) -> float:
    """Relative distance (to the terms' magnitudes) of two orders of an n-term sum: n eps.

    2 gamma_n with gamma_n = n u / (1 - n u) and u = eps / 2; for n u << 1 this is n eps.
    """
    return max(int(n_terms), 1) * eps(dtype)


def ulps(dtype, count: int = FUNCTION_ULPS) -> float:
    """``count`` roundings of one value, relative to it: a few library functions in a row."""
    return count * eps(dtype)


def network_terms(layer_sizes: Sequence[int], batch_size: int, l2: bool = False, normalizations: int = 0) -> int:
    """The roundings along the longest path from the data to any gradient of a dense network.

    Forward, layer l sums n_{l-1} products into Z_l and applies g (FUNCTION_ULPS).  The loss
    sums m n_L per-example terms and takes their mean (a rounding per term, counted as m n_L
    and m).  Backward, dA_{l-1} = dZ_l @ W_l^T sums n_l products and g' adds FUNCTION_ULPS;
    dW_l = A_{l-1}^T @ dZ_l and db_l sum m products.  An L2 penalty sums every kernel's
    squares into the loss (n_params terms).  A normalization layer sums its mean, its variance
    and, backward, two more sums, each over the batch or the features, and takes a square
    root (3 max(m, n) + 2 FUNCTION_ULPS each).  The count is the total, since every rounding
    along the path can move the last quantity by its own share:

        N = m n_L + m + sum_l (n_{l-1} + n_l + 2 FUNCTION_ULPS)  [+ sum_l n_{l-1} n_l with L2]
            [+ normalizations (3 max(m, max_l n_l) + 2 FUNCTION_ULPS)]
    """
    sizes = [int(n) for n in layer_sizes]
    m = int(batch_size)
    n = m * sizes[-1] + m + sum(n_in + n_out + 2 * FUNCTION_ULPS for n_in, n_out in zip(sizes, sizes[1:]))
    if l2:
        n += sum(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    n += normalizations * (3 * max(m, max(sizes)) + 2 * FUNCTION_ULPS)
    return n


def network(dtype, layer_sizes: Sequence[int], batch_size: int, l2: bool = False) -> float:
    """Relative difference ||a - b|| / (||a|| + ||b||) that two correct implementations of a dense
    network's outputs, loss and gradients may show: ``sums(dtype, network_terms(...))``.

    For the lecture's 4-6-1 network on a batch of 32 that is 97 eps: 1.2e-5 in float32 and
    2.2e-14 in float64.  Measured between Keras and scratch: 2.5e-7 and 2e-15.
    """
    return sums(dtype, network_terms(layer_sizes, batch_size, l2))


def of_network(net, batch_size: int, steps: int | None = None) -> float:
    """``network`` (or ``training`` after ``steps`` steps) for a ``scratch.Network``'s own layers:
    its widths, whether any layer has a kernel regularizer, how many normalize."""
    l2 = any(getattr(layer, "kernel_regularizer", None) is not None for layer in net.layers)
    normalizations = sum(type(layer).__name__.endswith("Normalization") for layer in net.layers)
    n = network_terms(net.widths, batch_size, l2, normalizations)
    return sums(net.dtype, n) * (1 if steps is None else math.sqrt(max(int(steps), 1)))


def gradients(tol: float, a, b, magnitude) -> float:
    """``tol`` for the relative difference of two gradients a and b, raised where their terms cancel.

    Every bound here is relative to the sum of the absolute values of the terms (Higham's
    gamma_n): the two sides differ by at most tol * ||M|| / 2 each way, M the terms' magnitudes
    (``Network.gradient_magnitudes``).  Judged as ||a - b|| / (||a|| + ||b||), that is

        tol * max(1, 2 ||M|| / (||a|| + ||b||))

    which is tol itself when nothing cancels (||M|| ~ ||a||), and grows as a gradient's terms
    cancel: a trained network's output bias, or a kernel's data and L2 parts near a minimum.
    """
    norm = float(np.linalg.norm(a) + np.linalg.norm(b))
    scale = float(np.linalg.norm(magnitude))
    return tol if norm == 0 else tol * max(1.0, 2 * scale / norm)


def training(dtype, layer_sizes: Sequence[int], batch_size: int, steps: int, l2: bool = False) -> float:
    """``network(...)`` grown with the square root of the steps taken: sqrt(k) N eps after k steps.

    Each step leaves one step's rounding in the weights.  Roundings of successive steps are
    independent and of either sign, so they add up like a random walk, sqrt(k) times one
    step's (the probabilistic rounding-error bound of Higham and Mary, SIAM J. Sci. Comput.
    41(5), 2019, applied to steps instead of terms), as long as the training contracts rather
    than amplifies them.  Measured: the worst drift of any run is reached in its first steps.
    """
    return math.sqrt(max(int(steps), 1)) * network(dtype, layer_sizes, batch_size, l2)


def finite_differences(h: float, size: int, norm: float, dtype="float64", f_error: float | None = None) -> float:
    """Relative difference allowed between backprop and central differences of one gradient tensor.

    A central difference (f(x + h) - f(x - h)) / 2h is off the derivative by its truncation,
    h^2 |f'''| / 6, and by its rounding, e_f / h, where e_f is how far one evaluation of f may
    be off.  For the lecture's activations and losses, with weights of order 1, |f'''| / 6 is
    at most of order 1, so one element is off by at most h^2 + e_f / h, and a tensor of
    ``size`` elements by sqrt(size) times that in norm.  Relative to ``norm`` =
    ||backprop|| + ||differences||:

        sqrt(size) (h^2 + e_f / h) / norm

    ``f_error`` is e_f: by default eps (an f of order 1 computed to an ulp).  For a network's
    cost J pass ``network(dtype, sizes, m, l2) * |J|``: J is only as good as the roundings
    along the network (a 4-5-3-2 network's cost, checked with h = 1e-6, needs it).  A
    gradient smaller than the bound cannot be checked this way, and its tolerance rises
    past 1 accordingly.
    """
    if norm == 0:
        return 0.0
    e_f = eps(dtype) if f_error is None else f_error
    return float(np.sqrt(size)) * (h * h + e_f / h) / norm


def symmetry(dtype, steps: int) -> float:
    """How far apart, relative to the layer's largest parameter, units that start identical
    (zero initialisation) may drift in ``steps`` optimizer steps: steps x eps.

    Every unit of a layer computes the same sums over the same terms; only the order can
    differ from column to column (BLAS kernels treat a matrix's edge columns apart).  A step
    then rounds each unit's update on its own, at most an ulp or so of the layer's largest
    parameter apart, and k steps add up to at most k of those.  Measured after 60 steps with
    every optimizer under the SkylakeX, Haswell, Sandybridge and Prescott kernels: at most
    7.4e-7 in float32 and 1.1e-15 in float64, against bounds of 7.1e-6 and 1.3e-14.
    """
    return max(int(steps), 1) * eps(dtype)
