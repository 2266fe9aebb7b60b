"""Kernel initializers with Keras 3's semantics, keyed by the eight ``init_mode`` names.

Each entry is ``init(shape, rng, dtype) -> W`` with ``shape = (n_in, n_out)`` and draws
from the injected ``numpy.random.Generator``.  Biases are not drawn: they start at zero,
as Keras's ``bias_initializer="zeros"`` does.

Keras's definitions, restated (``keras.initializers``):

- ``uniform``:        U(-0.05, 0.05)                                (RandomUniform)
- ``normal``:         N(0, 0.05^2)                                  (RandomNormal)
- ``zero``:           all zeros                                     (Zeros)
- the others are VarianceScaling(scale, mode, distribution) with
  fan_in = n_in, fan_out = n_out, fan_avg = (n_in + n_out) / 2 and s = scale / max(1, fan):

  ==============  =====  =======  =================
  name            scale  mode     distribution
  ==============  =====  =======  =================
  lecun_uniform   1      fan_in   uniform
  glorot_normal   1      fan_avg  truncated_normal
  glorot_uniform  1      fan_avg  uniform
  he_normal       2      fan_in   truncated_normal
  he_uniform      2      fan_in   uniform
  ==============  =====  =======  =================

  uniform:          U(-limit, limit) with limit = sqrt(3 s)
  truncated_normal: N(0, sigma^2) cut at +-2 sigma, sigma = sqrt(s) / 0.87962566103423978.
  The constant is the std of a unit normal truncated at +-2, so the draws have variance s.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

#: Standard deviation of N(0, 1) truncated to [-2, 2] (Keras's VarianceScaling constant).
TRUNCATED_NORMAL_STD = 0.87962566103423978

Initializer = Callable[[tuple, np.random.Generator, str], np.ndarray]


def fans(shape: tuple) -> tuple[float, float]:
    """(fan_in, fan_out) = (n_in, n_out), as Keras's ``compute_fans`` gives them for a dense kernel."""
    if len(shape) != 2:
        raise ValueError(f"dense kernels are 1-D or 2-D, got shape {shape!r}")
    return float(shape[0]), float(shape[1])


def truncated_normal(shape, stddev: float, rng: np.random.Generator) -> np.ndarray:
    """N(0, stddev^2) restricted to [-2 stddev, 2 stddev], by redrawing what falls outside."""
    out = rng.standard_normal(shape)
    outside = np.abs(out) > 2
    while outside.any():
        out[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(out) > 2
    return out * stddev


def variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    """Keras's VarianceScaling: variance s = scale / max(1, fan), drawn uniform or truncated normal."""

    def init(shape, rng, dtype="float32"):
        fan_in, fan_out = fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        s = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            W = rng.uniform(-limit, limit, size=shape)
        else:
            W = truncated_normal(shape, math.sqrt(s) / TRUNCATED_NORMAL_STD, rng)
        return W.astype(dtype)

    init.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})"
    return init


def random_uniform(shape, rng, dtype="float32"):
    """U(-0.05, 0.05), Keras's RandomUniform defaults."""
    return rng.uniform(-0.05, 0.05, size=shape).astype(dtype)


def random_normal(shape, rng, dtype="float32"):
    """N(0, 0.05^2), Keras's RandomNormal defaults (not truncated)."""
    return (rng.standard_normal(shape) * 0.05).astype(dtype)


def zeros(shape, rng, dtype="float32"):
    """All zeros.  Every unit of a layer then computes the same thing forever."""
    return np.zeros(shape, dtype=dtype)


#: The eight ``init_mode`` names in the lecture's order.
INITIALIZERS: dict[str, Initializer] = {
    "uniform": random_uniform,
    "lecun_uniform": variance_scaling(1.0, "fan_in", "uniform"),
    "normal": random_normal,
    "zero": zeros,
    "glorot_normal": variance_scaling(1.0, "fan_avg", "truncated_normal"),
    "glorot_uniform": variance_scaling(1.0, "fan_avg", "uniform"),
    "he_normal": variance_scaling(2.0, "fan_in", "truncated_normal"),
    "he_uniform": variance_scaling(2.0, "fan_in", "uniform"),
}


#: The activation's gain in the lecture's Table 11-1, as the derivation gives it.  Glorot keeps
#: Var(out) = Var(in) for a unit whose slope at 0 is 1 (tanh).  The logistic's slope at 0 is
#: 1/4, so its weights must be 4x larger to keep the variance; ReLU passes half the signal, so
#: sqrt(2).  The table as printed puts the 4 on the hyperbolic-tangent row: see the README.
TABLE_11_1_GAINS = {"logistic": 4.0, "tanh": 1.0, "relu": math.sqrt(2.0)}


def glorot_for(activation: str, distribution: str) -> Initializer:
    """Table 11-1: U(-r, r) with r = gain sqrt(6 / (n_in + n_out)), or N(0, sigma^2) with
    sigma = gain sqrt(2 / (n_in + n_out)) (not truncated), gain as in ``TABLE_11_1_GAINS``."""
    gain = TABLE_11_1_GAINS[activation]

    def init(shape, rng, dtype="float32"):
        fan_in, fan_out = fans(shape)
        if distribution == "uniform":
            r = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-r, r, size=shape).astype(dtype)
        return (rng.standard_normal(shape) * gain * math.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)

    init.__doc__ = f"Table 11-1, {activation} row, {distribution}: gain {gain:g}"
    return init


#: The lecture's Table 11-1 as named scratch initializers (there is no Keras twin of these).
TABLE_11_1 = {f"xavier_{act}_{dist}": glorot_for(act, dist)
              for act in TABLE_11_1_GAINS for dist in ("uniform", "normal")}


def get(name: str) -> Initializer:
    """The initializer called ``name``: one of the eight init modes or of Table 11-1."""
    if isinstance(name, str) and name in INITIALIZERS:
        return INITIALIZERS[name]
    if isinstance(name, str) and name in TABLE_11_1:
        return TABLE_11_1[name]
    raise ValueError(f"unknown init_mode {name!r}; valid: {', '.join(INITIALIZERS)} "
                     f"(and Table 11-1's {', '.join(TABLE_11_1)})")
