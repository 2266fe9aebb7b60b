"""Optimizers with Keras 3's names, defaults and update formulas, sorted by increasing complexity.

Each one updates the parameters in place, one tensor at a time, in the order of Keras's
``BaseOptimizer.apply``, with ``iterations`` counting the steps taken:

1. clip the gradients (at most one of ``clipnorm``, ``global_clipnorm``, ``clipvalue``), into
   scratch space: the caller's gradients are left as they are;
2. decay the weights, ``p -= p weight_decay lr`` (with ``weight_decay`` set; AdamW's default);
3. the optimizer's own update (``update_step``).

Keras-on-TensorFlow's float32 roundings (see ``scratch.keras_compat``) that touch a step:

- the learning rate lives in a float32 variable (``floatx()``), so a float64 model steps with
  ``float32(learning_rate)``: 0.001 becomes 0.0010000000474974513 (quirk ``learning_rate``);
- SGD's ``momentum`` goes through ``ops.cast`` before it multiplies the slot (``sgd_momentum``);
- Adam's ``beta_1`` and ``beta_2`` go through ``ops.cast`` before they are raised to the
  step count for the bias correction; their ``1 - beta`` factors stay exact (``adam_betas``);
- ``weight_decay`` goes through ``tf.cast`` in the TensorFlow backend's ``_apply_weight_decay``,
  and Adagrad's ``initial_accumulator_value`` through ``ops.cast`` in the ``Constant``
  initializer of its accumulators: 0.004 becomes 0.004000000189989805, 0.1 becomes
  0.10000000149011612.  The same kind as SGD's momentum (a Python float cast to float64 goes
  through float32, under any ``floatx()``, which ``compare.twin`` finds with one probe), so
  they are reproduced under its name, ``sgd_momentum`` (``CAST_QUIRK``).  Dropping it from an
  AdamW or Adagrad run then leaves out just these.

RMSprop's ``rho``, ``momentum`` and ``epsilon``, Adam's and Adagrad's ``epsilon``, and the
clipping thresholds enter as Python floats through ``ops.multiply``, ``ops.add``,
``ops.minimum``, ``tf.clip_by_norm`` and ``tf.clip_by_value``, which convert them to the
gradient's dtype directly: no rounding.
"""
from __future__ import annotations

import math

import numpy as np

from scratch.keras_compat import KerasCompat, float32_constant, resolve

#: The quirk under which the optimizer constants that Keras passes through ``ops.cast`` or
#: ``tf.cast`` besides SGD's momentum and Adam's betas are rounded (see the module docstring).
CAST_QUIRK = "sgd_momentum"


def _check_rate(name: str, value, low: float = 0.0, high: float | None = None, high_open=True,
                positive: bool = False) -> float:
    positive = positive or name == "learning_rate"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (positive and value <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}" if positive
                         else f"{name} must be >= {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name} must be < {high}, got {value!r}")
    return float(value)


# --- gradient clipping and weight decay, the steps Keras takes before any update -----------------

def clip_by_norm(g: np.ndarray, clipnorm: float, out: np.ndarray) -> None:
    """out = g c / max(||g||, c), c = clipnorm: one variable's gradient cut to a norm of at most c.

    TensorFlow's ``tf.clip_by_norm``, which Keras's TensorFlow backend applies to each variable's
    gradient on its own.  The product g c comes first and is divided by max(||g||, c) even when
    ||g|| <= c, so an unclipped gradient still goes through (g c) / c, which need not give back
    g's bits.  ``g`` and ``out`` are one variable's (flat) gradient and the space to write it.
    """
    c = g.dtype.type(clipnorm)
    norm = np.sqrt(np.dot(g, g))
    np.multiply(g, c, out=out)
    out /= np.maximum(norm, c)


def global_norm(variables: list[np.ndarray]) -> np.floating:
    """sqrt(sum_v sum(g_v^2)): each variable's sum of squares first, then their sum (Keras's
    ``global_norm``)."""
    return np.sqrt(np.sum([np.dot(g, g) for g in variables]))


def global_clip_scale(norm: np.floating, clipnorm: float) -> np.floating:
    """scale = c min(1 / norm, 1 / c) + (norm - norm), c = clipnorm, in the gradients' dtype.

    Keras's ``clip_by_global_norm``: every gradient is multiplied by ``scale``.  Not c / norm:
    1 / norm is rounded, then multiplied by c.  Below the threshold the scale is c (1 / c),
    within an ulp of 1 (1.0 exactly for many c, not all).  1 / c is divided in Python's
    float64, then converted to the dtype.  The added norm - norm, 0 for a finite norm, makes
    the scale NaN for an infinite or NaN one.
    """
    dt = norm.dtype.type
    with np.errstate(divide="ignore", invalid="ignore"):
        return dt(clipnorm) * np.minimum(dt(1) / norm, dt(1.0 / clipnorm)) + (norm - norm)


def weight_decay_step(p: np.ndarray, t: np.ndarray, weight_decay: float, lr: float) -> None:
    """p -= (p weight_decay) lr: decoupled weight decay (Loshchilov and Hutter), applied before the
    optimizer's update and from the weights before it, as the TensorFlow backend's
    ``_apply_weight_decay`` computes ``variable * wd * lr``.  ``t`` is scratch space like ``p``."""
    np.multiply(p, weight_decay, out=t)
    t *= lr
    p -= t


def variable_segments(grads: list[np.ndarray], variable_grads=None) -> list[tuple[int, int, int]]:
    """(i, start, stop) for each model variable: where its gradient lies in ``grads[i]``, flattened.

    Without ``variable_grads`` each ``grads[i]`` is one variable.  With it (a network steps all
    its parameters as one flat array), each view in ``variable_grads`` is located in the array
    it views; together they must cover ``grads``.
    """
    if variable_grads is None:
        return [(i, 0, g.size) for i, g in enumerate(grads)]
    bases = [g.__array_interface__["data"][0] for g in grads]
    segments = []
    for view in variable_grads:
        address = view.__array_interface__["data"][0]
        for i, (g, base) in enumerate(zip(grads, bases)):
            start, misaligned = divmod(address - base, g.itemsize)
            if (view.dtype == g.dtype and view.flags.c_contiguous and not misaligned
                    and 0 <= start and start + view.size <= g.size):
                segments.append((i, start, start + view.size))
                break
        else:
            raise ValueError("variable_grads must be C-contiguous views into the gradients given")
    reached = [0] * len(grads)  # each array's views, in order, must tile it without a gap or overlap
    for i, start, stop in sorted(segments):
        if start != reached[i]:
            break
        reached[i] = stop
    if reached != [g.size for g in grads]:
        raise ValueError("variable_grads must cover the gradients given, one view per model variable")
    return segments


class Optimizer:
    """The shared loop: build one slot per parameter per kind, clip, decay, then ``_update`` each tensor.

    The settings every Keras optimizer takes: ``weight_decay`` (None: none), and at most one of
    ``clipnorm`` (each variable's gradient to that norm), ``global_clipnorm`` (all gradients
    together to that norm) and ``clipvalue`` (each element to [-clipvalue, clipvalue]).  Keras
    reads 0 as "no clipping"; here it is None, and a threshold must be > 0.
    """

    name = "optimizer"
    slot_names: tuple[str, ...] = ()
    #: Whether ``_update`` decays the weights itself (in its blocks), rather than the loop before it.
    folds_weight_decay = False

    def __init__(self, learning_rate: float, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None):
        self.learning_rate = _check_rate("learning_rate", learning_rate)
        self.weight_decay = None if weight_decay is None else _check_rate("weight_decay", weight_decay)
        clips = {"clipnorm": clipnorm, "global_clipnorm": global_clipnorm, "clipvalue": clipvalue}
        given = [k for k, v in clips.items() if v is not None]
        if len(given) > 1:
            raise ValueError(f"only one of clipnorm, global_clipnorm and clipvalue can be set, got "
                             + ", ".join(f"{k}={clips[k]!r}" for k in given))
        for k, v in clips.items():
            setattr(self, k, None if v is None else _check_rate(k, v, positive=True))
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] = {}

    def _slot_names(self) -> tuple[str, ...]:
        return self.slot_names

    @property
    def clips(self) -> bool:
        return self.clipnorm is not None or self.global_clipnorm is not None or self.clipvalue is not None

    def build(self, params: list[np.ndarray], keras_compat: KerasCompat = True) -> None:
        """Slots shaped like ``params`` (``slots[kind][i]`` belongs to ``params[i]``), and scratch space.

        The slots start at zero (Adagrad's accumulators at their initial value, rounded as
        ``keras_compat`` says)."""
        for p in params:
            if not p.flags.c_contiguous or not p.flags.writeable:
                raise ValueError("optimizers update parameters in place: each must be a writeable, "
                                 "C-contiguous array (not a transposed view or a copy)")
        self.slots = {kind: [np.zeros_like(p) for p in params] for kind in self._slot_names()}
        self._tmp = [(np.empty_like(p), np.empty_like(p)) for p in params]
        self._clipped = [np.empty_like(p) for p in params] if self.clips else None
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
        """One step: every ``params[i]`` updated in place from ``grads[i]`` (which are not modified).

        ``keras_compat`` picks the float32 roundings to reproduce (``scratch.keras_compat``).
        ``variable_grads``: views of ``grads`` one per model variable (a network steps all its
        parameters as one flat array), for what Keras does per variable: ``clipnorm`` clips each
        variable's gradient by its own norm.  Gradients are cast to the parameters' dtype
        first (a network's already have it), then clipped.
        """
        quirks = resolve(keras_compat)
        if not hasattr(self, "_params"):
            self.build(params, quirks)
        elif len(params) != len(self._params) or any(p is not q for p, q in zip(params, self._params)):
            raise ValueError("this optimizer already steps other parameters (another network, or the same "
                             "network's tensors one by one); as in Keras, use a new optimizer")
        lr = float32_constant(self.learning_rate, "learning_rate" in quirks)
        if (self.weight_decay is None and self.clipnorm is None and self.global_clipnorm is None
                and self.clipvalue is None):  # the plain step, kept as short as it was
            self._decay = None
            for i, (p, g) in enumerate(zip(params, grads)):
                self._update(i, p, g.astype(p.dtype, copy=False), lr, quirks)
        else:
            self._clip_decay_update(params, grads, variable_grads, lr, quirks)
        self.iterations += 1

    def _clip_decay_update(self, params, grads, variable_grads, lr, quirks) -> None:
        """The step with clipping or weight decay: clip, decay, update (``BaseOptimizer.apply``'s order)."""
        clips = self.clips
        if clips:  # where each variable lies, found in the arrays given (a cast below may copy them)
            segments = variable_segments(grads, variable_grads) if self.clipvalue is None else None
        grads = [g.astype(p.dtype, copy=False) for p, g in zip(params, grads)]
        if clips:
            grads = self._clip(grads, segments)
        decay = None if self.weight_decay is None else (float32_constant(self.weight_decay, CAST_QUIRK in quirks), lr)
        self._decay = decay
        for i, (p, g) in enumerate(zip(params, grads)):
            if decay is not None and not self.folds_weight_decay:
                weight_decay_step(p, self._tmp[i][0], *decay)
            self._update(i, p, g, lr, quirks)

    def _clip(self, grads: list[np.ndarray], segments) -> list[np.ndarray]:
        """The gradients clipped as Keras's ``_clip_gradients`` does, written to scratch space."""
        if self._clipped is None:  # clipping set after the optimizer was built
            self._clipped = [np.empty_like(p) for p in self._params]
        out = self._clipped
        if self.clipvalue is not None:
            for g, o in zip(grads, out):
                np.clip(g, -self.clipvalue, self.clipvalue, out=o)  # tf.clip_by_value
        elif self.clipnorm is not None:
            for i, start, stop in segments:
                clip_by_norm(grads[i].reshape(-1)[start:stop], self.clipnorm, out[i].reshape(-1)[start:stop])
        else:
            scale = global_clip_scale(global_norm([grads[i].reshape(-1)[start:stop] for i, start, stop in segments]),
                                      self.global_clipnorm)
            for g, o in zip(grads, out):
                np.multiply(g, scale, out=o)
        return out

    def _update(self, i, p, g, lr, quirks):
        raise NotImplementedError

    def get_config(self) -> dict:
        """Keras's names: the learning rate, the optimizer's own settings, and those of weight
        decay and clipping that are set (None ones are left out)."""
        optional = {"weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                    "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        return {"learning_rate": self.learning_rate} | self._own_config() | {
            k: v for k, v in optional.items() if v is not None}

    def _own_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, the lecture's theta := theta - alpha dJ/dtheta, with optional momentum.

    momentum = 0:  p -= lr g
    else:          m = momentum m - lr g;   p += m            (nesterov: p += momentum m - lr g)

    ``settings``: ``weight_decay``, ``clipnorm``, ``global_clipnorm``, ``clipvalue`` (``Optimizer``).
    """

    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **settings):
        super().__init__(learning_rate, **settings)
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

    def _own_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Divide the step by the root of all squared gradients so far (Duchi, Hazan and Singer, 2011).

    a starts at initial_accumulator_value (rounded through float32: ``CAST_QUIRK``)
    a += g^2;   p -= lr g / sqrt(a + epsilon)
    """

    name = "adagrad"
    slot_names = ("accumulator",)

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 **settings):
        super().__init__(learning_rate, **settings)
        self.initial_accumulator_value = _check_rate("initial_accumulator_value", initial_accumulator_value, 0.0)
        self.epsilon = _check_rate("epsilon", epsilon, 0.0)

    def build(self, params, keras_compat: KerasCompat = True):
        super().build(params, keras_compat)
        start = float32_constant(self.initial_accumulator_value, CAST_QUIRK in resolve(keras_compat))
        for a in self.slots["accumulator"]:
            a.fill(start)                                     # Constant: ops.cast(value, dtype) * ones

    def _update(self, i, p, g, lr, quirks):
        t, step = self._tmp[i]
        a = self.slots["accumulator"][i]
        np.multiply(g, g, out=t)
        a += t                                                # a += g^2
        np.add(a, self.epsilon, out=t)
        np.sqrt(t, out=t)
        np.multiply(g, lr, out=step)
        step /= t
        p -= step                                             # p -= lr g / sqrt(a + eps)

    def _own_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """Divide the step by a running root mean square of the gradient.

    v = rho v + (1 - rho) g^2;   (centered: a = rho a + (1 - rho) g, denominator v - a^2 + eps)
    increment = lr g / sqrt(v + eps);   p -= increment   (momentum: m = momentum m + increment; p -= m)
    """

    name = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **settings):
        super().__init__(learning_rate, **settings)
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

    def _own_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with the bias correction folded into the step size, and "epsilon hat".

    t = iterations + 1
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m)(1 - beta_1);   v += (g^2 - v)(1 - beta_2)
    amsgrad: v_hat = max(v_hat, v), which then stands for v below (Reddi, Kale and Kumar, 2018)
    p -= m alpha / (sqrt(v) + epsilon)

    Epsilon is added to sqrt(v) of the *uncorrected* v, so it is the paper's "epsilon hat",
    not the epsilon of Algorithm 1.  With ``weight_decay``, p -= p weight_decay lr comes first,
    in the same cache-sized blocks as the update.
    """

    name = "adam"
    folds_weight_decay = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **settings):
        super().__init__(learning_rate, **settings)
        self.beta_1 = _check_rate("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_rate("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_rate("epsilon", epsilon, 0.0)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, i, p, g, lr, quirks):
        scalar = p.dtype.type  # numpy scalars of the parameter's dtype, as TensorFlow's scalars are
        rounded = "adam_betas" in quirks
        t = scalar(self.iterations + 1)
        beta_1_power = scalar(float32_constant(self.beta_1, rounded)) ** t
        beta_2_power = scalar(float32_constant(self.beta_2, rounded)) ** t
        alpha = lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = self.slots["momentum"][i], self.slots["velocity"][i]
        tmp, step = self._tmp[i]
        decay = self._decay
        if self.amsgrad:
            in_blocks(lambda *blocks: self._step(*blocks, alpha, decay), p, g, m, v, tmp, step,
                      self.slots["velocity_hat"][i])
        else:
            in_blocks(lambda *blocks: self._step(*blocks, None, alpha, decay), p, g, m, v, tmp, step)

    def _step(self, p, g, m, v, t, step, v_hat, alpha, decay):
        if decay is not None:
            weight_decay_step(p, t, *decay)                   # p -= p weight_decay lr
        np.subtract(g, m, out=t)
        t *= 1 - self.beta_1
        m += t                                                # m += (g - m)(1 - beta_1)
        np.multiply(g, g, out=t)
        t -= v
        t *= 1 - self.beta_2
        v += t                                                # v += (g^2 - v)(1 - beta_2)
        if v_hat is not None:
            np.maximum(v_hat, v, out=v_hat)                   # v_hat = max(v_hat, v)
            v = v_hat
        np.sqrt(v, out=t)
        t += self.epsilon
        np.multiply(m, alpha, out=step)
        step /= t
        p -= step                                             # p -= m alpha / (sqrt(v) + eps)

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): Keras's ``AdamW`` is
    ``Adam`` whose ``weight_decay`` defaults to 0.004 and may not be None."""

    name = "adamw"

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **settings):
        if weight_decay is None:
            raise ValueError("weight_decay must be a number for AdamW, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **settings)


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


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam,
                                          "adamw": AdamW}


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
