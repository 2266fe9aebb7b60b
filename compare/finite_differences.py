"""Central finite differences: the limit definition of the derivative, on the scratch side.

dJ/dtheta ~= (J(theta + h) - J(theta - h)) / (2 h), one weight at a time, in float64.
The error is O(h^2) in the truncation and O(eps J / h) in rounding.  On the lecture's
4-6-1 network h = 1e-5 keeps both near 1e-8 relative even for the tiny gradients of the
``uniform`` and ``normal`` modes (h = 1e-6 reaches 1e-7 there, h = 1e-4 fails outright).
A ReLU unit whose Z lies within h of 0 for some example would make the difference
straddle the kink; with continuous random data that has probability around 1e-3.  An error that both backprop
implementations shared would show here, since this leg never uses a derivative formula.
"""
from __future__ import annotations

import numpy as np

import scratch


def central_differences(net: scratch.Network, X, y, h: float = 1e-5) -> list[np.ndarray]:
    """dJ/dw for every weight of ``net`` at its current weights, in ``get_weights()`` order."""
    weights = net.get_weights()
    grads = []
    try:
        for w in weights:
            g = np.zeros(w.shape, dtype=np.float64)
            for idx in np.ndindex(w.shape):
                original = w[idx]
                w[idx] = original + h
                net.set_weights(weights)
                J_plus = net.cost(X, y)
                w[idx] = original - h
                net.set_weights(weights)
                J_minus = net.cost(X, y)
                w[idx] = original
                g[idx] = (J_plus - J_minus) / (2 * h)
            grads.append(g)
    finally:
        net.set_weights(weights)
    return grads
