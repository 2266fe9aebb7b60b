"""Losses and their gradients, keyed by Keras's names, with Keras's reductions.

Conventions (stated here once, listed in the README):

- **Mean over output units, then over the batch.**  Keras's loss functions return one value
  per example, the mean over the last axis (binary cross-entropy, mean squared error) or
  the sum over classes (categorical cross-entropy).  ``compile()``'s default reduction,
  ``"sum_over_batch_size"``, then divides the sum over the batch by m.  So
  ``J = 1/m sum_i per_example_i`` and every gradient below carries that 1/m.
- **Logits behind sigmoid and softmax outputs.**  On TensorFlow, Keras attaches the
  logits Z to the output of a sigmoid (softmax) activation, and binary (categorical)
  cross-entropy uses them: ``tf.nn.sigmoid_cross_entropy_with_logits``.  The gradient is
  then the lecture's simplification ``dZ = A - Y`` (scaled by the reduction), finite even
  when A saturates at 0 or 1.  A ``Loss`` names the activation whose logits it expects in
  ``logits_of``: its *link*, sigmoid for binary and softmax for categorical cross-entropy.
  Keras reads the logits behind a sigmoid *or* a softmax output, whichever the loss;
  ``scratch.keras_compat.reads_logits`` states when the network does the same.
- **Probabilities otherwise.**  Without logits, Keras clips A to [epsilon, 1 - epsilon]
  with ``epsilon = 1e-7`` before the log, and the clip passes no gradient outside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

#: ``keras.config.epsilon()``: the clip of probabilities in the cross-entropies.
EPSILON = 1e-7


@dataclass(frozen=True)
class Loss:
    """A named loss: per-example values and the gradient of their batch mean.

    ``per_example(Y, A) -> (m,)``, ``gradient(Y, A) -> dA (m, n_out)``.  Where Keras reads
    logits, ``per_example_from_logits(Y, Z)`` and ``gradient_from_logits(Y, P) -> dZ``
    take the loss from Z, with P = link(Z) (``logits_of`` names the link).
    """

    name: str
    per_example: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]
    logits_of: Optional[str] = None
    per_example_from_logits: Optional[Callable] = None
    gradient_from_logits: Optional[Callable] = None
    #: Targets are class indices, one per example (m, 1), not rows of width n_out.
    sparse: bool = False


def _clip(A):
    """(A clipped to [eps, 1 - eps], mask where the clip passes gradient), in A's dtype."""
    lo, hi = np.asarray(EPSILON, A.dtype), 1 - np.asarray(EPSILON, A.dtype)
    return np.clip(A, lo, hi), (A >= lo) & (A <= hi)


# binary cross-entropy -------------------------------------------------------------------

def _bce(Y, A):
    """mean_j -[y log a + (1 - y) log(1 - a)], with a clipped to [eps, 1 - eps]."""
    Ac, _ = _clip(A)
    return -(Y * np.log(Ac) + (1 - Y) * np.log(1 - Ac)).sum(axis=1) / A.shape[1]


def _bce_gradient(Y, A):
    """dA = [-(y / a) + (1 - y) / (1 - a)] / (m n_out), zero where the clip is active."""
    Ac, inside = _clip(A)
    dA = (-(Y / Ac) + (1 - Y) / (1 - Ac)) / A.size
    return np.where(inside, dA, 0).astype(A.dtype, copy=False)


def _bce_from_logits(Y, Z):
    """mean_j [max(z, 0) - z y + log(1 + e^-|z|)]: tf.nn.sigmoid_cross_entropy_with_logits, in its order."""
    t = np.abs(Z)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    loss = np.maximum(Z, 0)
    loss -= Z * Y
    loss += t
    return loss.sum(axis=1) / Z.shape[1]


def _bce_gradient_from_logits(Y, P):
    """dZ = (P - Y) / (m n_out) with P = sigmoid(Z): the lecture's simplification dZ = A - Y."""
    return (P - Y) / P.size


# categorical cross-entropy --------------------------------------------------------------

def _cce(Y, A):
    """-sum_j y log p, with p = A / sum_j A clipped to [eps, 1 - eps]."""
    Pc, _ = _clip(A / A.sum(axis=1, keepdims=True))
    return -np.sum(Y * np.log(Pc), axis=1)


def _cce_gradient(Y, A):
    """dA_k = (dP_k - sum_i dP_i P_i) / S through P = A / S, with dP = -y / p / m inside the clip."""
    S = A.sum(axis=1, keepdims=True)
    P = A / S
    Pc, inside = _clip(P)
    dP = np.where(inside, -Y / Pc / len(A), 0).astype(A.dtype, copy=False)
    return (dP - np.sum(dP * P, axis=1, keepdims=True)) / S


def _cce_from_logits(Y, Z):
    """-sum_j y_j log softmax(z)_j: tf.nn.softmax_cross_entropy_with_logits."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_softmax, axis=1)


def _cce_gradient_from_logits(Y, P):
    """dZ = (P sum_j y_j - Y) / m with P = softmax(Z), which is (P - Y) / m for one-hot rows."""
    return (P * Y.sum(axis=1, keepdims=True) - Y) / len(P)


# mean squared error ---------------------------------------------------------------------

def _mse(Y, A):
    """mean_j (a - y)^2."""
    D = A - Y
    return (D * D).sum(axis=1) / A.shape[1]


def _mse_gradient(Y, A):
    """dA = 2 (A - Y) / (m n_out)."""
    return 2 * (A - Y) / A.size


LOSSES: dict[str, Loss] = {
    "binary_crossentropy": Loss(
        "binary_crossentropy", _bce, _bce_gradient,
        logits_of="sigmoid",
        per_example_from_logits=_bce_from_logits,
        gradient_from_logits=_bce_gradient_from_logits,
    ),
    "categorical_crossentropy": Loss(
        "categorical_crossentropy", _cce, _cce_gradient,
        logits_of="softmax",
        per_example_from_logits=_cce_from_logits,
        gradient_from_logits=_cce_gradient_from_logits,
    ),
    "mean_squared_error": Loss("mean_squared_error", _mse, _mse_gradient),
}


def get_config(loss: Loss):
    """The loss as a config: its name (``get`` reads it back)."""
    return loss.name


def get(name: str) -> Loss:
    """The loss called ``name``."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")
    return LOSSES[name]
