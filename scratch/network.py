"""A dense network by hand: the lecture's forward propagation and backpropagation in NumPy."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from scratch import activations, initializers, losses, optimizers
from scratch.keras_compat import KerasCompat, float32_constant, reads_logits, resolve
from scratch.layers import activation_backward, dense_backward, dense_forward
from scratch.regularizers import l2_penalty

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
    """A dense network:  A0 = X,  Z_l = A_{l-1} @ W_l + b_l,  A_l = g_l(Z_l).

    ``layer_sizes = [n_0, n_1, ..., n_L]``: W_l is (n_{l-1}, n_l) and b_l is (n_l,), the layout
    of the lecture's W(1) (4 x 6) and of Keras's kernels.  Hidden layers use
    ``hidden_activation``, the last one ``output_activation``.  The cost is

        J = 1/m sum_i loss(y_i, a_i) + l2 sum_l sum(W_l^2)

    (Keras's ``kernel_regularizer=L2(l2)``; see ``scratch.regularizers`` for the lecture's
    lambda / (2 m)).  ``keras_compat`` applies Keras-on-TensorFlow's float32 roundings of
    constants and more (``scratch.keras_compat``): True for all, False for none, or the
    names of the quirks to reproduce.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        hidden_activation: str = "sigmoid",
        output_activation: str = "sigmoid",
        loss: str = "binary_crossentropy",
        init_mode: str = "glorot_uniform",
        l2: float = 0.0,
        seed: int | None = None,
        dtype: str = "float32",
        keras_compat: KerasCompat = True,
    ):
        self.layer_sizes = check_layer_sizes(layer_sizes)
        check_choice("hidden_activation", hidden_activation, activations.HIDDEN_ACTIVATIONS)
        check_choice("output_activation", output_activation, tuple(activations.ACTIVATIONS))
        self.loss = losses.get(loss)
        init = initializers.get(init_mode)
        self.dtype = check_choice("dtype", dtype, DTYPES)
        self.l2 = check_l2(l2)
        self.quirks = resolve(keras_compat)
        self.init_mode = init_mode

        slope = float32_constant(activations.LEAKY_RELU_SLOPE, "leaky_relu_slope" in self.quirks)
        self.activations = [
            activations.get(hidden_activation, negative_slope=slope)
            for _ in self.layer_sizes[2:]
        ] + [activations.get(output_activation, negative_slope=slope)]
        self.optimizer: optimizers.Optimizer | None = None  # what a name given to train_on_batch/fit makes
        self._l2_factor = float32_constant(self.l2, "l2_factor" in self.quirks)
        self._logits_loss = reads_logits(self.loss.logits_of, output_activation, "crossed_logits" in self.quirks)
        # P = link(Z) for the logits path: the cached A itself unless the pair is crossed
        self._link = (activations.get(self.loss.logits_of)
                      if self._logits_loss and self.loss.logits_of != output_activation else None)

        check_seed(seed)
        rng = np.random.default_rng(seed)
        # All parameters live in one flat buffer, W and b are views into it, and the gradients
        # in a twin buffer: an optimizer then updates everything with a handful of NumPy calls.
        shapes = [s for n_in, n_out in zip(self.layer_sizes, self.layer_sizes[1:]) for s in ((n_in, n_out), (n_out,))]
        self._flat = np.zeros(sum(int(np.prod(s)) for s in shapes), dtype=dtype)
        self._flat_grads = np.zeros_like(self._flat)
        views, grad_views = self.unflatten(self._flat), self.unflatten(self._flat_grads)
        # tuples: W[l] = ... would detach a layer from the buffer the optimizer steps; set_weights copies in
        self.W, self.b = tuple(views[0::2]), tuple(views[1::2])
        self._dW, self._db = tuple(grad_views[0::2]), tuple(grad_views[1::2])
        for W in self.W:
            W[...] = init(W.shape, rng, dtype)

    def unflatten(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of a flat parameter-sized array as ``[W1 (n0, n1), b1 (n1,), ...]``."""
        views, start = [], 0
        for n_in, n_out in zip(self.layer_sizes, self.layer_sizes[1:]):
            views.append(flat[start:start + n_in * n_out].reshape(n_in, n_out))
            start += n_in * n_out
            views.append(flat[start:start + n_out])
            start += n_out
        return views

    # --- weights, in keras.Model.get_weights() order -------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``[W1 (n0, n1), b1 (n1,), W2 (n1, n2), b2 (n2,), ...]``."""
        return [p.copy() for Wb in zip(self.W, self.b) for p in Wb]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load ``[W1, b1, W2, b2, ...]`` (copied and cast to the network's dtype)."""
        expected = [p.shape for Wb in zip(self.W, self.b) for p in Wb]
        weights = list(weights)
        if len(weights) != len(expected):
            raise ValueError(f"set_weights got {len(weights)} arrays, expected {len(expected)} with shapes {expected}")
        arrays = [np.array(w, dtype=self.dtype) for w in weights]
        for i, (w, shape) in enumerate(zip(arrays, expected)):
            if w.shape != shape:
                raise ValueError(f"set_weights: array {i} has shape {w.shape}, expected {shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"set_weights: array {i} contains NaN or inf")
        for view, w in zip(self.parameters, arrays):
            view[...] = w

    @property
    def parameters(self) -> list[np.ndarray]:
        """The live ``[W1, b1, W2, b2, ...]`` arrays (not copies), which an optimizer updates in place."""
        return [p for Wb in zip(self.W, self.b) for p in Wb]

    @property
    def n_params(self) -> int:
        return sum(W.size + b.size for W, b in zip(self.W, self.b))

    # --- inputs ----------------------------------------------------------------------------

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must be (m, {self.layer_sizes[0]}), got shape {X.shape}")
        if len(X) == 0:
            raise ValueError("X has no examples")
        X = X.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        return X

    def _check_y(self, y, m: int) -> np.ndarray:
        n_out = self.layer_sizes[-1]
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

    def forward(self, X) -> tuple[np.ndarray, list[dict]]:
        """Forward propagation: the output A_L (m, n_L) and one cache per layer."""
        return self._forward(self._check_X(X))

    def _forward(self, A: np.ndarray) -> tuple[np.ndarray, list[dict]]:
        """``forward`` for an input already checked and in the network's dtype."""
        caches = []
        for W, b, g in zip(self.W, self.b, self.activations):
            A, cache = dense_forward(A, W, b, g)
            caches.append(cache)
        return A, caches

    def _cost(self, Y: np.ndarray, caches: list[dict]) -> float:
        """J = mean over the batch of the per-example loss + the L2 penalty."""
        out = caches[-1]
        if self._logits_loss:
            per_example = self.loss.per_example_from_logits(Y, out["Z"])
        else:
            per_example = self.loss.per_example(Y, out["A"])
        J = per_example.sum() / len(per_example)
        if self.l2:
            J = J + l2_penalty(self.W, self._l2_factor)
        return float(J)

    def backward(self, Y: np.ndarray, caches: list[dict]) -> list[np.ndarray]:
        """Backpropagation: ``[dW1, db1, dW2, db2, ...]`` (new arrays) from the caches of ``forward``."""
        self._backward(np.asarray(Y, dtype=self.dtype), caches)
        return [g.copy() for g in self.unflatten(self._flat_grads)]

    def _backward(self, Y: np.ndarray, caches: list[dict]) -> None:
        """Backpropagation into the flat gradient buffer (its views ``_dW``, ``_db``).

        Output layer: dZ_L = (P - Y) / (m n_L) on the logits where Keras uses them (P is the
        cached A_L, or the loss's link of Z_L for a crossed pair), else dZ_L = dA_L * g'(Z_L).
        Hidden layers: dZ_l = (dZ_{l+1} @ W_{l+1}^T) * g'(Z_l), the lecture's
        delta(l) = W(l+1) delta(l+1) * g'(z(l)).  L2 adds 2 l2 W_l to dW_l.
        """
        out = caches[-1]
        if self._logits_loss:
            P = out["A"] if self._link is None else self._link.forward(out["Z"])
            dZ = self.loss.gradient_from_logits(Y, P)
        else:
            dZ = activation_backward(self.loss.gradient(Y, out["A"]), out, self.activations[-1])
        for layer in reversed(range(len(self.W))):
            dA_prev, dW, _ = dense_backward(dZ, caches[layer], self.W[layer], need_dA_prev=layer > 0,
                                            dW=self._dW[layer], db=self._db[layer])
            if self.l2:
                dW += (2 * np.asarray(self._l2_factor, self.dtype)) * self.W[layer]
            if layer > 0:
                dZ = activation_backward(dA_prev, caches[layer - 1], self.activations[layer - 1])

    # --- the public API the harness calls --------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """The network's output for X (m, n_0): A_L (m, n_L)."""
        return self.forward(X)[0]

    def loss_and_gradients(self, X, y) -> tuple[float, list[np.ndarray]]:
        """(J, [dW1, db1, ...]) for the batch X (m, n_0), y (m, n_L), in ``get_weights()`` order."""
        A, caches = self.forward(X)
        Y = self._check_y(y, len(A))
        return self._cost(Y, caches), self.backward(Y, caches)

    def use_optimizer(self, optimizer) -> optimizers.Optimizer:
        """The optimizer to step with: an instance as given, or for a name the network's own.

        As ``model.compile`` does, a name makes one optimizer that the network keeps, so that
        its slots and step count carry over from call to call; a different name replaces it.
        """
        if isinstance(optimizer, optimizers.Optimizer):
            return optimizer
        made = optimizers.get(optimizer)
        if self.optimizer is None or self.optimizer.name != made.name:
            self.optimizer = made
        return self.optimizer

    def train_on_batch(self, X, y, optimizer="adam") -> float:
        """One optimizer step on the batch; returns the loss J computed before the step, as Keras does.

        ``optimizer`` is a ``scratch.optimizers.Optimizer`` or a name (see ``use_optimizer``).
        """
        X = self._check_X(X)
        return self._train_step(X, self._check_y(y, len(X)), self.use_optimizer(optimizer))[0]

    def _train_step(self, X: np.ndarray, Y: np.ndarray, optimizer) -> tuple[float, np.ndarray]:
        """(J before the step, the output A) for checked X, Y; the step itself updates in place."""
        A, caches = self._forward(X)
        loss = self._cost(Y, caches)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at optimizer step {optimizer.iterations + 1}")
        self._backward(Y, caches)
        optimizer.apply_gradients([self._flat], [self._flat_grads], self.quirks)
        return loss, A

    def cost(self, X, y) -> float:
        """J for the batch X, y, without the gradients."""
        A, caches = self.forward(X)
        return self._cost(self._check_y(y, len(A)), caches)

    def __repr__(self) -> str:
        acts = "-".join(g.name for g in self.activations)
        return (f"Network({self.layer_sizes}, activations={acts}, loss={self.loss.name}, "
                f"l2={self.l2}, dtype={self.dtype})")
