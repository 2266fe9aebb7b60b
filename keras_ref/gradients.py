"""Loss and gradients as ``model.fit`` computes them, traced once per model."""
from __future__ import annotations

import numpy as np

from keras_ref.quiet import tensorflow

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow's quiet start)

def _trace(model: keras.Model):
    """The body of Keras's TensorFlow ``train_step`` up to the gradients, as one ``tf.function``.

    ``y_pred = model(x, training=True)``, ``loss = model.compute_loss(...)`` (the compiled
    loss plus the regularisation losses), ``loss = optimizer.scale_loss(loss)``, and the
    tape's gradient with respect to ``model.trainable_weights``.  The optimizer step is
    left out.  The signature leaves the batch size free, so one trace serves every batch.
    """
    dtype = model.inputs[0].dtype
    spec = [tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), dtype),
            tf.TensorSpec((None, target_width(model)), dtype)]

    @tf.function(input_signature=spec)
    def step(x, y):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None, training=True)
            scaled = model.optimizer.scale_loss(loss) if model.optimizer is not None else loss
        return y_pred, loss, tape.gradient(scaled, model.trainable_weights)

    return step


def target_width(model: keras.Model) -> int:
    """Columns of y: the output's width, or 1 (a class index a row) for a sparse loss."""
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else type(loss).__name__
    sparse = name in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy") or (
        getattr(getattr(loss, "fn", None), "__name__", "") == "sparse_categorical_crossentropy")
    return 1 if sparse else int(model.outputs[0].shape[-1])


def _as_batch(model: keras.Model, X, y):
    n_in = model.inputs[0].shape[-1]
    n_out = target_width(model)
    dtype = model.inputs[0].dtype
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != n_in or len(X) == 0:
        raise ValueError(f"X must be (m, {n_in}) with m >= 1, got shape {X.shape}")
    Y = np.asarray(y)
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.shape != (len(X), n_out):
        raise ValueError(f"y must be ({len(X)}, {n_out}) to match X and the output layer, got shape {np.shape(y)}")
    X, Y = X.astype(dtype), Y.astype(dtype)
    for name, a in (("X", X), ("y", Y)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf (in {dtype})")
    return X, Y


def traced_step(model: keras.Model):
    """The model's traced step, made once per compile: a recompile (new loss or optimizer) retraces."""
    key = (id(model.loss), id(model.optimizer))
    cached = getattr(model, "_keras_ref_step", None)
    if cached is None or cached[0] != key:
        cached = model._keras_ref_step = (key, _trace(model))
    return cached[1]


def output_loss_and_gradients(model: keras.Model, X, y) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """(output, loss, [dkernel_1, dbias_1, ...]) for one batch, gradients in ``model.trainable_weights``
    order (which is ``get_weights()`` order for a model without non-trainable weights).

    Computed with ``tf.GradientTape`` on exactly the compiled loss plus the model's
    regularisation losses, in a ``tf.function`` as ``model.fit`` runs it.  X and y are used
    in the model's dtype as given.  (``fit`` and ``predict`` themselves cast float NumPy
    arrays that are not ``floatx()`` to float32 first, even for a float64 model; feed
    float32-representable data when the two must coincide.)
    """
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError("model is not compiled with a loss; call model.compile(loss=...) first")
    X, Y = _as_batch(model, X, y)
    output, loss, grads = traced_step(model)(tf.constant(X), tf.constant(Y))
    return output.numpy(), float(loss), [g.numpy() for g in grads]


def loss_and_gradients(model: keras.Model, X, y) -> tuple[float, list[np.ndarray]]:
    """(loss, [dkernel_1, dbias_1, ...]) as ``model.fit`` computes them for one batch.

    See ``output_loss_and_gradients``; this is the same call without the output.
    """
    _, loss, grads = output_loss_and_gradients(model, X, y)
    return loss, grads
