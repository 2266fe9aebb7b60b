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

    def backward(self, dA: np.ndarray, need_dA_prev: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def regularization_loss(self):
        """This layer's penalty terms, added to the loss (Keras's ``layer.losses``); None when none."""
        return None

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
    if "negative_slope" in settings and dtype == "float64":
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

    def backward(self, dA, need_dA_prev=True):
        return self.backward_from_logits(activation_backward(dA, self.cache, self.activation), need_dA_prev)

    def backward_from_logits(self, dZ, need_dA_prev=True):
        dA_prev, dW, _ = dense_backward(dZ, self.cache, self.W, need_dA_prev, dW=self.dW, db=self.db)
        if self.kernel_regularizer is not None:
            dW += self.kernel_regularizer.gradient(self.W)
        return dA_prev

    def regularization_loss(self):
        return None if self.kernel_regularizer is None else self.kernel_regularizer(self.W)

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

    @property
    def output_activation(self):
        return self.activation

    def summary(self):
        return f"Activation({self.activation.name})"

    def get_config(self):
        return {"activation": self.activation_spec, "name": self.name}


#: Layer classes by Keras's class name (``scratch.Network.from_config`` reads these).
LAYERS: dict[str, type[Layer]] = {"Dense": Dense, "Activation": Activation}


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
