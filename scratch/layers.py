"""The lecture's "forward and backward functions" for one dense layer, as plain functions.

Layout as Keras's: examples are rows and the kernel is (n_in, n_out), so for a batch
Z = A_prev @ W + b is the lecture's z = W^T x + b for every example at once.
"""
from __future__ import annotations

import functools

import numpy as np

from scratch.activations import Activation


def dense_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: Activation):
    """Z = A_prev @ W + b,  A = g(Z).

    A_prev (m, n_in), W (n_in, n_out), b (n_out,)  ->  A (m, n_out) and the layer's cache
    ``{"A_prev", "Z", "A"}``, which backward only reads.
    """
    Z = matmul(A_prev, W)
    Z += b
    A = activation.forward(Z)
    return A, {"A_prev": A_prev, "Z": Z, "A": A}


def dense_backward(dZ: np.ndarray, cache: dict, W: np.ndarray, need_dA_prev: bool = True, dW=None, db=None):
    """dW = A_prev^T @ dZ,  db = sum_i dZ_i,  dA_prev = dZ @ W^T.

    dZ (m, n_out) already carries the batch mean's 1/m, so the sums here are the lecture's
    "averaged over the batch".  dA_prev (m, n_in) is skipped for the first layer, whose
    input is the data.  ``dW`` and ``db``, when given, are written in place.
    """
    dW = matmul(cache["A_prev"].T, dZ, out=dW)
    db = np.matmul(ones_of(len(dZ), dZ.dtype), dZ, out=db)  # the column sums, as one BLAS call
    dA_prev = matmul(dZ, W.T) if need_dA_prev else None
    return dA_prev, dW, db


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b.  For matrices whose product sums a single term, (m, 1) @ (1, n), it is the outer
    product: a one-unit output layer's dA_prev = dZ @ W^T, a batch of one's dW.  A broadcast
    multiply gives the same values as BLAS's GEMM (a zero may carry the other sign, which no
    later step can tell), 2-4x faster in float32 (11 against 42 us for (512, 1) @ (1, 32)).
    Every other shape goes to np.matmul, errors included."""
    if a.ndim == b.ndim == 2 and a.shape[1] == b.shape[0] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


@functools.lru_cache(maxsize=16)
def ones_of(m: int, dtype) -> np.ndarray:
    """A read-only vector of m ones: sum_i dZ_i = ones @ dZ is one BLAS call, 4x faster than a reduction."""
    ones = np.ones(m, dtype=dtype)
    ones.flags.writeable = False
    return ones


def activation_backward(dA: np.ndarray, cache: dict, activation: Activation) -> np.ndarray:
    """dZ = dA * g'(Z), from the cached Z and A:  the lecture's delta = (W delta_next) * g'(z)."""
    return activation.backward(dA, cache["Z"], cache["A"])
