"""Losses and their gradients, keyed by Keras's names, with Keras's reductions and settings.

Conventions (stated here once, listed in the README):

- **Mean over output units, then over the batch.**  Keras's loss functions return one value
  per example: the mean over the last axis (binary cross-entropy, mean squared and absolute
  error, Huber) or the sum over classes (categorical and sparse categorical cross-entropy).
  ``compile()``'s default reduction, ``"sum_over_batch_size"``, then divides the sum over the
  batch by m.  So ``J = 1/m sum_i per_example_i`` and every gradient below carries that 1/m.
- **Logits behind sigmoid and softmax outputs.**  On TensorFlow, Keras attaches the
  logits Z to the output of a sigmoid (softmax) activation, and the cross-entropies use
  them: ``tf.nn.sigmoid_cross_entropy_with_logits`` for binary, the softmax forms for
  categorical and sparse.  The gradient is then the lecture's simplification ``dZ = A - Y``
  (scaled by the reduction), finite even when A saturates at 0 or 1.  A ``Loss`` names the
  activation whose logits it expects in ``logits_of``: its *link*, sigmoid for binary and
  softmax for the two categorical cross-entropies.  Keras reads the logits behind a sigmoid
  *or* a softmax output, whichever the loss; ``scratch.keras_compat.reads_logits`` states
  when the network does the same.  It does so with ``from_logits=True`` too: Keras warns
  that such an output "does not represent logits" and takes the Z behind it, so a
  from-logits loss keeps its link in ``logits_of`` (a linear output is its own logits).
- **Probabilities otherwise.**  Without logits, Keras clips A to [epsilon, 1 - epsilon]
  with ``epsilon = 1e-7`` before the log, and the clip passes no gradient outside it.
  Categorical cross-entropy first divides A by its row sum, then clips; sparse categorical
  cross-entropy clips first, takes the log and hands it to the softmax cross-entropy, which
  normalises: its loss is ``-log(a_y) + log(sum_j a_j)`` (clipped a), and its gradient
  keeps the ``1 / sum_j a_j`` term that a softmax output's Jacobian then cancels.
- **Settings as Keras spells them.**  ``from_logits`` (the output is Z, the loss applies its
  link), ``label_smoothing`` (binary: y (1 - ls) + ls / 2; categorical: y (1 - ls) + ls / K,
  computed in the model's dtype as TensorFlow does, ls / K from ls and K each in that dtype)
  and Huber's ``delta``.  Each reaches a float64 model exactly: TensorFlow converts the
  Python float straight to the tensor's dtype (``tf.convert_to_tensor(x, dtype)``), not
  through float32 as ``ops.cast`` does for the L2 factor.
- **Softmax cross-entropy's gradient is P - Y.**  TensorFlow's
  ``SoftmaxCrossEntropyWithLogits`` kernel returns ``softmax(Z) - Y`` as its gradient, the
  derivative of its loss only where each row of Y sums to 1 (one-hot and smoothed targets
  do, to a rounding; multi-hot targets do not, and Keras then trains on ``P - Y`` while
  reporting ``sum_j y_j (logsumexp(Z) - z_j)``).  The scratch side returns the same.
- **MAE at zero error.**  TensorFlow's ``Abs`` gradient is ``sign(x)``: 0 where A = Y.
  Huber's quadratic branch includes |A - Y| = delta (``abs_error <= delta``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from scratch.activations import ACTIVATIONS

#: ``keras.config.epsilon()``: the clip of probabilities in the cross-entropies.
EPSILON = 1e-7

_sigmoid, _softmax = ACTIVATIONS["sigmoid"].forward, ACTIVATIONS["softmax"].forward


@dataclass(frozen=True)
class Loss:
    """A named loss: per-example values and the gradient of their batch mean.

    ``per_example(Y, A) -> (m,)``, ``gradient(Y, A) -> dA (m, n_out)``.  Where Keras reads
    logits, ``per_example_from_logits(Y, Z)`` and ``gradient_from_logits(Y, P) -> dZ``
    take the loss from Z, with P = link(Z) (``logits_of`` names the link).  With
    ``from_logits`` the output A *is* Z: ``per_example`` and ``gradient`` are then the
    logits forms themselves.  ``config`` holds the settings beside the name, every one of
    them (``get_config`` leaves out the defaults).
    """

    name: str
    per_example: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]
    logits_of: Optional[str] = None
    per_example_from_logits: Optional[Callable] = None
    gradient_from_logits: Optional[Callable] = None
    #: Targets are class indices, one per example (m, 1), not rows of width n_out.
    sparse: bool = False
    config: dict = field(default_factory=dict, compare=False)
    #: ``(Y, A) -> the sum of |terms| of each entry of gradient(Y, A)``, where its terms cancel:
    #: for 2 (A - Y) / (m n), 2 (|A| + |Y|) / (m n).  None: |gradient(Y, A)| (no cancellation).
    #: ``Network.gradient_magnitudes`` starts from it; a gradient near a perfect fit, where A - Y
    #: is a rounding of A, is then judged against A's rounding, not against itself.
    gradient_magnitude: Optional[Callable] = None


def _clip(A):
    """(A clipped to [eps, 1 - eps], mask where the clip passes gradient), in A's dtype.

    ``tf.clip_by_value(A, epsilon, 1.0 - epsilon)``: both bounds are Python floats converted
    to A's dtype.  Minimum and Maximum pass the gradient at the bounds themselves.
    """
    lo, hi = A.dtype.type(EPSILON), A.dtype.type(1.0 - EPSILON)
    return np.clip(A, lo, hi), (A >= lo) & (A <= hi)


# binary cross-entropy -------------------------------------------------------------------

def smooth_binary(Y, label_smoothing: float):
    """y (1 - ls) + 0.5 ls, in Y's dtype (both Python-float factors rounded to it, as TensorFlow does)."""
    if not label_smoothing:
        return Y
    return Y * (1.0 - label_smoothing) + 0.5 * label_smoothing


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


def _cross_entropy(name, link_name, link, smooth, on_probabilities, gradient_on_probabilities, on_logits_plain,
                   gradient_on_link_plain, from_logits: bool, label_smoothing: float) -> Loss:
    """Binary or categorical cross-entropy with its settings: targets smoothed first, then the
    loss from probabilities, or from logits (the output itself with ``from_logits``)."""
    ls = float(label_smoothing)
    config = {"from_logits": bool(from_logits), "label_smoothing": ls}
    if not from_logits and not ls:  # the plain entry
        return Loss(name, on_probabilities, gradient_on_probabilities, logits_of=link_name,
                    per_example_from_logits=on_logits_plain, gradient_from_logits=gradient_on_link_plain,
                    config=config)

    def on_logits(Y, Z):
        return on_logits_plain(smooth(Y, ls), Z)

    def on_link(Y, P):
        return gradient_on_link_plain(smooth(Y, ls), P)

    def per_example(Y, A):
        return on_logits(Y, A) if from_logits else on_probabilities(smooth(Y, ls), A)

    def gradient(Y, A):
        return on_link(Y, link(A)) if from_logits else gradient_on_probabilities(smooth(Y, ls), A)

    return Loss(name, per_example, gradient, logits_of=link_name, per_example_from_logits=on_logits,
                gradient_from_logits=on_link, config=config)


def binary_crossentropy(from_logits: bool = False, label_smoothing: float = 0.0) -> Loss:
    """Keras's ``BinaryCrossentropy``: mean over units of -[y log a + (1 - y) log(1 - a)].

    ``label_smoothing`` moves every target towards 1/2 first; ``from_logits`` takes the
    output as Z, the loss of a = sigmoid(Z), dZ = (sigmoid(Z) - Y) / (m n_out).
    """
    return _cross_entropy("binary_crossentropy", "sigmoid", _sigmoid, smooth_binary, _bce, _bce_gradient,
                          _bce_from_logits, _bce_gradient_from_logits, from_logits, label_smoothing)


# categorical cross-entropy --------------------------------------------------------------

def smooth_categorical(Y, label_smoothing: float):
    """y (1 - ls) + ls / K over K classes, in Y's dtype: ls and K are each rounded to it before
    the division, as Keras divides by ``ops.cast(K, dtype)``."""
    if not label_smoothing:
        return Y
    t = Y.dtype.type
    return Y * (1.0 - label_smoothing) + t(label_smoothing) / t(Y.shape[1])


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
    """dZ = (P - Y) / m with P = softmax(Z): TensorFlow's kernel, exact where each row of Y sums to 1.

    The loss's own derivative is (P sum_j y_j - Y) / m; ``SoftmaxCrossEntropyWithLogits``
    returns P - Y whatever Y's row sums (the module docstring says where that differs).
    """
    return (P - Y) / len(P)


def categorical_crossentropy(from_logits: bool = False, label_smoothing: float = 0.0) -> Loss:
    """Keras's ``CategoricalCrossentropy``: -sum_j y_j log p_j per example.

    ``label_smoothing`` moves every target towards 1/K first; ``from_logits`` takes the
    output as Z, the loss of p = softmax(Z), dZ = (softmax(Z) - Y) / m.
    """
    return _cross_entropy("categorical_crossentropy", "softmax", _softmax, smooth_categorical, _cce, _cce_gradient,
                          _cce_from_logits, _cce_gradient_from_logits, from_logits, label_smoothing)


# sparse categorical cross-entropy --------------------------------------------------------

def class_indices(Y, n_classes: int) -> np.ndarray:
    """Sparse targets Y (m, 1) of class indices (held as floats) as an int vector (m,), each in
    0..n_classes - 1 (TensorFlow's kernel refuses any other)."""
    y = np.asarray(Y).reshape(-1)
    idx = y.astype(np.int64)
    if not np.array_equal(idx, y) or idx.min(initial=0) < 0 or idx.max(initial=0) >= n_classes:
        bad = y[(idx != y) | (idx < 0) | (idx >= n_classes)][0]
        raise ValueError(f"sparse targets must be class indices 0..{n_classes - 1}, got {bad!r}")
    return idx


def _sparse_from_logits(Y, Z):
    """log sum_j e^(z_j - max z) - (z_y - max z): tf.nn.sparse_softmax_cross_entropy_with_logits."""
    idx = class_indices(Y, Z.shape[1])
    shifted = Z - Z.max(axis=1, keepdims=True)
    return np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(Z)), idx]


def _sparse_gradient_from_logits(Y, P):
    """dZ = (P - onehot(y)) / m with P = softmax(Z)."""
    idx = class_indices(Y, P.shape[1])
    dZ = P.copy()
    dZ[np.arange(len(P)), idx] -= 1
    return dZ / len(P)


def _sparse(Y, A):
    """The softmax cross-entropy of L = log(clip(A)): -log a_y + log sum_j a_j (a clipped)."""
    Ac, _ = _clip(A)
    return _sparse_from_logits(Y, np.log(Ac))


def _sparse_gradient(Y, A):
    """dA = (softmax(L) - onehot(y)) / m / a through L = log(clip(A)), zero where the clip is active.

    softmax(L) = a / sum_j a_j: the gradient is (1 / sum_j a_j - [j = y] / a_y) / m, whose first
    term a softmax output's Jacobian cancels.
    """
    Ac, inside = _clip(A)
    dL = _sparse_gradient_from_logits(Y, _softmax(np.log(Ac)))
    return np.where(inside, dL / Ac, 0).astype(A.dtype, copy=False)


def sparse_categorical_crossentropy(from_logits: bool = False) -> Loss:
    """Keras's ``SparseCategoricalCrossentropy``: categorical cross-entropy with targets given as
    class indices, Y (m, 1).  ``from_logits`` takes the output as Z: dZ = (softmax(Z) - onehot(y)) / m."""
    def gradient_of_logits(Y, Z):
        return _sparse_gradient_from_logits(Y, _softmax(Z))

    return Loss("sparse_categorical_crossentropy", _sparse_from_logits if from_logits else _sparse,
                gradient_of_logits if from_logits else _sparse_gradient, logits_of="softmax",
                per_example_from_logits=_sparse_from_logits, gradient_from_logits=_sparse_gradient_from_logits,
                sparse=True, config={"from_logits": bool(from_logits)})


# mean squared and absolute error ---------------------------------------------------------

def _mse(Y, A):
    """mean_j (a - y)^2."""
    D = A - Y
    return (D * D).sum(axis=1) / A.shape[1]


def _mse_gradient(Y, A):
    """dA = 2 (A - Y) / (m n_out)."""
    return 2 * (A - Y) / A.size


def _mse_gradient_magnitude(Y, A):
    """The terms of 2 (A - Y) / (m n_out) in absolute value: 2 (|A| + |Y|) / (m n_out)."""
    return 2 * (np.abs(A) + np.abs(Y)) / A.size


def mean_squared_error() -> Loss:
    return Loss("mean_squared_error", _mse, _mse_gradient, gradient_magnitude=_mse_gradient_magnitude)


def _mae(Y, A):
    """mean_j |a - y|."""
    return np.abs(A - Y).sum(axis=1) / A.shape[1]


def _mae_gradient(Y, A):
    """dA = sign(A - Y) / (m n_out): TensorFlow's Abs gradient, sign(x), is 0 at A = Y."""
    return np.sign(A - Y) / A.size


def mean_absolute_error() -> Loss:
    return Loss("mean_absolute_error", _mae, _mae_gradient)


# Huber ------------------------------------------------------------------------------------

def huber(delta: float = 1.0) -> Loss:
    """Keras's ``Huber``: mean_j of 0.5 x^2 where |x| <= delta, else delta |x| - 0.5 delta^2, x = a - y.

    dA = x where |x| <= delta, else delta sign(x); over m n_out.  delta and delta^2 are
    computed in A's dtype, as ``ops.convert_to_tensor(delta, dtype)`` and ``ops.square`` do.
    """
    d = float(delta)

    def per_example(Y, A):
        X = A - Y
        absX = np.abs(X)
        dt = A.dtype.type(d)
        return np.where(absX <= dt, 0.5 * (X * X), dt * absX - 0.5 * (dt * dt)).sum(axis=1) / A.shape[1]

    def gradient(Y, A):
        X = A - Y
        dt = A.dtype.type(d)
        return np.where(np.abs(X) <= dt, X, dt * np.sign(X)) / A.size

    def gradient_magnitude(Y, A):
        """(|A| + |Y|) / (m n_out) on the quadratic branch (x = A - Y cancels there), delta / (m n_out) beyond."""
        dt = A.dtype.type(d)
        return np.where(np.abs(A - Y) <= dt, np.abs(A) + np.abs(Y), dt) / A.size

    return Loss("huber", per_example, gradient, config={"delta": d}, gradient_magnitude=gradient_magnitude)


# the registry -----------------------------------------------------------------------------

#: Each loss's maker, by Keras's name; its keyword arguments are the loss's settings.
MAKERS: dict[str, Callable[..., Loss]] = {
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "huber": huber,
}

#: Every loss with its default settings, by Keras's name.
LOSSES: dict[str, Loss] = {name: make() for name, make in MAKERS.items()}


def _check_setting(name: str, key: str, value):
    """A setting's value as the loss takes it, or a ValueError naming what is wrong."""
    if key == "from_logits":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name}: from_logits must be True or False, got {value!r}")
        return bool(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: {key} must be a number, got {value!r}")
    value = float(value)
    if key == "label_smoothing" and not 0 <= value <= 1:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {value!r}")
    if key == "delta" and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name}: delta must be a finite number > 0, got {value!r}")
    return value


def get(spec) -> Loss:
    """The loss a spec names: a name (default settings), a dict ``{"name": ..., setting: value}``
    (``get_config``'s form), or a ``Loss`` itself."""
    if isinstance(spec, Loss):
        return spec
    settings = {}
    if isinstance(spec, dict):
        settings = dict(spec)
        spec = settings.pop("name", None)
    if not isinstance(spec, str) or spec not in LOSSES:
        raise ValueError(f"unknown loss {spec!r}; valid: {', '.join(LOSSES)}")
    defaults = LOSSES[spec].config
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r} for loss {spec}; valid: "
                         f"{', '.join(defaults) if defaults else 'none'}")
    settings = {key: _check_setting(spec, key, value) for key, value in settings.items()}
    if all(settings[key] == defaults[key] for key in settings):
        return LOSSES[spec]
    return MAKERS[spec](**settings)


def get_config(loss: Loss):
    """The loss as a config: its name when every setting is the default, else
    ``{"name": ..., **settings}`` (``get`` reads either back)."""
    if loss.config == LOSSES[loss.name].config:
        return loss.name
    return {"name": loss.name, **loss.config}
