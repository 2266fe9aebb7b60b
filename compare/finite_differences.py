"""Central finite differences: the limit definition of the derivative, on the scratch side.

dJ/dtheta ~= (J(theta + h) - J(theta - h)) / (2 h), one weight at a time, in float64.
The error is O(h^2) in the truncation and O(eps J / h) in rounding.  On the lecture's
4-6-1 network h = 1e-5 keeps both near 1e-8 relative even for the tiny gradients of the
``uniform`` and ``normal`` modes (h = 1e-6 reaches 1e-7 there, h = 1e-4 fails outright).
An error that both backprop implementations shared would show here, since this leg never
uses a derivative formula.

Kinks: where a ReLU's input Z sits within h of 0 (exactly 0 is common: a zero-initialised
layer, or a unit whose inputs are all dead ReLUs and whose bias is 0), the two evaluations
fall on both sides of the kink and the difference is the mean of the two one-sided slopes,
not the derivative TensorFlow and the scratch side use.  Such entries are found by
comparing which units are active at theta + h and theta - h, and left out of the
comparison; the report counts them.
"""
from __future__ import annotations

import numpy as np

import scratch


def _active(net: scratch.Network, X) -> list[np.ndarray]:
    """Which piece of its activation each pre-activation lies on, for every layer whose activation
    has kinks (``Activation.piece``: relu's one at 0, relu6's at 0 and 6, ...)."""
    net.forward(X)
    return [layer.output_activation.piece(layer.cache["Z"]) for layer in net.layers
            if layer.output_activation is not None and layer.output_activation.kink]


def central_differences(net: scratch.Network, X, y, h: float = 1e-5):
    """(dJ/dw for every weight at the current weights, masks of the entries that straddle a kink).

    Both lists follow ``get_weights()`` order.
    """
    if net.dtype != "float64":
        raise ValueError(f"finite differences need a float64 network (h = {h} is lost to float32 rounding), "
                         f"got {net.dtype}")
    weights = net.get_weights()
    has_kinks = any(g.kink for g in net.activations)  # every layer's activation, in order
    grads, kinks = [], []
    try:
        for w in weights:
            g = np.zeros(w.shape, dtype=np.float64)
            kink = np.zeros(w.shape, dtype=bool)
            for idx in np.ndindex(w.shape):
                original = w[idx]
                J = []
                active = []
                for step in (h, -h):
                    w[idx] = original + step
                    net.set_weights(weights)
                    J.append(net.cost(X, y))
                    if has_kinks:
                        active.append(_active(net, X))
                w[idx] = original
                g[idx] = (J[0] - J[1]) / (2 * h)
                if has_kinks:
                    kink[idx] = any((a != b).any() for a, b in zip(*active))
            grads.append(g)
            kinks.append(kink)
    finally:
        net.set_weights(weights)
    return grads, kinks
