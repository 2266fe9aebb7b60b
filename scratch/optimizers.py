"""Optimizers with Keras 3's names, defaults and update formulas, sorted by increasing complexity.

Each one updates the parameters in place, one tensor at a time, in the order of Keras's
``update_step``, with ``iterations`` counting the steps taken.  Keras-on-TensorFlow's float32
roundings (see ``scratch.keras_compat``) that touch an update:

- the learning rate lives in a float32 variable (``floatx()``), so a float64 model steps with
  ``float32(learning_rate)``: 0.001 becomes 0.0010000000474974513;
- SGD's ``momentum`` goes through ``ops.cast`` before it multiplies the slot;
- Adam's ``beta_1`` and ``beta_2`` go through ``ops.cast`` before they are raised to the
  step count for the bias correction (their ``1 - beta`` factors stay exact).

RMSprop's ``rho``, ``momentum`` and ``epsilon`` and Adam's ``epsilon`` enter as Python floats
through ``ops.multiply`` and ``ops.add``, which keep the variable's dtype: no rounding.
"""
from __future__ import annotations

import math

import numpy as np

from scratch.keras_compat import KerasCompat, float32_constant, resolve


def _check_rate(name: str, value, low: float = 0.0, high: float | None = None, high_open=True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (name == "learning_rate" and value <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}" if name == "learning_rate"
                         else f"{name} must be >= {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name} must be < {high}, got {value!r}")
    return float(value)


class Optimizer:
    """The shared loop: build one slot per parameter per kind, then ``_update`` each tensor."""

    name = "optimizer"
    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = _check_rate("learning_rate", learning_rate)
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] = {}

    def _slot_names(self) -> tuple[str, ...]:
        return self.slot_names

    def build(self, params: list[np.ndarray]) -> None:
        """Zero slots shaped like ``params`` (``slots[kind][i]`` belongs to ``params[i]``), and scratch space."""
        for p in params:
            if not p.flags.c_contiguous or not p.flags.writeable:
                raise ValueError("optimizers update parameters in place: each must be a writeable, "
                                 "C-contiguous array (not a transposed view or a copy)")
        self.slots = {kind: [np.zeros_like(p) for p in params] for kind in self._slot_names()}
        self._tmp = [(np.empty_like(p), np.empty_like(p)) for p in params]
        self._params = list(params)  # the arrays this optimizer steps, and no others

    def steps(self, params: list[np.ndarray]) -> bool:
        """Whether this optimizer has been built for exactly these arrays (by a first step or ``set_state``)."""
        return (hasattr(self, "_params") and len(params) == len(self._params)
                and all(p is q for p, q in zip(params, self._params)))

    def set_state(self, params: list[np.ndarray], iterations: int, slots: dict[str, list[np.ndarray]]) -> None:
        """Build for ``params`` with the given step count and slots (copied), as a saved or Keras
        optimizer left them: ``slots[kind][i]`` belongs to ``params[i]``."""
        self.build(params)
        if set(slots) != set(self._slot_names()):
            raise ValueError(f"{self.name} keeps the slots {sorted(self._slot_names())}, got {sorted(slots)}")
        for kind, arrays in slots.items():
            if len(arrays) != len(params) or any(np.shape(a) != p.shape for a, p in zip(arrays, params)):
                raise ValueError(f"slot {kind!r}: shapes {[np.shape(a) for a in arrays]} do not fit the "
                                 f"parameters' {[p.shape for p in params]}")
            for slot, a in zip(self.slots[kind], arrays):
                slot[...] = a
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
            raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
        self.iterations = int(iterations)

    def apply_gradients(self, params: list[np.ndarray], grads: list[np.ndarray],
                        keras_compat: KerasCompat = True, variable_grads=None) -> None:
        """One step: every ``params[i]`` updated in place from ``grads[i]``.

        ``keras_compat`` picks the float32 roundings to reproduce (``scratch.keras_compat``).
        ``variable_grads``: views of ``grads`` one per model variable (a network steps all its
        parameters as one flat array), for what Keras does per variable.
        """
        quirks = resolve(keras_compat)
        if not hasattr(self, "_params"):
            self.build(params)
        elif len(params) != len(self._params) or any(p is not q for p, q in zip(params, self._params)):
            raise ValueError("this optimizer already steps other parameters (another network, or the same "
                             "network's tensors one by one); as in Keras, use a new optimizer")
        lr = float32_constant(self.learning_rate, "learning_rate" in quirks)
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(i, p, g.astype(p.dtype, copy=False), lr, quirks)
        self.iterations += 1

    def _update(self, i, p, g, lr, quirks):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, the lecture's theta := theta - alpha dJ/dtheta, with optional momentum.

    momentum = 0:  p -= lr g
    else:          m = momentum m - lr g;   p += m            (nesterov: p += momentum m - lr g)
    """

    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        self.momentum = _check_rate("momentum", momentum, 0.0, 1.0, high_open=False)
        self.nesterov = bool(nesterov)

    def _slot_names(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, i, p, g, lr, quirks):
        step, nesterov = self._tmp[i]
        np.multiply(g, lr, out=step)                          # lr g
        if not self.momentum:
            p -= step
            return
        momentum = float32_constant(self.momentum, "sgd_momentum" in quirks)
        m = self.slots["momentum"][i]
        m *= momentum
        m -= step                                             # m = momentum m - lr g
        if self.nesterov:
            np.multiply(m, momentum, out=nesterov)
            nesterov -= step
            p += nesterov                                     # p += momentum m - lr g
        else:
            p += m

    def get_config(self):
        return super().get_config() | {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Divide the step by a running root mean square of the gradient.

    v = rho v + (1 - rho) g^2;   (centered: a = rho a + (1 - rho) g, denominator v - a^2 + eps)
    increment = lr g / sqrt(v + eps);   p -= increment   (momentum: m = momentum m + increment; p -= m)
    """

    name = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False):
        super().__init__(learning_rate)
        self.rho = _check_rate("rho", rho, 0.0, 1.0)
        self.momentum = _check_rate("momentum", momentum, 0.0, 1.0, high_open=False)
        self.epsilon = _check_rate("epsilon", epsilon, 0.0)
        self.centered = bool(centered)

    def _slot_names(self):
        return ("velocity",) + (("momentum",) if self.momentum else ()) + (("average_gradient",) if self.centered else ())

    def _update(self, i, p, g, lr, quirks):
        t, increment = self._tmp[i]
        v = self.slots["velocity"][i]
        v *= self.rho
        np.multiply(g, g, out=t)
        t *= 1 - self.rho
        v += t                                                # v = rho v + (1 - rho) g^2
        if self.centered:
            a = self.slots["average_gradient"][i]
            a *= self.rho
            np.multiply(g, 1 - self.rho, out=t)
            a += t                                            # a = rho a + (1 - rho) g
            np.multiply(a, a, out=t)
            np.subtract(v, t, out=t)
            t += self.epsilon                                 # v - a^2 + eps
        else:
            np.add(v, self.epsilon, out=t)                    # v + eps
        np.sqrt(t, out=t)
        np.multiply(g, lr, out=increment)
        increment /= t                                        # lr g / sqrt(...)
        if self.momentum:
            m = self.slots["momentum"][i]
            m *= self.momentum
            m += increment
            p -= m
        else:
            p -= increment

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "momentum": self.momentum,
                                       "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with the bias correction folded into the step size, and "epsilon hat".

    t = iterations + 1
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m)(1 - beta_1);   v += (g^2 - v)(1 - beta_2)
    p -= m alpha / (sqrt(v) + epsilon)

    Epsilon is added to sqrt(v) of the *uncorrected* v, so it is the paper's "epsilon hat",
    not the epsilon of Algorithm 1.
    """

    name = "adam"
    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _check_rate("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_rate("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_rate("epsilon", epsilon, 0.0)

    def _update(self, i, p, g, lr, quirks):
        scalar = p.dtype.type  # numpy scalars of the parameter's dtype, as TensorFlow's scalars are
        rounded = "adam_betas" in quirks
        t = scalar(self.iterations + 1)
        beta_1_power = scalar(float32_constant(self.beta_1, rounded)) ** t
        beta_2_power = scalar(float32_constant(self.beta_2, rounded)) ** t
        alpha = lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = self.slots["momentum"][i], self.slots["velocity"][i]
        tmp, step = self._tmp[i]
        in_blocks(lambda *blocks: self._step(*blocks, alpha), p, g, m, v, tmp, step)

    def _step(self, p, g, m, v, t, step, alpha):
        np.subtract(g, m, out=t)
        t *= 1 - self.beta_1
        m += t                                                # m += (g - m)(1 - beta_1)
        np.multiply(g, g, out=t)
        t -= v
        t *= 1 - self.beta_2
        v += t                                                # v += (g^2 - v)(1 - beta_2)
        np.sqrt(v, out=t)
        t += self.epsilon
        np.multiply(m, alpha, out=step)
        step /= t
        p -= step                                             # p -= m alpha / (sqrt(v) + eps)

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


#: Elements per block of an elementwise update (measured best on 2 cores: Adam over 536k
#: float32 parameters takes 1.6 ms in blocks of 2^16, 2.2 ms in one pass, 2.9 ms in blocks
#: of 2^14, whose calls cost more than the cache saves).
CHUNK = 1 << 16


def in_blocks(step, *arrays: np.ndarray) -> None:
    """``step(*blocks)`` over CHUNK-sized blocks of the flattened ``arrays``, in order.

    A block stays in cache through all of an update's passes.  The update is elementwise,
    so blocks give the bits of one pass.  (Blocks on a thread pool were tried: 1.15 ms
    alone for 536k parameters, but no faster inside a training step, where OpenBLAS's
    threads hold the second core.)  Arrays of one block are stepped as they are.
    """
    n = arrays[0].size
    if n <= CHUNK:
        step(*arrays)
        return
    flat = [a.reshape(-1) for a in arrays]  # views of the written arrays, C-contiguous since build
    for start in range(0, n, CHUNK):
        step(*(a[start:start + CHUNK] for a in flat))


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get_config(optimizer: Optimizer) -> dict:
    """``{"class_name", "config"}``: the optimizer's kind and settings (not its slots)."""
    return {"class_name": optimizer.name, "config": optimizer.get_config()}


def from_config(config: dict) -> Optimizer:
    """A fresh optimizer of the kind and settings ``get_config`` described."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](**config.get("config", {}))


def get(optimizer) -> Optimizer:
    """An ``Optimizer`` instance as given, or a fresh one with Keras's defaults for a name."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)} or an Optimizer instance")
