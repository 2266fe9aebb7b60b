"""The lecture's "forward and backward functions" for one dense layer, as plain functions.

Layout as Keras's: examples are rows and the kernel is (n_in, n_out), so for a batch
Z = A_prev @ W + b is the lecture's z = W^T x + b for every example at once.
"""
from __future__ import annotations

import functools

import numpy as np

from scratch import activations, initializers, regularizers
from scratch.keras_compat import float32_constant


def dense_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: activations.Activation):
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


def activation_backward(dA: np.ndarray, cache: dict, activation: activations.Activation) -> np.ndarray:
    """dZ = dA * g'(Z), from the cached Z and A:  the lecture's delta = (W delta_next) * g'(z)."""
    return activation.backward(dA, cache["Z"], cache["A"])


def activation_magnitude(M_dA: np.ndarray, cache: dict, activation: activations.Activation) -> np.ndarray:
    """M_dZ = M_dA * |g'(Z)| for an elementwise g; for softmax, the terms of its Jacobian product
    A * (dA - sum_j dA_j A_j) add up to at most A * (M_dA + sum_j M_dA_j A_j)."""
    if activation.elementwise:
        return np.abs(activation.backward(M_dA, cache["Z"], cache["A"]))
    A = np.abs(cache["A"])
    return A * (M_dA + np.sum(M_dA * A, axis=1, keepdims=True))


# --- layers as objects, the way Keras builds a model ------------------------------------------

class Input:
    """The input of width ``units``: ``keras.Input(shape=(units,))``, the first entry of a network's layers."""

    def __init__(self, units: int, name: str | None = None):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Input units must be an integer >= 1, got {units!r}")
        self.units, self.name = int(units), name

    def __repr__(self) -> str:
        return f"Input({self.units})"


class Layer:
    """One layer of a ``scratch.Network``: ``forward(A_prev, training) -> A`` fills ``self.cache``,
    ``backward(dA) -> dA_prev`` reads only that cache and writes the parameter gradients.

    The network builds each layer for its input width (``build``), then hands it views of its
    flat parameter and gradient buffers (``bind``), in ``parameter_shapes()`` order, which is
    the order of the Keras layer's ``trainable_weights``.  A layer without parameters has none.
    """

    def __init__(self, name: str | None = None):
        self.name = name
        self.cache: dict = {}
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.state: list[np.ndarray] = []  # non-trainable weights, after params in get_weights()

    def build(self, n_in: int, dtype: str, quirks: frozenset) -> int:
        """Prepare for inputs of width ``n_in`` in ``dtype``; returns the output width."""
        self.n_in, self.dtype, self.quirks = n_in, dtype, quirks
        return n_in

    def parameter_shapes(self) -> list[tuple[int, ...]]:
        return []

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw the parameters (into the bound views) from ``rng``."""

    def bind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.params, self.grads = params, grads

    def forward(self, A_prev: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def infer(self, A_prev: np.ndarray) -> np.ndarray:
        """``forward`` in inference mode, for ``predict``: the same values, by the shortest path
        the layer has.  It never writes A_prev, which may be the caller's X."""
        return self.forward(A_prev, training=False)

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def regularization_loss(self):
        """This layer's penalty terms, added to the loss (Keras's ``layer.losses``); None when none."""
        return None

    def backward_magnitude(self, M_dA: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(M_dA_prev, [M_g for each parameter]): the sums of |terms| that ``backward`` added up for
        dA_prev and for each parameter gradient, given M_dA, the same for dA.  Read from the cache
        of the last forward pass.  Two correct computations of a gradient g differ by at most
        N eps M_g: when g's terms cancel, M_g is much larger than |g| (``scratch.tolerances``)."""
        raise NotImplementedError

    def backward_magnitude_from_logits(self, M_dZ: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        raise NotImplementedError

    @property
    def output_activation(self) -> activations.Activation | None:
        """The activation that produces this layer's output, if any (where Keras attaches logits)."""
        return None

    def backward_from_logits(self, dZ: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        """Backward from dZ, the gradient at the logits under ``output_activation``."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"

    def summary(self) -> str:
        """A short form for a network's repr: the class and what sets this layer apart."""
        return type(self).__name__


def activation_config(activation: activations.Activation) -> str | dict:
    """An activation as a config: its name, or ``{"name", **settings}`` where it has settings."""
    return {"name": activation.name, **activation.config} if activation.config else activation.name


def activation_from_config(config, dtype: str | None = None, quirks: frozenset = frozenset()) -> activations.Activation:
    """The activation a config names.  In float64, a setting TensorFlow holds as a float32
    attribute (leaky_relu's slope) is rounded through float32 when the quirk is reproduced."""
    if isinstance(config, activations.Activation):
        config = activation_config(config)
    name, given = (config, {}) if isinstance(config, str) else (config["name"], {**config})
    given.pop("name", None)
    settings = {**activations.get(name).config, **given}  # the registry's defaults, then the config's
    if name == "leaky_relu" and dtype == "float64":  # a composite relu keeps its slope exact (ReLU layer)
        settings["negative_slope"] = float32_constant(settings["negative_slope"], "leaky_relu_slope" in quirks)
    return activations.get(name, **settings)


class Dense(Layer):
    """Z = A_prev @ W + b;  A = g(Z)          A_prev (m, n_in), W (n_in, n_out), b (n_out,)

    dZ = dA * g'(Z);  dW = A_prev^T @ dZ;  db = sum_rows(dZ);  dA_prev = dZ @ W^T

    The lecture's z = W^T x + b for every example at once (``dense_forward``,
    ``dense_backward``).  ``kernel_regularizer`` (``scratch.regularizers``) adds its penalty
    to the loss and its gradient to dW.  Kernels are drawn by ``kernel_initializer`` (one of
    the eight init modes), biases start at zero, as Keras's ``Dense`` does.
    """

    def __init__(self, units: int, activation="linear", use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", kernel_regularizer=None, name: str | None = None):
        super().__init__(name)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be an integer >= 1, got {units!r}")
        self.units = int(units)
        self.activation_spec = activation_config(activation) if isinstance(activation, activations.Activation) else activation
        self.activation = activation_from_config(self.activation_spec)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer)
        self.kernel_initializer = kernel_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def build(self, n_in, dtype, quirks):
        super().build(n_in, dtype, quirks)
        self.activation = activation_from_config(self.activation_spec, dtype, quirks)
        if self.kernel_regularizer is not None:
            self.kernel_regularizer = self.kernel_regularizer.for_dtype(dtype, quirks)
        return self.units

    def parameter_shapes(self):
        return [(self.n_in, self.units)] + ([(self.units,)] if self.use_bias else [])

    def bind(self, params, grads):
        super().bind(params, grads)
        # W and b (None without a bias): views into the network's buffer, as the equations name them
        self.W, self.b = params[0], params[1] if self.use_bias else None
        self.dW, self.db = grads[0], grads[1] if self.use_bias else None

    def initialize(self, rng):
        self.W[...] = initializers.get(self.kernel_initializer)(self.W.shape, rng, self.dtype)

    def forward(self, A_prev, training=False):
        A, self.cache = dense_forward(A_prev, self.W, self.b if self.use_bias else 0, self.activation)
        return A

    def infer(self, A_prev):
        """``dense_forward``'s operations with no cache kept, g written over the fresh Z."""
        Z = matmul(A_prev, self.W)
        if self.use_bias:
            Z += self.b
        return self.activation.infer(Z)

    def backward(self, dA, need_dA_prev=True):
        return self.backward_from_logits(activation_backward(dA, self.cache, self.activation), need_dA_prev)

    def backward_from_logits(self, dZ, need_dA_prev=True):
        dA_prev, dW, _ = dense_backward(dZ, self.cache, self.W, need_dA_prev, dW=self.dW, db=self.db)
        if self.kernel_regularizer is not None:
            dW += self.kernel_regularizer.gradient(self.W)
        return dA_prev

    def regularization_loss(self):
        return None if self.kernel_regularizer is None else self.kernel_regularizer(self.W)

    def backward_magnitude(self, M_dA):
        return self.backward_magnitude_from_logits(activation_magnitude(M_dA, self.cache, self.activation))

    def backward_magnitude_from_logits(self, M_dZ):
        """M_dW = |A_prev|^T M_dZ (+ |the penalty's gradient|), M_db = sum_rows(M_dZ), M_dA_prev = M_dZ |W|^T."""
        M_dW = np.abs(self.cache["A_prev"]).T @ M_dZ
        if self.kernel_regularizer is not None:
            M_dW = M_dW + np.abs(self.kernel_regularizer.gradient(self.W))
        return M_dZ @ np.abs(self.W).T, [M_dW] + ([M_dZ.sum(axis=0)] if self.use_bias else [])

    @property
    def output_activation(self):
        return self.activation

    def summary(self):
        extras = [self.activation.name] if self.activation.name != "linear" else []
        if not self.use_bias:
            extras.append("no bias")
        if self.kernel_regularizer is not None:
            extras.append(f"L2({self.kernel_regularizer.l2:g})")
        return f"Dense({', '.join([str(self.units)] + extras)})"

    def get_config(self):
        return {"units": self.units, "activation": self.activation_spec, "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "kernel_regularizer": regularizers.get_config(self.kernel_regularizer), "name": self.name}


class Activation(Layer):
    """A = g(Z)     Z, A (m, n)        dZ = dA * g'(Z)

    Keras's ``Activation`` layer: an activation with no parameters, ``Z`` being the previous
    layer's output.
    """

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation_spec = activation_config(activation) if isinstance(activation, activations.Activation) else activation
        self.activation = activation_from_config(self.activation_spec)

    def build(self, n_in, dtype, quirks):
        self.activation = activation_from_config(self.activation_spec, dtype, quirks)
        return super().build(n_in, dtype, quirks)

    def forward(self, A_prev, training=False):
        A = self.activation.forward(A_prev)
        self.cache = {"A_prev": A_prev, "Z": A_prev, "A": A}
        return A

    def backward(self, dA, need_dA_prev=True):
        return activation_backward(dA, self.cache, self.activation)

    def backward_from_logits(self, dZ, need_dA_prev=True):
        return dZ

    def backward_magnitude(self, M_dA):
        return activation_magnitude(M_dA, self.cache, self.activation), []

    def backward_magnitude_from_logits(self, M_dZ):
        return M_dZ, []

    @property
    def output_activation(self):
        return self.activation

    def summary(self):
        return f"Activation({self.activation.name})"

    def get_config(self):
        return {"activation": self.activation_spec, "name": self.name}


class Dropout(Layer):
    """Training:  A = where(mask, A_prev * 1/(1 - rate), 0),  mask = u >= rate, u ~ U[0, 1)
    Inference: A = A_prev                                       A_prev, A (m, n)

    dA_prev = where(mask, dA, 0) * 1/(1 - rate)

    TensorFlow's order of operations (``tf.nn.experimental.stateless_dropout``: scale, then
    select), so that the bits agree.  A training forward draws its mask from the layer's
    generator, seeded by the network; ``replay(mask)`` instead hands it the next mask to use,
    so that a comparison can give it the very masks Keras drew (``compare.twin``).
    """

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be a number in [0, 1), got {rate!r}")
        self.rate, self.seed = float(rate), seed
        self.rng = np.random.default_rng(seed)
        self._replayed: list[np.ndarray] = []

    def initialize(self, rng):
        """Without a seed of its own, the layer's masks are drawn from a generator the network's seeds."""
        if self.seed is None:
            self.rng = np.random.default_rng(rng.integers(2 ** 63))

    def replay(self, mask: np.ndarray) -> None:
        """The mask (True where a unit is kept) for the next training forward pass."""
        self._replayed.append(np.asarray(mask, dtype=bool))

    def forward(self, A_prev, training=False):
        if not training or self.rate == 0:
            self.cache = {"A_prev": A_prev, "Z": A_prev, "A": A_prev, "mask": None}
            return A_prev
        mask = self._replayed.pop(0) if self._replayed else self.rng.random(A_prev.shape) >= self.rate
        if mask.shape != A_prev.shape:
            raise ValueError(f"dropout mask of shape {mask.shape} for inputs of shape {A_prev.shape}")
        scale = A_prev.dtype.type(1 / (1 - self.rate))
        A = np.where(mask, A_prev * scale, A_prev.dtype.type(0))
        self.cache = {"A_prev": A_prev, "Z": A_prev, "A": A, "mask": mask, "scale": scale}
        return A

    def backward(self, dA, need_dA_prev=True):
        if self.cache.get("mask") is None:
            return dA
        return np.where(self.cache["mask"], dA, dA.dtype.type(0)) * self.cache["scale"]

    def backward_magnitude(self, M_dA):
        return self.backward(M_dA), []

    def summary(self):
        return f"Dropout({self.rate:g})"

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name}


def normalize_forward(X, axis: int, gamma, beta, epsilon: float, stats=None):
    """Y = X * inv + (beta - mean * inv),  inv = gamma / sqrt(var + epsilon)       X, Y (m, n)

    mean and var along ``axis`` (0: over the batch, BatchNormalization; 1: over the features,
    LayerNormalization), var = mean((X - mean)^2) without Bessel's correction, or the given
    ``stats`` (inference-mode BatchNormalization's moving statistics).  This is the order of
    ``tf.nn.batch_normalization`` and of Keras's ``ops.layer_normalization``.  Returns Y and the
    cache ``{"X", "Xc", "r", "inv", "mean", "var", "axis", "batch_stats"}``.
    """
    if stats is None:
        mean = X.mean(axis=axis, keepdims=True)
        Xc = X - mean
        var = (Xc * Xc).mean(axis=axis, keepdims=True)
    else:
        mean, var = stats
        mean, var = mean[None, :], var[None, :]
        Xc = X - mean
    r, inv, offset = normalize_affine(mean, var, gamma, beta, epsilon, X.dtype)
    Y = X * inv + offset
    return Y, {"X": X, "A": Y, "Xc": Xc, "r": r, "inv": inv, "mean": mean, "var": var, "axis": axis,
               "batch_stats": stats is None}


def normalize_affine(mean, var, gamma, beta, epsilon: float, dtype):
    """(r, inv, offset) of ``normalize_forward``: r = 1 / sqrt(var + epsilon), inv = gamma r,
    offset = beta - mean inv, so that Y = X * inv + offset."""
    r = 1 / np.sqrt(var + dtype.type(epsilon))
    inv = r * gamma if gamma is not None else r
    offset = -mean * inv if beta is None else beta - mean * inv
    return r, inv, offset


def normalize_backward(dY, cache: dict, gamma):
    """dX, dgamma, dbeta from the cache of ``normalize_forward``:

    dbeta = sum_rows(dY);  dgamma = sum_rows(dY * Xc * r)
    with batch statistics (k values along the axis): dmean = -sum_axis(dY * inv),
    dvar = -1/2 r^3 sum_axis(dY * Xc * gamma),  dX = dY * inv + dmean / k + dvar * 2 Xc / k
    (TensorFlow's moments stop the gradient of the mean inside the variance; the sum it
    would add is zero).  With given statistics, dX = dY * inv.
    """
    Xc, r, inv, axis = cache["Xc"], cache["r"], cache["inv"], cache["axis"]
    dbeta = dY.sum(axis=0)
    dgamma = (dY * Xc * r).sum(axis=0)
    dX = dY * inv
    if cache["batch_stats"]:
        k = dY.shape[axis]
        g = gamma if gamma is not None else 1
        dmean = -(dY * inv).sum(axis=axis, keepdims=True)
        dvar = -0.5 * r ** 3 * (dY * Xc * g).sum(axis=axis, keepdims=True)
        dX = dX + dmean / k + dvar * 2 * Xc / k
    return dX, dgamma, dbeta


class _Normalization(Layer):
    """gamma (scale) then beta (center) as parameters, each optional, in Keras's order."""

    axis = 1

    def __init__(self, epsilon: float = 1e-3, center: bool = True, scale: bool = True, name: str | None = None):
        super().__init__(name)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"epsilon must be a number > 0, got {epsilon!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def parameter_shapes(self):
        return [(self.n_in,)] * (int(self.scale) + int(self.center))

    def bind(self, params, grads):
        super().bind(params, grads)
        k = int(self.scale)
        self.gamma, self.beta = (params[0] if self.scale else None), (params[k] if self.center else None)
        self.dgamma, self.dbeta = (grads[0] if self.scale else None), (grads[k] if self.center else None)

    def initialize(self, rng):
        if self.scale:
            self.gamma[...] = 1  # Keras's gamma_initializer="ones"; beta stays at zeros

    def backward_magnitude(self, M_dY):
        """The terms of ``normalize_backward``, each taken in absolute value."""
        c = self.cache
        Xc, r, inv, axis = np.abs(c["Xc"]), c["r"], np.abs(c["inv"]), c["axis"]
        M_dX = M_dY * inv
        if c["batch_stats"]:
            k = M_dY.shape[axis]
            g = np.abs(self.gamma) if self.gamma is not None else 1
            M_dX = (M_dX + (M_dY * inv).sum(axis=axis, keepdims=True) / k
                    + r ** 3 * (M_dY * Xc * g).sum(axis=axis, keepdims=True) * Xc / k)
        grads = ([(M_dY * Xc * r).sum(axis=0)] if self.scale else []) + ([M_dY.sum(axis=0)] if self.center else [])
        return M_dX, grads

    def _backward(self, dA):
        dX, dgamma, dbeta = normalize_backward(dA, self.cache, self.gamma)
        if self.scale:
            self.dgamma[...] = dgamma
        if self.center:
            self.dbeta[...] = dbeta
        return dX

    def get_config(self):
        return {"epsilon": self.epsilon, "center": self.center, "scale": self.scale, "name": self.name}


class BatchNormalization(_Normalization):
    """Training:  Y = gamma (X - mean_B) / sqrt(var_B + epsilon) + beta, over the batch B;
                  moving_mean = momentum moving_mean + (1 - momentum) mean_B (and moving_var)
    Inference: the same with moving_mean and moving_var.                 X, Y (m, n)

    Parameters gamma, beta (n,); state moving_mean (n,), moving_variance (n,), Keras's
    ``get_weights()`` order.  See ``normalize_forward`` and ``normalize_backward``.
    """

    axis = 0

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 name: str | None = None):
        super().__init__(epsilon, center, scale, name)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be a number in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)

    def build(self, n_in, dtype, quirks):
        n = super().build(n_in, dtype, quirks)
        self.moving_mean, self.moving_variance = np.zeros(n, dtype=dtype), np.ones(n, dtype=dtype)
        self.state = [self.moving_mean, self.moving_variance]
        return n

    def forward(self, A_prev, training=False):
        if not training:
            Y, self.cache = normalize_forward(A_prev, 0, self.gamma, self.beta, self.epsilon,
                                              stats=(self.moving_mean, self.moving_variance))
            return Y
        Y, self.cache = normalize_forward(A_prev, 0, self.gamma, self.beta, self.epsilon)
        m = A_prev.dtype.type(self.momentum)
        self.moving_mean[...] = self.moving_mean * m + self.cache["mean"][0] * A_prev.dtype.type(1.0 - self.momentum)
        self.moving_variance[...] = (self.moving_variance * m
                                     + self.cache["var"][0] * A_prev.dtype.type(1.0 - self.momentum))
        return Y

    def infer(self, A_prev):
        """Y = X * inv + offset with the moving statistics, as ``forward`` computes it, without
        the centred X that forward caches for backward (a pass over X saved)."""
        _, inv, offset = normalize_affine(self.moving_mean[None, :], self.moving_variance[None, :], self.gamma,
                                          self.beta, self.epsilon, A_prev.dtype)
        Y = A_prev * inv
        Y += offset
        return Y

    def backward(self, dA, need_dA_prev=True):
        return self._backward(dA)

    def summary(self):
        return "BatchNormalization"

    def get_config(self):
        return {"momentum": self.momentum, **super().get_config()}


class LayerNormalization(_Normalization):
    """Y = gamma (X - mean_row) / sqrt(var_row + epsilon) + beta, over each example's features
                                                                          X, Y (m, n)
    The same in training and inference.  Parameters gamma, beta (n,).
    """

    axis = 1

    def forward(self, A_prev, training=False):
        Y, self.cache = normalize_forward(A_prev, 1, self.gamma, self.beta, self.epsilon)
        return Y

    def backward(self, dA, need_dA_prev=True):
        return self._backward(dA)

    def summary(self):
        return "LayerNormalization"


class ReLU(Activation):
    """A = min(Z, max_value) where Z > threshold, 0 at threshold, negative_slope (Z - threshold)
    below it: Keras's ``ReLU`` layer, which calls ``keras.activations.relu`` with its settings.
    It is ``activations.relu`` of them: Keras's own shortcuts where Keras takes them (no settings
    is ``relu``, max_value=6 alone ``relu6``, a slope alone ``leaky_relu``), else its composite,
    operation for operation.  Settings as Keras's layer checks them (max_value None or >= 0,
    negative_slope and threshold >= 0, here also finite and not NaN), else a ValueError.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 name: str | None = None):
        g = activations.relu(negative_slope, max_value, threshold)  # refuses what Keras's layer refuses
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        super().__init__(g, name)

    @property
    def composite(self) -> bool:
        """Whether Keras computes this ReLU as its composite (no shortcut)."""
        return self.activation.name == "relu" and bool(self.activation.config)

    def summary(self):
        if self.composite:
            settings = ", ".join(f"{k}={v:g}" for k, v in self.activation.config.items()
                                 if v != activations.RELU_SETTINGS[k])
            return f"ReLU({settings})"
        return f"ReLU({self.activation.name})"

    def get_config(self):
        return {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold,
                "name": self.name}


class LeakyReLU(Activation):
    """A = Z where Z > 0, else negative_slope * Z.  Keras's ``LeakyReLU`` layer: its slope defaults
    to 0.3 (the ``"leaky_relu"`` activation string's to 0.2, the lecture's network's to 0.01)."""

    def __init__(self, negative_slope: float = 0.3, name: str | None = None):
        self.negative_slope = float(negative_slope)
        super().__init__({"name": "leaky_relu", "negative_slope": self.negative_slope}, name)

    def summary(self):
        return f"LeakyReLU({self.negative_slope:g})"

    def get_config(self):
        return {"negative_slope": self.negative_slope, "name": self.name}


class Softmax(Activation):
    """A_ij = e^Z_ij / sum_k e^Z_ik over the features: Keras's ``Softmax`` layer (axis -1, no mask),
    which attaches its logits as the softmax activation does."""

    def __init__(self, name: str | None = None):
        super().__init__("softmax", name)

    def summary(self):
        return "Softmax"

    def get_config(self):
        return {"name": self.name}


#: Layer classes by Keras's class name (``scratch.Network.from_config`` reads these).
LAYERS: dict[str, type[Layer]] = {"Dense": Dense, "Activation": Activation, "Dropout": Dropout,
                                  "BatchNormalization": BatchNormalization,
                                  "LayerNormalization": LayerNormalization, "ReLU": ReLU, "LeakyReLU": LeakyReLU,
                                  "Softmax": Softmax}


def get_config(layer: Layer) -> dict:
    """``{"class_name", "config"}``, as Keras serialises a layer."""
    names = {cls: name for name, cls in LAYERS.items()}
    return {"class_name": names[type(layer)], "config": layer.get_config()}


def from_config(config: dict) -> Layer:
    """The layer ``get_config`` described."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in LAYERS:
        raise ValueError(f"unknown layer {name!r}; valid: {', '.join(LAYERS)}")
    return LAYERS[name].from_config(config["config"])
