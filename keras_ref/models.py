"""Keras twins of ``scratch.Network``: the same keywords, the same defaults, the same layout."""
from __future__ import annotations

import contextlib
from typing import Sequence

import numpy as np

from keras_ref.names import (  # noqa: F401  (re-exported)
    DTYPES, HIDDEN_ACTIVATIONS, INIT_MODES, LEAKY_RELU_SLOPE, LOSSES, OUTPUT_ACTIVATIONS,
)
from keras_ref.quiet import tensorflow

tensorflow()
import keras  # noqa: E402  (after TensorFlow's quiet start)

LOSS_CLASSES = {
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
}
assert tuple(LOSS_CLASSES) == LOSSES


@keras.saving.register_keras_serializable(package="keras_ref")
def leaky_relu(x):
    """max(0.01 x, x): the lecture's slope, through ``keras.activations.leaky_relu``."""
    return keras.activations.leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE)


def _check_choice(kind: str, value, valid: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")
    return value


def _check_seed(seed) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be None or an integer >= 0, got {seed!r}")


def _check_layer_sizes(layer_sizes) -> list[int]:
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__iter__"):
        raise ValueError(f"layer_sizes must be a list of integers, got {layer_sizes!r}")
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two sizes (inputs, outputs), got {sizes!r}")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"layer size {n!r} in {sizes!r} is not an integer >= 1")
    return [int(n) for n in sizes]


def _activation(name: str):
    return leaky_relu if name == "leaky_relu" else name


def kernel_initializer(init_mode: str, seed: int | None = None, layer: int = 1):
    """Keras's own initializer for ``init_mode``, seeded with ``seed + layer`` when ``seed`` is given."""
    _check_choice("init_mode", init_mode, INIT_MODES)
    init = keras.initializers.get(init_mode)
    config = init.get_config()
    if seed is not None and "seed" in config:
        config["seed"] = seed + layer
        init = init.__class__.from_config(config)
    return init


@contextlib.contextmanager
def _floatx(dtype: str):
    """``keras.config.floatx()`` set to ``dtype`` inside the block and restored after it."""
    saved = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(saved)


def compile_model(model: keras.Model, loss: str, dtype: str, optimizer="adam", metrics=("accuracy",)) -> None:
    """``model.compile(loss=loss, optimizer=optimizer, metrics=[...])``, kept in ``dtype``.

    In float32 this is exactly ``compile(loss='binary_crossentropy', optimizer='adam',
    metrics=['accuracy'])``.  In float64 it cannot be: Keras computes a loss given by name
    in ``floatx()`` (float32), so it casts a float64 model's output to float32, drops the
    sigmoid's logits on the way and takes the clipped-probability formula; and the compiled
    loss (float32) cannot be added to a float64 L2 penalty, so ``fit`` raises TypeError.
    A float64 model therefore gets the loss object with ``dtype="float64"``, compiled
    while ``floatx()`` is float64, so that the whole loss stays in float64.  The optimizer
    is made before that, as a plain ``compile`` makes it: its learning rate stays in a
    float32 variable (a rounding that ``scratch.keras_compat`` reproduces).
    """
    _check_choice("loss", loss, LOSSES)
    _check_choice("dtype", dtype, DTYPES)
    loss_obj = loss if dtype == keras.config.floatx() else LOSS_CLASSES[loss](dtype=dtype)
    optimizer = keras.optimizers.get(optimizer)
    with _floatx(dtype):
        model.compile(loss=loss_obj, optimizer=optimizer, metrics=list(metrics))


def initial_weights(layer_sizes: Sequence[int], init_mode: str, seed: int | None = None,
                    dtype: str = "float32") -> list[np.ndarray]:
    """Fresh ``[kernel_1, bias_1, ...]`` drawn as ``build_model`` draws them, without a new model.

    With a seed these are exactly the weights of ``build_model(..., init_mode, seed, dtype)``.
    """
    sizes = _check_layer_sizes(layer_sizes)
    _check_choice("dtype", dtype, DTYPES)
    _check_seed(seed)
    weights = []
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        W = kernel_initializer(init_mode, seed, layer)((n_in, n_out), dtype=dtype)
        weights += [np.asarray(W), np.zeros(n_out, dtype=dtype)]
    return weights


def build_model(
    layer_sizes: Sequence[int],
    hidden_activation: str = "sigmoid",
    output_activation: str = "sigmoid",
    loss: str = "binary_crossentropy",
    init_mode: str = "glorot_uniform",
    l2: float = 0.0,
    seed: int | None = None,
    dtype: str = "float32",
    compiled: bool = True,
) -> keras.Model:
    """A compiled dense ``keras.Model``: Input(n_0) -> Dense(n_1, hidden) -> ... -> Dense(n_L, output).

    Kernels are drawn by ``init_mode`` (``keras.initializers.get``), biases start at zero,
    kernels carry ``L2(l2)`` when ``l2 > 0``.  Compiled with ``optimizer='adam'`` and
    ``metrics=['accuracy']`` (see ``compile_model`` for float64); not ``compiled``, the same
    layers and draws, for a caller that compiles it its own way or only reads its weights.
    """
    sizes = _check_layer_sizes(layer_sizes)
    _check_choice("hidden_activation", hidden_activation, HIDDEN_ACTIVATIONS)
    _check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    _check_choice("loss", loss, LOSSES)
    _check_choice("init_mode", init_mode, INIT_MODES)
    _check_choice("dtype", dtype, DTYPES)
    _check_seed(seed)
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.floating)) or not (l2 >= 0) or not np.isfinite(l2):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")

    inputs = keras.Input(shape=(sizes[0],), dtype=dtype, name="X")
    A = inputs
    n_layers = len(sizes) - 1
    for layer, n_out in enumerate(sizes[1:], start=1):
        A = keras.layers.Dense(
            n_out,
            activation=_activation(output_activation if layer == n_layers else hidden_activation),
            kernel_initializer=kernel_initializer(init_mode, seed, layer),
            bias_initializer="zeros",
            kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
            dtype=dtype,
            name="output" if layer == n_layers else f"hidden_{layer}",
        )(A)
    model = keras.Model(inputs, A, name="dense_" + "_".join(map(str, sizes)))
    if compiled:
        compile_model(model, loss, dtype)
    return model
