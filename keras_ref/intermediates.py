"""Keras's side of a training pass, layer by layer: every Z, A, dA, dZ and parameter gradient.

The model's layers are run one at a time, under one ``tf.GradientTape``, with the model's own
weights.  A Dense layer is split into its linear part, ``Z = ops.add(ops.matmul(A_prev, kernel),
bias)`` as ``Dense.call`` computes it, and its activation, ``A = layer.activation(Z)``: that
call attaches the logits to a sigmoid or softmax output on TensorFlow, so the compiled loss
reads them exactly as it does in ``fit``.  Every other layer is called as it is in training
(``layer(A_prev, training=True)``).  The loss is ``model.compute_loss`` (the compiled loss plus
the regularisation losses).  Then the tape gives dJ/dA and dJ/dZ for each layer and the
gradient of each trainable weight.

Names as ``scratch.intermediates`` gives them (layer l counted from 1 over the model's layers,
the input left out): ``Z{l}``, ``A{l}``, ``loss``, ``dA{l}``, ``dZ{l}``, ``dW{l}``, ``db{l}``,
``dgamma{l}``, ``dbeta{l}``.  dA of the output is absent where the loss reads its logits, as
there no path leads from the loss to A.  A normalization's x̂ and a Dropout layer's mask,
which Keras computes inside the layer, are read beside it (``side_quantities``).

Running the layers in training mode has their side effects: a BatchNormalization layer
updates its moving statistics, and Dropout draws its next masks.
"""
from __future__ import annotations

import numpy as np

from keras_ref.gradients import _as_batch
from keras_ref.quiet import tensorflow

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow's quiet start)

PARAMETERS = {"kernel": "W", "bias": "b", "gamma": "gamma", "beta": "beta"}


def chain(model) -> list:
    """The model's layers in the order data flows through them, the input layer left out."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def side_quantities(layer, A_prev, l: int) -> dict[str, np.ndarray]:
    """What a layer computes inside itself, in training mode, read without changing what it does:

    - a normalization's x̂ = (A_prev - mean) / sqrt(var + epsilon), from ``keras.ops.moments`` over
      the batch (BatchNormalization) or the features (LayerNormalization), as the layer takes them;
    - a Dropout layer's mask (1 where a unit is kept): a dropout of ones drawn with the layer's
      seed generator, which is then set back, so the layer draws the same mask.
    """
    if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.LayerNormalization)):
        axes = [0] if isinstance(layer, keras.layers.BatchNormalization) else [-1]
        mean, var = keras.ops.moments(A_prev, axes=axes, keepdims=True)
        xhat = (A_prev - mean) * keras.ops.rsqrt(var + keras.ops.cast(layer.epsilon, A_prev.dtype))
        return {f"xhat{l}": keras.ops.convert_to_numpy(xhat)}
    if isinstance(layer, keras.layers.Dropout) and layer.rate > 0:
        state = layer.seed_generator.state
        saved = np.asarray(state.value)
        ones = keras.ops.ones(A_prev.shape, dtype=A_prev.dtype)
        mask = np.asarray(keras.random.dropout(ones, layer.rate, seed=layer.seed_generator)) != 0
        state.assign(saved)
        return {f"mask{l}": mask.astype(A_prev.dtype.name if hasattr(A_prev.dtype, "name") else A_prev.dtype)}
    return {}


def layer_by_layer(model, X, y, input_gradient: bool = False) -> dict[str, np.ndarray]:
    """The named quantities of one training pass on (X, y), in data-flow order; with
    ``input_gradient``, also ``dA0``, the gradient with respect to X."""
    X, Y = _as_batch(model, X, y)
    x, y_true = tf.constant(X), tf.constant(Y)
    forward, parameters, seen = {}, {}, {}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        A = x
        for l, layer in enumerate(chain(model), 1):
            if isinstance(layer, keras.layers.Dense):
                Z = keras.ops.matmul(A, layer.kernel)
                if layer.bias is not None:
                    Z = keras.ops.add(Z, layer.bias)
                forward[f"Z{l}"] = Z
                A = layer.activation(Z)
            else:
                seen.update(side_quantities(layer, A, l))
                A = layer(A, training=True)
            forward[f"A{l}"] = A
            parameters[l] = [(f"d{PARAMETERS.get(w.name, w.name)}{l}", w) for w in layer.trainable_weights]
        loss = model.compute_loss(x=x, y=y_true, y_pred=A, sample_weight=None, training=True)
    values = {name: t.numpy() for name, t in forward.items()} | seen
    values["loss"] = np.asarray(float(loss))
    layers = chain(model)
    for l in range(len(layers), 0, -1):
        for name in (f"dA{l}", f"dZ{l}"):
            tensor = forward.get(name[1:])
            if tensor is not None:
                grad = tape.gradient(loss, tensor)
                if grad is not None:  # no dA of an output whose logits the loss reads
                    values[name] = grad.numpy()
        for name, weight in parameters[l]:
            values[name] = tape.gradient(loss, weight).numpy()
    if input_gradient:
        values["dA0"] = tape.gradient(loss, x).numpy()
    del tape
    return values
