"""Activation functions g and their derivatives, keyed by Keras's own names.

Forward:   A = g(Z)                     Z, A (m, n_out)
Backward:  dZ = dA * g'(Z)              dA, dZ (m, n_out)

Each entry holds the function *and* its derivative, so a missing derivative is
impossible.  ``backward`` receives the layer's cache and says which cached value
it reads: sigmoid and tanh use the output A, relu and leaky_relu use the input Z,
softmax uses A through its Jacobian-vector product.  Nothing is recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: The lecture's leaky ReLU slope: g(z) = max(0.01 z, z).
LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """A named activation: ``forward(Z) -> A`` and ``backward(dA, Z, A) -> dZ``.

    ``kink``: g has no derivative at Z = 0 (relu, leaky_relu); backward then uses the
    one-sided value TensorFlow uses, which a finite difference across 0 cannot reproduce.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    elementwise: bool = True
    kink: bool = False
    #: Its settings beside the name (leaky_relu's negative_slope), as a config carries them.
    config: dict = field(default_factory=dict, compare=False)


#: Largest -Z whose e^-Z is finite, per dtype; beyond it sigmoid(Z) is below 1e-38 (1e-308).
_EXP_LIMIT = {np.dtype(np.float32): 88.0, np.dtype(np.float64): 709.0}


def _sigmoid(Z):
    """A = 1 / (1 + e^-Z), with -Z capped where e^-Z would overflow (A is then ~1e-38, not 0)."""
    A = np.negative(Z)
    np.minimum(A, _EXP_LIMIT.get(A.dtype, 709.0), out=A)
    np.exp(A, out=A)
    A += 1
    return np.reciprocal(A, out=A)


def _sigmoid_backward(dA, Z, A):
    """dZ = dA * A (1 - A), from the cached output A."""
    return dA * A * (1 - A)


def _tanh_backward(dA, Z, A):
    """dZ = dA * (1 - A^2), from the cached output A."""
    return dA * (1 - A * A)


def _relu(Z):
    """A = max(0, Z)."""
    return np.maximum(Z, 0)


def _relu_backward(dA, Z, A):
    """dZ = dA where Z > 0, else 0 (TensorFlow's ReluGrad: 0 at Z = 0), from Z."""
    dZ = (Z > 0).astype(dA.dtype)  # 1.0 or 0.0: the product is exact
    dZ *= dA
    return dZ


def leaky_relu(negative_slope: float = LEAKY_RELU_SLOPE) -> Activation:
    """A = Z where Z > 0, else slope * Z.   dZ = dA where Z > 0, else slope * dA (from Z).

    As in TensorFlow's LeakyRelu and LeakyReluGrad, Z = 0 takes the negative side.
    """
    slope = float(negative_slope)
    if not (0 <= slope < np.inf):
        raise ValueError(f"negative_slope must be >= 0, got {negative_slope!r}")

    def forward(Z):
        if slope <= 1:  # max(Z, slope Z) picks Z exactly where Z > 0
            return np.maximum(Z, Z * slope)
        right = Z > 0
        return Z * right + (Z * slope) * ~right

    def backward(dA, Z, A):
        right = (Z > 0).astype(dA.dtype)  # each term is dA, dA * slope or an exact 0: the sum is exact
        left = 1 - right
        left *= dA
        left *= slope
        right *= dA
        right += left
        return right

    return Activation("leaky_relu", forward, backward, kink=True, config={"negative_slope": slope})


def _linear_backward(dA, Z, A):
    """dZ = dA."""
    return dA


def _softmax(Z):
    """A_ij = e^(Z_ij - max_j Z) / sum_k e^(Z_ik - max_j Z), over each row."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_backward(dA, Z, A):
    """dZ = A * (dA - sum_j dA_j A_j): the Jacobian-vector product, from the output A."""
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_backward),
    "tanh": Activation("tanh", np.tanh, _tanh_backward),
    "relu": Activation("relu", _relu, _relu_backward, kink=True),
    "leaky_relu": leaky_relu(),
    "linear": Activation("linear", lambda Z: Z, _linear_backward),
    "softmax": Activation("softmax", _softmax, _softmax_backward, elementwise=False),
}

#: Activations allowed between layers; softmax belongs to the output layer only.
HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if a.elementwise)


def get(name: str, negative_slope: float | None = None) -> Activation:
    """The activation called ``name``; ``negative_slope`` overrides leaky_relu's 0.01."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    if name == "leaky_relu" and negative_slope is not None:
        return leaky_relu(negative_slope)
    return ACTIVATIONS[name]
