"""Activation functions g and their derivatives, keyed by Keras's own names.

Forward:   A = g(Z)                     Z, A (m, n_out)
Backward:  dZ = dA * g'(Z)              dA, dZ (m, n_out)

Each entry holds the function *and* its derivative, so a missing derivative is
impossible.  ``backward`` receives the layer's cache and says which cached value
it reads: sigmoid, tanh, elu, selu, relu6, exponential and log_softmax use the output A
(as TensorFlow's own gradients do); relu, leaky_relu, softplus, softsign and hard_sigmoid
use the input Z; softmax uses A through its Jacobian-vector product.  Where g' is not a
function of A (silu, gelu, mish), backward evaluates g' at the cached Z: the factors it
needs (sigmoid(Z), erfc, tanh) are g''s own, and the cached A is never recomputed.

Each formula is Keras 3.15's on TensorFlow, operation for operation, where the order of
operations changes the rounding: elu and selu take e^Z - 1 (not expm1), softplus switches
to Z and to e^Z at TensorFlow's thresholds, hard_sigmoid is relu6(Z + 3) / 6, gelu's
constants pass through float32 in every dtype (see ``gelu``), and relu with a threshold, a
max_value or both with a slope is Keras's composite of where, relu, clip and a subtracted
negative part, kinks and all (see ``relu``; its derivative also reads Z).  TensorFlow also flushes
results below the smallest normal number to zero; NumPy keeps them subnormal.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from scratch.keras_compat import float32_constant

#: The lecture's leaky ReLU slope: g(z) = max(0.01 z, z).
LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """A named activation: ``forward(Z) -> A`` and ``backward(dA, Z, A) -> dZ``.

    ``kink``: g has no derivative at some Z (relu and leaky_relu at 0, relu6 at 0 and 6,
    hard_sigmoid at -3 and 3, selu at 0, elu at 0 unless alpha = 1), listed in ``kinks``;
    backward then uses the one-sided value TensorFlow uses, which a finite difference across
    the kink cannot reproduce.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    elementwise: bool = True
    kink: bool = False
    #: Its settings beside the name (leaky_relu's negative_slope), as a config carries them.
    config: dict = field(default_factory=dict, compare=False)
    #: Where g' jumps, in increasing order (read only when ``kink``).
    kinks: tuple = (0.0,)
    #: ``forward`` that may write A over Z, for inference (``infer``); the same values as forward.
    overwrite: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)

    def infer(self, Z: np.ndarray) -> np.ndarray:
        """A = g(Z) for inference, where the caller owns Z and no longer needs it: written over
        Z where g has an in-place form (the same operations, so the same values as ``forward``),
        else ``forward(Z)``."""
        return self.overwrite(Z) if self.overwrite is not None else self.forward(Z)

    def piece(self, Z) -> np.ndarray:
        """Which piece of g each entry of Z lies on: the number of kinks left of it (a Z on a
        kink counts with the left piece, as ``Z > 0`` does for relu).  A finite difference
        whose two ends lie on different pieces straddles a kink."""
        if not self.kink:
            return np.zeros(np.shape(Z), dtype=np.intp)
        return np.searchsorted(np.asarray(self.kinks, dtype=np.float64), Z, side="left")


def _row(value: float, Z: np.ndarray) -> np.ndarray:
    """``value`` as a read-only row of Z's width and dtype, to broadcast against Z.  NumPy 2.4's
    maximum and minimum against a row run 3.5x faster than against the scalar (44 against
    157 us on 1024 x 512 float32, measured here), with the same values."""
    return _filled(value, Z.shape[-1:], Z.dtype)


@functools.lru_cache(maxsize=64)
def _filled(value: float, shape: tuple, dtype) -> np.ndarray:
    row = np.full(shape, value, dtype=dtype)
    row.flags.writeable = False
    return row


#: Largest -Z whose e^-Z is finite, per dtype; beyond it sigmoid(Z) is below 1e-38 (1e-308).
_EXP_LIMIT = {np.dtype(np.float32): 88.0, np.dtype(np.float64): 709.0}


def _sigmoid(Z):
    """A = 1 / (1 + e^-Z), with -Z capped where e^-Z would overflow (A is then ~1e-38, not 0)."""
    return _sigmoid_of_negated(np.negative(Z))


def _sigmoid_over(Z):
    """``_sigmoid``'s operations, written over Z."""
    return _sigmoid_of_negated(np.negative(Z, out=Z))


def _sigmoid_of_negated(A):
    """1 / (1 + e^A) for A = -Z, in place."""
    np.minimum(A, _row(_EXP_LIMIT.get(A.dtype, 709.0), A), out=A)
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
    return np.maximum(Z, _row(0, Z))


def _relu_over(Z):
    """max(0, Z) written over Z.  (Z * [Z > 0] is as fast, but turns a -inf, which overflow can
    make, into NaN.)"""
    return np.maximum(Z, _row(0, Z), out=Z)


def _relu_backward(dA, Z, A):
    """dZ = dA where Z > 0, else 0 (TensorFlow's ReluGrad: 0 at Z = 0), from Z."""
    dZ = (Z > 0).astype(dA.dtype)  # 1.0 or 0.0: the product is exact
    dZ *= dA
    return dZ


def _relu6(Z):
    """A = min(max(Z, 0), 6) ;  dZ = dA * [0 < A < 6], from the cached output A (0 at both kinks)."""
    return np.clip(Z, 0, 6)


def _relu6_backward(dA, Z, A):
    """dZ = dA where 0 < A < 6, else 0, from the cached output A, as TensorFlow's Relu6 gradient."""
    dZ = ((A > 0) & (A < 6)).astype(dA.dtype)  # exact
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


#: ``keras.activations.relu``'s settings, with the defaults that leave it plain relu.
RELU_SETTINGS = {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}


def _relu_setting(name: str, value, allow_none: bool = False, allow_inf: bool = False):
    """A ReLU setting as a float, or a ValueError naming it, the value and the valid range."""
    if value is None and allow_none:
        return None
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not number or not 0 <= float(value) <= (np.inf if allow_inf else np.finfo(np.float64).max):
        valid = ("None or " if allow_none else "") + ("a number >= 0" if allow_inf else "a finite number >= 0")
        raise ValueError(f"ReLU {name} must be {valid}, got {value!r}")
    return float(value)


def _operand(value: float, dtype):
    """A Python float as a tensor's operator takes it (``s * N``, ``-Z + t``): rounded once to dtype."""
    with np.errstate(over="ignore"):
        return np.dtype(dtype).type(value)


def _cast(value: float, dtype):
    """A Python float through Keras's ``ops.cast(value, dtype)``: ``tf.cast`` makes a float32
    tensor of it first, so it is float32's number in every dtype (beyond float32's range, inf)."""
    with np.errstate(over="ignore"):
        return np.dtype(dtype).type(np.float32(value))


def relu(negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Activation:
    """Keras's ``relu(x, negative_slope, max_value, threshold)``, t = threshold, m = max_value, s = slope:

        A = min(Z, m) where Z > t;  0 at Z = t;  s (Z - t) where Z < t       (A jumps by t at t > 0)
        dZ = dA where t < Z <= m;  0 at Z = t;  s dA where Z < t          (from the cached Z)

    for t and m float32 numbers (see below for the others in float64).

    Where Keras takes a shortcut, so does this, and returns that activation: no settings is
    ``relu``, m = 6 alone ``relu6``, s alone ``leaky_relu`` (whose slope TensorFlow holds as a
    float32 attribute, as ``scratch.layers.activation_from_config`` rounds it).  Anything else is
    Keras 3.15's composite (``keras.src.activations.activations.ReLU.static_call``) on TensorFlow,
    operation for operation:

        P = where(Z > t32, Z, 0) if t != 0;  else relu6(Z) if m = 6;  else relu(Z)
        P = max(min(P, m32), 0)     when m is given, unless relu6 already clipped (tf.clip_by_value)
        A = P - s * relu(-Z + t)    when s != 0 (relu(-Z) when t = 0)

    t32 and m32 come through ``ops.cast``, which rounds a Python float through float32 in every
    dtype; s and the negative part's t are operands of a tensor's operators, exact in float64.
    In float32 the two t's are one number.  In float64, when float32(t) != t, the two parts
    switch at different points: between them both apply (t32 < Z < t: A = Z - s (t - Z),
    dZ = dA + s dA; at Z = t, A = t and dZ = dA) or neither does (t < Z <= t32: A = 0, dZ = 0).

    Its derivative is TensorFlow's autodiff through them, kinks included: Select passes dA where
    Z > t32 (ReluGrad where Z > 0, Relu6Grad where 0 < Z < 6); Minimum passes it where P <= m32,
    so at Z = m it is dA (relu6 gives 0 at 6, so ReLU(max_value=6, negative_slope=s) does too);
    the negative part passes -(s * -dA) = s dA where -Z + t > 0.  At Z = t (= t32) neither path
    passes: 0.  Elsewhere at most one does, and each dZ is dA, s dA (one rounding), 0, or between
    t32 and t the sum dA + s dA, as TensorFlow adds the two paths' gradients.
    """
    slope = _relu_setting("negative_slope", negative_slope)
    max_value = _relu_setting("max_value", max_value, allow_none=True, allow_inf=True)
    threshold = _relu_setting("threshold", threshold)
    if slope == 0 and threshold == 0 and max_value is None:
        return ACTIVATIONS["relu"]
    if slope == 0 and threshold == 0 and max_value == 6:
        return ACTIVATIONS["relu6"]
    if threshold == 0 and max_value is None:
        return leaky_relu(slope)
    use_relu6 = threshold == 0 and max_value == 6  # Keras's relu6 shortcut for the positive part
    clip = max_value is not None and not use_relu6

    def positive_part(Z):
        """P before the clip, and where its operation passes the gradient."""
        if threshold != 0:
            passed = Z > _cast(threshold, Z.dtype)
            return np.where(passed, Z, 0), passed
        if use_relu6:
            return _relu6(Z), (Z > 0) & (Z < 6)
        return _relu(Z), Z > 0

    def negative_part(Z):
        """relu(-Z + t), and where it passes the gradient (-Z + t > 0, as ReluGrad reads its output)."""
        N = np.negative(Z)
        if threshold != 0:
            N += _operand(threshold, Z.dtype)
        left = N > 0
        return np.maximum(N, 0, out=N), left

    def forward(Z):
        P, _ = positive_part(Z)
        if clip:  # tf.clip_by_value: minimum, then maximum
            np.minimum(P, _cast(max_value, Z.dtype), out=P)
            np.maximum(P, 0, out=P)
        if slope != 0:
            N, _ = negative_part(Z)
            N *= _operand(slope, Z.dtype)
            P -= N
        return P

    def backward(dA, Z, A):
        _, passed = positive_part(Z)
        if clip:  # Minimum's gradient goes to P where P <= m32, and P = Z wherever P's path passes
            passed &= Z <= _cast(max_value, Z.dtype)
        dZ = passed.astype(dA.dtype)  # 1.0 or 0.0: the product is exact
        dZ *= dA
        if slope != 0:
            _, left = negative_part(Z)
            sdA = dA * _operand(slope, dA.dtype)
            sdA *= left  # s dA or 0
            dZ += sdA  # exact where dZ is 0: everywhere but between t32 and t
        return dZ

    # where g' jumps: t and its float32 number (the two parts' switches in float64), and m's
    kinks = {threshold, float(np.float32(threshold))}
    if max_value is not None and max_value < np.inf:
        kinks.add(float(_cast(max_value, np.float64)))
    return Activation("relu", forward, backward, kink=True, kinks=tuple(sorted(kinks)),
                      config={"negative_slope": slope, "max_value": max_value, "threshold": threshold})


def _linear_backward(dA, Z, A):
    """dZ = dA."""
    return dA


def _row_max(Z):
    """Each row's largest entry, (m, 1): the values of Z.max(axis=1, keepdims=True) (NaN where a row
    has one), read at argmax, which is 4x faster on narrow rows (11 against 41 us on 1024 x 10)."""
    if Z.size < 4096:  # the gather's own cost (5 us) is more than it saves on a small Z
        return Z.max(axis=1, keepdims=True)
    return np.take_along_axis(Z, Z.argmax(axis=1)[:, None], axis=1)


def _softmax(Z):
    """A_ij = e^(Z_ij - max_j Z) / sum_k e^(Z_ik - max_j Z), over each row."""
    E = np.exp(Z - _row_max(Z))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_over(Z):
    """``_softmax``'s operations, written over Z."""
    Z -= _row_max(Z)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def _softmax_backward(dA, Z, A):
    """dZ = A * (dA - sum_j dA_j A_j): the Jacobian-vector product, from the output A."""
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


def elu(alpha: float = 1.0) -> Activation:
    """A = Z where Z > 0, else alpha (e^Z - 1) ;  dZ = dA * (1 where Z > 0, else A + alpha),
    from the cached output A (and Z's side).

    As TensorFlow's Elu: e^Z - 1, not expm1 (near 0 it cancels: in float32, elu(-1e-5) comes
    out 1.4e-3 off), and EluGrad's (A + 1) dA from the output.  Keras applies any other
    alpha as ``where(Z > 0, elu(Z), alpha * elu(Z))``, with alpha in the model's dtype (no
    float32 rounding), so Z = 0 then takes the negative side: dZ = alpha dA there.
    """
    alpha = float(alpha)
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha!r}")

    def forward(Z):
        E = np.exp(np.minimum(Z, 0))  # no overflow on the side that is not taken
        E -= 1
        if alpha != 1:
            E *= alpha
        return np.where(Z > 0, Z, E)

    def backward(dA, Z, A):
        left = A + alpha
        left *= dA
        return np.where(Z > 0, dA, left)

    return Activation("elu", forward, backward, kink=alpha != 1, config={"alpha": alpha})


#: SELU's constants as TensorFlow's Selu kernel writes them: scale, and scale x alpha as one number.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def _selu(Z):
    """A = scale Z where Z >= 0, else scale_alpha (e^Z - 1) ;  dZ = dA * (A + scale_alpha where
    A < 0, else scale), from the cached output A (TensorFlow's Selu and SeluGrad: e^Z - 1, not
    expm1; scale at Z = 0)."""
    E = np.exp(np.minimum(Z, 0))
    E -= 1
    E *= SELU_SCALE_ALPHA
    return np.where(Z < 0, E, Z * SELU_SCALE)


def _selu_backward(dA, Z, A):
    """dZ = dA (A + scale_alpha) where A < 0, else dA scale, from the cached output A."""
    return np.where(A < 0, dA * (A + SELU_SCALE_ALPHA), dA * SELU_SCALE)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _erfc_of(V):
    """erfc, elementwise: Python's ``math.erfc`` (the C library's) in float64, rounded once to V's dtype."""
    return np.asarray(_erfc(V), dtype=np.float64).astype(V.dtype, copy=False)


#: gelu's constants as TensorFlow's ``tf.nn.gelu`` writes them.
GELU_INV_SQRT2 = 0.7071067811865476
GELU_SQRT_2_OVER_PI = 0.7978845608028654
GELU_COEFF = 0.044715


def gelu(approximate: bool = False, rounded: bool = True) -> Activation:
    """Exact:        A = 0.5 Z erfc(-c Z) ;  dZ = dA (0.5 erfc(-c Z) + Z (c / sqrt(pi)) e^-(c Z)^2),
    Approximate:  A = 0.5 Z (1 + T), T = tanh(k (Z + a Z^3)) ;
                  dZ = dA (0.5 (1 + T) + 0.5 Z (1 - T^2) k (1 + 3 a Z^2)),
    both from Z: erfc(-c Z) and T are g''s own factors, evaluated at the cached Z.

    c = 1/sqrt(2), k = sqrt(2/pi), a = 0.044715.  Keras's ``gelu`` activation is the exact form
    (``approximate=False``, though ``keras.ops.gelu`` defaults to True).  ``tf.nn.gelu`` takes
    ``math_ops.cast(0.7071067811865476, dtype)`` and ``math_ops.cast(0.044715, dtype)``: a cast
    of a Python float makes a float32 tensor first, so c and a are float32's in every dtype,
    float64 included (c = 0.70710676908493042, a = 0.044714998453855515); k multiplies as a
    Python float, exact in float64.  ``rounded=False`` takes the textbook c and a instead, which
    in float64 moves A off Keras's by up to 1.7e-6 relative for Z in [-10, 10] (exact form;
    5.6e-10 approximate).  In float32 the two are the same.
    """
    approximate = bool(approximate)
    if approximate:
        a, k = float32_constant(GELU_COEFF, rounded), GELU_SQRT_2_OVER_PI

        def forward(Z):
            T = np.tanh(k * (Z + a * Z ** 3))
            T += 1
            return 0.5 * Z * T

        def backward(dA, Z, A):
            T = np.tanh(k * (Z + a * Z ** 3))
            return dA * (0.5 * (1 + T) + 0.5 * Z * (1 - T * T) * k * (1 + 3 * a * Z * Z))
    else:
        c = float32_constant(GELU_INV_SQRT2, rounded)
        c_over_sqrt_pi = c / math.sqrt(math.pi)

        def forward(Z):
            return 0.5 * Z * _erfc_of(-Z * c)

        def backward(dA, Z, A):
            V = -Z * c
            return dA * (0.5 * _erfc_of(V) + Z * c_over_sqrt_pi * np.exp(-(V * V)))

    return Activation("gelu", forward, backward, config={"approximate": approximate})


def _silu(Z):
    """A = Z sigmoid(Z) ;  dZ = dA * sigmoid(Z) (1 + Z (1 - sigmoid(Z))), from Z."""
    return Z * _sigmoid(Z)


def _silu_backward(dA, Z, A):
    """dZ = dA sigmoid(Z) (1 + Z (1 - sigmoid(Z))), from Z (TensorFlow's swish gradient also
    evaluates sigmoid(Z) afresh)."""
    S = _sigmoid(Z)
    return dA * (S * (1 + Z * (1 - S)))


#: Where TensorFlow's Softplus switches to e^Z (below) and to Z (above minus it): log(eps) + 2.
_SOFTPLUS_THRESHOLD = {np.dtype(t): float(np.log(np.finfo(t).eps) + t(2)) for t in (np.float32, np.float64)}


def _softplus(Z):
    """A = log(1 + e^Z) ;  dZ = dA * sigmoid(Z), from Z.

    A as TensorFlow's Softplus kernel takes it: Z where Z > -t, e^Z where Z < t, log1p(e^Z)
    between, t = log(eps) + 2 (-34.04 in float64, -13.94 in float32).  The switches cost up to
    e^t / 2 = 3.7 eps of relative accuracy near them, which np.logaddexp would not: reproduced."""
    t = _SOFTPLUS_THRESHOLD.get(Z.dtype)
    if t is None:
        t = float(np.log(np.finfo(Z.dtype).eps) + 2)
    E = np.exp(np.minimum(Z, -t))
    return np.where(Z > -t, Z, np.where(Z < t, E, np.log1p(E)))


def _softplus_backward(dA, Z, A):
    """dZ = dA sigmoid(Z), from Z."""
    return dA * _sigmoid(Z)


def _softsign(Z):
    """A = Z / (1 + |Z|) ;  dZ = dA * 1 / (1 + |Z|)^2, from Z."""
    return Z / (np.abs(Z) + 1)


def _softsign_backward(dA, Z, A):
    """dZ = dA / (1 + |Z|)^2, from Z."""
    return dA / np.square(np.abs(Z) + 1)


def _hard_sigmoid(Z):
    """A = relu6(Z + 3) / 6 ;  dZ = dA * [-3 < Z < 3] / 6, from Z (0 at both kinks).

    0 for Z <= -3, 1 for Z >= 3, (Z + 3) / 6 between.  Keras on TensorFlow divides by 6 (not
    Z/6 + 0.5, as its docstring writes, nor 0.2 Z + 0.5, as ``keras.ops.hard_sigmoid``'s says)."""
    return np.clip(Z + 3, 0, 6) / 6


def _hard_sigmoid_backward(dA, Z, A):
    """dZ = dA / 6 where 0 < Z + 3 < 6, else 0 (0 at both kinks), from Z."""
    R = Z + 3
    dZ = dA / 6
    dZ *= (R > 0) & (R < 6)
    return dZ


def _exponential_backward(dA, Z, A):
    """dZ = dA * A, from the cached output A = e^Z."""
    return dA * A


def _mish(Z):
    """A = Z tanh(softplus(Z)) ;  dZ = dA * (T + Z (1 - T^2) sigmoid(Z)), T = tanh(softplus(Z)), from Z."""
    return Z * np.tanh(_softplus(Z))


def _mish_backward(dA, Z, A):
    """dZ = dA (T + Z (1 - T^2) sigmoid(Z)), T = tanh(softplus(Z)), from Z (T is g''s own factor;
    Keras differentiates x * tanh(softplus(x)) by the chain rule, in this order)."""
    T = np.tanh(_softplus(Z))
    return dA * T + (dA * Z) * (1 - T * T) * _sigmoid(Z)


def _log_softmax(Z):
    """A_ij = S_ij - log sum_k e^S_ik, S = Z - max_j Z, over each row (TensorFlow's LogSoftmax) ;
    dZ = dA - (sum_j dA_j) e^A, from the cached output A."""
    S = Z - _row_max(Z)
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


def _log_softmax_backward(dA, Z, A):
    """dZ = dA - (sum_j dA_j) e^A, from the cached output A."""
    return dA - dA.sum(axis=1, keepdims=True) * np.exp(A)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_backward, overwrite=_sigmoid_over),
    "tanh": Activation("tanh", np.tanh, _tanh_backward, overwrite=lambda Z: np.tanh(Z, out=Z)),
    "relu": Activation("relu", _relu, _relu_backward, kink=True, overwrite=_relu_over),
    "leaky_relu": leaky_relu(),
    "linear": Activation("linear", lambda Z: Z, _linear_backward, overwrite=lambda Z: Z),
    "softmax": Activation("softmax", _softmax, _softmax_backward, elementwise=False, overwrite=_softmax_over),
    "relu6": Activation("relu6", _relu6, _relu6_backward, kink=True, kinks=(0.0, 6.0)),
    "elu": elu(),
    "selu": Activation("selu", _selu, _selu_backward, kink=True),
    "gelu": gelu(),
    "silu": Activation("silu", _silu, _silu_backward),
    "softplus": Activation("softplus", _softplus, _softplus_backward),
    "softsign": Activation("softsign", _softsign, _softsign_backward),
    "hard_sigmoid": Activation("hard_sigmoid", _hard_sigmoid, _hard_sigmoid_backward, kink=True, kinks=(-3.0, 3.0)),
    "exponential": Activation("exponential", np.exp, _exponential_backward),  # A = e^Z ;  dZ = dA * A
    "mish": Activation("mish", _mish, _mish_backward),
    "log_softmax": Activation("log_softmax", _log_softmax, _log_softmax_backward, elementwise=False),
}

#: Keras's other names for an activation.
ALIASES = {"swish": "silu"}

#: The activations that have settings, and the factory that makes one from them (its
#: keywords are the settings, spelled as Keras spells them).
FACTORIES = {"leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "relu": relu}

#: Settings an entry takes beyond its own config, with the defaults that leave it the entry:
#: relu's (Keras's ``ReLU`` layer passes them), whose shortcuts may return another entry.
SETTINGS = {"relu": RELU_SETTINGS}

#: The elementwise activations, which ``Network(sizes, hidden_activation=...)`` allows between layers;
#: softmax and log_softmax work over a row (a layer built by hand may still use them anywhere).
HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if a.elementwise)


def get(name: str, **settings) -> Activation:
    """The activation called ``name`` (or a Keras alias of it, ``swish``), with ``settings`` in
    place of the registry's defaults: leaky_relu's ``negative_slope`` (0.01, the lecture's),
    elu's ``alpha`` (1.0), gelu's ``approximate`` (False), relu's ``negative_slope``,
    ``max_value`` and ``threshold`` (``relu``: Keras's shortcut or composite).  A setting given as
    None keeps its default."""
    if isinstance(name, str):
        name = ALIASES.get(name, name)
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    entry = ACTIVATIONS[name]
    defaults = SETTINGS.get(name, entry.config)
    given = {key: value for key, value in settings.items() if value is not None}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        valid = ", ".join(defaults) or "none"
        raise ValueError(f"activation {name!r} has no setting {unknown[0]!r}; its settings: {valid}")
    merged = {**defaults, **given}
    if merged == defaults:
        return entry
    return FACTORIES[name](**merged)
