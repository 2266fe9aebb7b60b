"""L2 weight decay on kernels, as the lecture writes it and as Keras spells it.

The lecture's cost adds  lambda / (2 m) * sum over every kernel entry theta^2.
Keras's ``kernel_regularizer=L2(l2)`` adds  l2 * sum(W^2)  for each kernel, to the batch
loss, without dividing by anything.  The two are the same penalty when

    l2 = lambda / (2 m)

with m the number of examples the lecture's cost averages over (for mini-batch training in
Keras, the penalty is added once per batch, whatever the batch size).  Biases are not
regularised on either side.  The gradient of the penalty is dW += 2 l2 W = (lambda / m) W.
"""
from __future__ import annotations

import numpy as np


def l2_from_lambda(lam: float, m: int) -> float:
    """Keras's ``l2`` factor for the lecture's lambda / (2 m)."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.integer, np.floating)) or not 0 <= lam < np.inf:
        raise ValueError(f"lambda must be a finite number >= 0, got {lam!r}")
    return lam / (2 * m)


def l2_penalty(kernels, l2: float):
    """sum over kernels of l2 * sum(W^2), one term per kernel in the kernels' dtype, as Keras adds them."""
    return sum(np.asarray(l2, W.dtype) * np.sum(W * W) for W in kernels)
