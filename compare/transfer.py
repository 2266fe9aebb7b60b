"""Weight transfer between a ``keras.Model`` and a ``scratch.Network``, in both directions.

Both sides keep ``[kernel (n_in, n_out), bias (n_out,), ...]``, so the transfer is a checked
copy: same count, same shapes, values cast to the receiving side's dtype.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import scratch

if TYPE_CHECKING:
    import keras


def _check_same_layout(source: list[np.ndarray], target: list[np.ndarray], direction: str) -> None:
    src = [w.shape for w in source]
    dst = [tuple(w.shape) for w in target]
    if src != dst:
        raise ValueError(f"{direction}: weight shapes {src} do not fit {dst}")


def keras_to_scratch(model: keras.Model, net: scratch.Network) -> None:
    """Copy the Keras model's weights into the scratch network."""
    weights = model.get_weights()
    _check_same_layout(weights, net.get_weights(), "keras -> scratch")
    net.set_weights(weights)


def scratch_to_keras(net: scratch.Network, model: keras.Model) -> None:
    """Copy the scratch network's weights into the Keras model."""
    weights = net.get_weights()
    _check_same_layout(weights, model.get_weights(), "scratch -> keras")
    model.set_weights([w.astype(v.dtype) for w, v in zip(weights, model.weights)])
