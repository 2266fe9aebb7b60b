"""A dense network by hand: the lecture's forward propagation and backpropagation in NumPy."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from scratch import activations, initializers, losses, optimizers
from scratch.keras_compat import KerasCompat, reads_logits, resolve
from scratch.layers import LAYERS, Dense, Input, Layer
from scratch.layers import from_config as layer_from_config
from scratch.layers import get_config as layer_config
from scratch.regularizers import L2

DTYPES = ("float32", "float64")


def check_layer_sizes(layer_sizes) -> list[int]:
    """``layer_sizes`` as a list of ints: at least two, each at least 1."""
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__iter__"):
        raise ValueError(f"layer_sizes must be a list of integers, got {layer_sizes!r}")
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two sizes (inputs, outputs), got {sizes!r}")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"layer size {n!r} in {sizes!r} is not an integer >= 1")
    return [int(n) for n in sizes]


def check_choice(kind: str, value, valid: Sequence[str]) -> str:
    """``value`` if it is one of ``valid``, else a ValueError naming both."""
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")
    return value


def check_seed(seed) -> None:
    """``seed`` is None or an integer >= 0, as numpy.random.default_rng takes it."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be None or an integer >= 0, got {seed!r}")


def check_l2(l2) -> float:
    """``l2`` as a finite float >= 0."""
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating)) or not (l2 >= 0) or not np.isfinite(l2):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    return float(l2)


class Network:
    """A network as a stack of layers and a loss:  A0 = X,  A_l = layer_l.forward(A_{l-1}).

    Two ways to build one.  The general form names the layers, as a Keras ``Sequential``
    does, its first entry the input width:

        Network(layers=[Input(4), Dense(6, "relu"), Dense(1, "sigmoid")], loss="binary_crossentropy")

    The lecture's form names the sizes: ``layer_sizes = [n_0, n_1, ..., n_L]`` makes a
    ``Dense`` layer per size after the first, with ``hidden_activation`` on the hidden ones
    and ``output_activation`` on the last; W_l is (n_{l-1}, n_l) and b_l is (n_l,), the layout
    of the lecture's W(1) (4 x 6) and of Keras's kernels.  ``init_mode`` draws their kernels,
    and ``l2`` puts Keras's ``L2(l2)`` on each.  The cost is

        J = 1/m sum_i loss(y_i, a_i) + the layers' penalties (l2 sum_l sum(W_l^2))

    (see ``scratch.regularizers`` for the lecture's lambda / (2 m)).  ``keras_compat`` applies
    Keras-on-TensorFlow's float32 roundings of constants and more (``scratch.keras_compat``):
    True for all, False for none, or the names of the quirks to reproduce.  ``optimizer``, a
    name or a ``scratch.optimizers.Optimizer``, is the one the network carries, as a compiled
    Keras model does; ``train_on_batch`` and ``scratch.fit`` use it when given none.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int] | None = None,
        hidden_activation: str = "sigmoid",
        output_activation: str = "sigmoid",
        loss: str = "binary_crossentropy",
        init_mode: str = "glorot_uniform",
        l2: float = 0.0,
        seed: int | None = None,
        dtype: str = "float32",
        keras_compat: KerasCompat = True,
        *,
        layers: Sequence[Layer] | None = None,
        optimizer=None,
    ):
        if (layers is None) == (layer_sizes is None):
            raise ValueError("give either layer_sizes (the lecture's form) or layers=[Input(n), ...], not both")
        if layers is None:
            sizes = check_layer_sizes(layer_sizes)
            check_choice("hidden_activation", hidden_activation, activations.HIDDEN_ACTIVATIONS)
            check_choice("output_activation", output_activation, tuple(activations.ACTIVATIONS))
            initializers.get(init_mode)
            l2 = check_l2(l2)
            layers = [Input(sizes[0])] + [
                Dense(n, hidden_activation if i < len(sizes) - 2 else output_activation,
                      kernel_initializer=init_mode, kernel_regularizer=L2(l2) if l2 else None)
                for i, n in enumerate(sizes[1:])]
            self.l2, self.init_mode = l2, init_mode
        else:
            lecture = {"hidden_activation": (hidden_activation, "sigmoid"), "output_activation": (output_activation,
                       "sigmoid"), "init_mode": (init_mode, "glorot_uniform"), "l2": (l2, 0.0)}
            given = [name for name, (value, default) in lecture.items() if value != default]
            if given:
                raise ValueError(f"{', '.join(given)} belong to the lecture's form (layer_sizes); with layers=, "
                                 "give each Dense its activation, kernel_initializer and kernel_regularizer")
            # the lecture's settings do not describe a stack of layers: each layer holds its own
            self.l2 = self.init_mode = None
        self.loss = losses.get(loss)
        self.dtype = check_choice("dtype", dtype, DTYPES)
        self.quirks = resolve(keras_compat)
        self.optimizer: optimizers.Optimizer | None = None if optimizer is None else optimizers.get(optimizer)
        check_seed(seed)
        self._build(list(layers), np.random.default_rng(seed))

    def _build(self, layers: list, rng: np.random.Generator) -> None:
        if not layers or not isinstance(layers[0], Input):
            raise ValueError("layers must start with Input(n_inputs), as a Keras Sequential model does")
        if len(layers) < 2 or not all(isinstance(layer, Layer) for layer in layers[1:]):
            raise ValueError(f"layers after Input must be scratch layers ({', '.join(LAYERS)}), got {layers[1:]!r}")
        self.input_layer, self.layers = layers[0], tuple(layers[1:])
        widths = [self.input_layer.units]
        for layer in self.layers:
            widths.append(layer.build(widths[-1], self.dtype, self.quirks))
        self.widths = widths
        # All parameters live in one flat buffer, each layer's are views into it, and the
        # gradients in a twin buffer: an optimizer then updates everything with a handful of
        # NumPy calls.  Views, so a layer's W[...] = ... writes the buffer the optimizer steps.
        shapes = [layer.parameter_shapes() for layer in self.layers]
        self._shapes = [s for layer_shapes in shapes for s in layer_shapes]
        self._flat = np.zeros(sum(int(np.prod(s)) for s in self._shapes), dtype=self.dtype)
        self._flat_grads = np.zeros_like(self._flat)
        views, grad_views = self.unflatten(self._flat), self.unflatten(self._flat_grads)
        self._grad_views = tuple(grad_views)  # what backward(copy=False) returns, made once
        for layer, layer_shapes in zip(self.layers, shapes):
            k = len(layer_shapes)
            layer.bind(views[:k], grad_views[:k])
            views, grad_views = views[k:], grad_views[k:]
            layer.initialize(rng)
        # Each layer's weights as Keras lists them: its parameters, then its state (non-trainable
        # weights, such as BatchNormalization's moving statistics), which no optimizer steps.
        self._weight_shapes = [w.shape for layer in self.layers for w in layer.params + layer.state]
        out = self.layers[-1].output_activation
        self._logits_loss = out is not None and reads_logits(self.loss.logits_of, out.name,
                                                             "crossed_logits" in self.quirks)
        # P = link(Z) for the logits path: the cached A itself unless the pair is crossed
        self._link = (activations.get(self.loss.logits_of)
                      if self._logits_loss and self.loss.logits_of != out.name else None)

    def unflatten(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of a flat parameter-sized array, one per trainable weight (Keras's ``trainable_weights`` order)."""
        views, start = [], 0
        for shape in self._shapes:
            size = int(np.prod(shape))
            views.append(flat[start:start + size].reshape(shape))
            start += size
        return views

    # --- the lecture's names for a dense stack ----------------------------------------------

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def layer_sizes(self) -> list[int]:
        """[n_0, n_1, ..., n_L]: the input width, then each layer's output width."""
        return list(self.widths)

    @property
    def W(self) -> tuple[np.ndarray, ...]:
        """Each Dense layer's kernel (live views)."""
        return tuple(layer.W for layer in self.dense_layers)

    @property
    def b(self) -> tuple[np.ndarray, ...]:
        """Each Dense layer's bias (live views)."""
        return tuple(layer.b for layer in self.dense_layers if layer.use_bias)

    @property
    def activations(self) -> list[activations.Activation]:
        """Each layer's activation, in order."""
        return [layer.output_activation for layer in self.layers if layer.output_activation is not None]

    # --- weights, in keras.Model.get_weights() order -------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights in ``keras.Model.get_weights()`` order: for each layer its
        parameters, then its state: ``[W1 (n0, n1), b1 (n1,), W2 (n1, n2), b2 (n2,), ...]`` for Dense layers."""
        return [w.copy() for w in self.weights]

    @property
    def weights(self) -> list[np.ndarray]:
        """The live weight arrays, in ``get_weights()`` order."""
        return [w for layer in self.layers for w in layer.params + layer.state]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load ``get_weights()``'s list (copied and cast to the network's dtype)."""
        expected = list(self._weight_shapes)
        weights = list(weights)
        if len(weights) != len(expected):
            raise ValueError(f"set_weights got {len(weights)} arrays, expected {len(expected)} with shapes {expected}")
        arrays = [np.array(w, dtype=self.dtype) for w in weights]
        for i, (w, shape) in enumerate(zip(arrays, expected)):
            if w.shape != shape:
                raise ValueError(f"set_weights: array {i} has shape {w.shape}, expected {shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"set_weights: array {i} contains NaN or inf")
        for view, w in zip(self.weights, arrays):
            view[...] = w

    @property
    def parameters(self) -> list[np.ndarray]:
        """The live trainable arrays (not copies), in ``trainable_weights`` order, which an optimizer updates in place."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def n_params(self) -> int:
        return int(self._flat.size)

    # --- inputs ----------------------------------------------------------------------------

    def check_X(self, X) -> np.ndarray:
        """X as an (m, n_0) array of the network's dtype, with m >= 1 and every value finite."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.widths[0]:
            raise ValueError(f"X must be (m, {self.widths[0]}), got shape {X.shape}")
        if len(X) == 0:
            raise ValueError("X has no examples")
        X = X.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        return X

    def check_y(self, y, m: int) -> np.ndarray:
        """y as an (m, n_L) array of the network's dtype (a vector for one output unit), finite."""
        n_out = 1 if self.loss.sparse else self.widths[-1]  # sparse targets: one class index a row
        Y = np.asarray(y)
        if Y.ndim == 1 and n_out == 1:
            Y = Y[:, None]
        if Y.shape != (m, n_out):
            raise ValueError(f"y must be ({m}, {n_out}) to match X and the output layer, got shape {np.shape(y)}")
        Y = Y.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or inf")
        return Y

    # --- the lecture's forward and backward passes -----------------------------------------

    def forward(self, X, training: bool = False, checked: bool = False) -> tuple[np.ndarray, list[dict]]:
        """Forward propagation: the output A_L (m, n_L) and each layer's cache.

        ``checked``: X is already what ``check_X`` returns (the training loop checks once).
        """
        A = X if checked else self.check_X(X)
        for layer in self.layers:
            A = layer.forward(A, training)
        return A, [layer.cache for layer in self.layers]

    def compute_loss(self, Y: np.ndarray, caches: list[dict]) -> float:
        """J = mean over the batch of the per-example loss + the layers' penalties."""
        out = caches[-1]
        if self._logits_loss:
            per_example = self.loss.per_example_from_logits(Y, out["Z"])
        else:
            per_example = self.loss.per_example(Y, out["A"])
        J = per_example.sum() / len(per_example)
        if "loss_value_floatx" in self.quirks:  # scratch.keras_compat.MODEL_QUIRKS
            J = np.float32(J).astype(self.dtype)
        penalties = [p for p in (layer.regularization_loss() for layer in self.layers) if p is not None]
        if penalties:
            J = J + sum(penalties)  # summed first, then added once, as Keras adds model.losses
        return float(J)

    def backward(self, Y, caches: list[dict], copy: bool = True) -> list[np.ndarray]:
        """Backpropagation from the caches of ``forward``: the gradients in ``get_weights()`` order.

        Output layer: dZ_L = (P - Y) / (m n_L) on the logits where Keras uses them (P is the
        cached A_L, or the loss's link of Z_L for a crossed pair), else dA_L from the loss.
        Then each layer from the last: dA_{l-1} = layer_l.backward(dA_l), the lecture's
        delta(l) = W(l+1) delta(l+1) * g'(z(l)).  ``copy=False`` returns views of the
        network's gradient buffer, which the next backward overwrites.
        """
        Y = np.asarray(Y, dtype=self.dtype)
        for layer, cache in zip(self.layers, caches):
            layer.cache = cache
        last, first = self.layers[-1], len(self.layers) == 1
        G, at_logits = self.output_gradient(Y)
        dA = (last.backward_from_logits if at_logits else last.backward)(G, need_dA_prev=not first)
        for i in reversed(range(len(self.layers) - 1)):
            dA = self.layers[i].backward(dA, need_dA_prev=i > 0)
        return [g.copy() for g in self._grad_views] if copy else list(self._grad_views)

    def output_gradient(self, Y, magnitude: bool = False):
        """Where backpropagation starts, from the last layer's cache: ``(G, at_logits)``, and with
        ``magnitude`` also the sum of |terms| of each entry of G.

        Where Keras reads the logits, G = dZ_L = (P - Y) / (m n_L) (P the cached A_L, or the loss's
        link of Z_L for a crossed pair), whose terms are |P term| + |Y term| (the gradient is
        linear in P).  Else G = dA_L from the loss, its terms the loss's ``gradient_magnitude``
        (|A| + |Y| for mean squared error) or |dA_L|."""
        Y = np.asarray(Y, dtype=self.dtype)
        out = self.layers[-1].cache
        if self._logits_loss:
            P = out["A"] if self._link is None else self._link.forward(out["Z"])
            G = self.loss.gradient_from_logits(Y, P)
            if not magnitude:
                return G, True
            y_term = self.loss.gradient_from_logits(Y, np.zeros_like(P))
            return G, True, np.abs(G - y_term) + np.abs(y_term)
        G = self.loss.gradient(Y, out["A"])
        if not magnitude:
            return G, False
        terms = self.loss.gradient_magnitude
        return G, False, terms(Y, out["A"]) if terms is not None else np.abs(G)

    def gradient_magnitudes(self, Y) -> list[np.ndarray]:
        """For each gradient of the last ``backward``, in its order: the sum of the absolute values
        of the terms that made it (``Layer.backward_magnitude``), starting from the loss gradient's
        terms, |P term| + |Y term| of dZ_L on the logits path, the loss's ``gradient_magnitude``
        where it has one (|A| + |Y| for mean squared error), or |dA_L|.  Two correct
        computations of a gradient g differ by at most about N eps times this, however much g's
        terms cancel (``scratch.tolerances.gradients``).  Reads the layers' caches."""
        Y = np.asarray(Y, dtype=self.dtype)
        last = self.layers[-1]
        _, at_logits, M_G = self.output_gradient(Y, magnitude=True)
        M, grads = (last.backward_magnitude_from_logits if at_logits else last.backward_magnitude)(M_G)
        magnitudes = [grads]
        for layer in reversed(self.layers[:-1]):
            M, grads = layer.backward_magnitude(M)
            magnitudes.append(grads)
        return [g for grads in reversed(magnitudes) for g in grads]

    def apply_gradients(self, optimizer) -> None:
        """One optimizer step on every parameter, from the gradients ``backward`` left."""
        optimizer.apply_gradients([self._flat], [self._flat_grads], self.quirks, variable_grads=self._grad_views)

    def optimizer_state(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """(iterations, {slot kind: flat slot over every parameter}) of the optimizer the network
        carries, once it has stepped this network; None before."""
        opt = self.optimizer
        if opt is None or not opt.steps([self._flat]):
            return None
        return opt.iterations, {kind: flat for kind, (flat,) in opt.slots.items()}

    def set_optimizer_state(self, iterations: int, slots: dict[str, np.ndarray]) -> None:
        """Give the carried optimizer a step count and slots, each slot flat over every parameter
        in ``get_weights()`` order (``optimizer_state``'s form)."""
        if self.optimizer is None:
            raise ValueError("the network carries no optimizer to give a state to")
        self.optimizer.set_state([self._flat], iterations, {k: [np.asarray(v)] for k, v in slots.items()})

    def step(self, X: np.ndarray, Y: np.ndarray, optimizer) -> tuple[float, np.ndarray]:
        """One training step on checked X, Y: (J before the step, the output A), as ``fit`` runs it."""
        A, caches = self.forward(X, training=True, checked=True)
        loss = self.compute_loss(Y, caches)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at optimizer step {optimizer.iterations + 1}")
        self.backward(Y, caches, copy=False)
        self.apply_gradients(optimizer)
        return loss, A

    # --- the public API the harness calls --------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """The network's output for X (m, n_0), in inference mode: A_L (m, n_L).

        The values of ``forward(X)[0]``, by each layer's shortest path (``Layer.infer``: no
        caches kept, g written over a Dense layer's fresh Z).  X is checked as everywhere: its
        scan for NaN and inf costs 2-3 % of a 784-512-256-10 pass (1 us at batch 1, 50 us at
        1024, float32), and an inf that a ReLU would turn into a finite output is still refused.
        """
        A = self.check_X(X)
        for layer in self.layers:
            A = layer.infer(A)
        return A

    def loss_and_gradients(self, X, y) -> tuple[float, list[np.ndarray]]:
        """(J, gradients) for the batch X (m, n_0), y (m, n_L), in training mode as ``fit`` runs it,
        the gradients in ``get_weights()`` order (Keras's ``trainable_weights``)."""
        A, caches = self.forward(X, training=True)
        Y = self.check_y(y, len(A))
        return self.compute_loss(Y, caches), self.backward(Y, caches)

    def use_optimizer(self, optimizer=None) -> optimizers.Optimizer:
        """The optimizer to step with: an instance as given; for a name, the network's own.

        As ``model.compile`` does, a name makes one optimizer that the network keeps, so that
        its slots and step count carry over from call to call; a different name replaces it.
        None is the network's own, or Adam's defaults when it has none.
        """
        if isinstance(optimizer, optimizers.Optimizer):
            return optimizer
        if optimizer is None:
            if self.optimizer is None:
                self.optimizer = optimizers.get("adam")
            return self.optimizer
        made = optimizers.get(optimizer)
        if self.optimizer is None or self.optimizer.name != made.name:
            self.optimizer = made
        return self.optimizer

    def train_on_batch(self, X, y, optimizer=None) -> float:
        """One optimizer step on the batch; returns the loss J computed before the step, as Keras does.

        ``optimizer`` is a ``scratch.optimizers.Optimizer``, a name, or None for the network's
        own (see ``use_optimizer``).
        """
        X = self.check_X(X)
        return self.step(X, self.check_y(y, len(X)), self.use_optimizer(optimizer))[0]

    def cost(self, X, y) -> float:
        """J for the batch X, y, without the gradients."""
        A, caches = self.forward(X)
        return self.compute_loss(self.check_y(y, len(A)), caches)

    # --- config ------------------------------------------------------------------------------

    def save(self, path: str, overwrite: bool = False) -> None:
        """One ``.npz`` file: the config as JSON, the weights and the optimizer's state, no pickle
        (``scratch.saving``); ``scratch.load(path)`` reads it back with NumPy alone."""
        from scratch.saving import save
        save(self, path, overwrite)

    def get_config(self) -> dict:
        """Everything but the weights, as JSON-able values: ``Network.from_config`` rebuilds it."""
        return {
            "layers": [{"class_name": "Input", "config": {"units": self.widths[0]}}]
                      + [layer_config(layer) for layer in self.layers],
            "loss": losses.get_config(self.loss),
            "dtype": self.dtype,
            "keras_compat": sorted(self.quirks),
            "optimizer": None if self.optimizer is None else optimizers.get_config(self.optimizer),
        }

    @classmethod
    def from_config(cls, config: dict) -> "Network":
        """The network ``get_config`` described, with freshly drawn weights (``set_weights`` loads others)."""
        if not isinstance(config, dict) or "layers" not in config:
            raise ValueError(f"a network config is a dict with 'layers', 'loss', 'dtype', got {config!r:.80}")
        specs = list(config["layers"])
        if not specs or specs[0].get("class_name") != "Input":
            raise ValueError("a network config's layers must start with Input")
        layers = [Input(**specs[0]["config"])] + [layer_from_config(spec) for spec in specs[1:]]
        optimizer = config.get("optimizer")
        return cls(layers=layers, loss=config.get("loss", "binary_crossentropy"),
                   dtype=config.get("dtype", "float32"), keras_compat=config.get("keras_compat", True),
                   optimizer=None if optimizer is None else optimizers.from_config(optimizer))

    def __repr__(self) -> str:
        layers = ", ".join([repr(self.input_layer)] + [layer.summary() for layer in self.layers])
        return f"Network([{layers}], loss={self.loss.name}, dtype={self.dtype})"
