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


class L2:
    """penalty = l2 sum(W^2);   gradient = 2 l2 W           (Keras's ``regularizers.L2``)

    Keras computes ``ops.cast(self.l2, x.dtype) * sum(x^2)``, and ``ops.cast`` first makes a
    float32 tensor of the Python float: a float64 model's factor is float32(l2) (the
    ``l2_factor`` quirk, applied by ``for_dtype``).
    """

    def __init__(self, l2: float = 0.01):
        if isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating)) or not 0 <= l2 < np.inf:
            raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
        self.l2 = float(l2)
        self.factor = self.l2  # as the layer's dtype sees it, once built

    def for_dtype(self, dtype: str, quirks: frozenset) -> "L2":
        built = L2(self.l2)
        rounded = dtype == "float64" and "l2_factor" in quirks
        built.factor = float(np.float32(self.l2)) if rounded else self.l2
        return built

    def __call__(self, W: np.ndarray):
        return np.asarray(self.factor, W.dtype) * np.sum(W * W)

    def gradient(self, W: np.ndarray) -> np.ndarray:
        return (2 * np.asarray(self.factor, W.dtype)) * W

    def get_config(self) -> dict:
        return {"l2": self.l2}


#: Regularizers by Keras's class name.
REGULARIZERS = {"L2": L2}


def get(spec):
    """A regularizer from None, an instance, or ``{"class_name", "config"}``."""
    if spec is None or isinstance(spec, tuple(REGULARIZERS.values())):
        return spec
    if isinstance(spec, dict) and spec.get("class_name") in REGULARIZERS:
        return REGULARIZERS[spec["class_name"]](**spec.get("config", {}))
    raise ValueError(f"unknown regularizer {spec!r}; valid: None, {', '.join(REGULARIZERS)}")


def get_config(regularizer) -> dict | None:
    if regularizer is None:
        return None
    names = {cls: name for name, cls in REGULARIZERS.items()}
    return {"class_name": names[type(regularizer)], "config": regularizer.get_config()}
