"""Where a training step goes: ``fit``'s step phase by phase, and its matrix products alone.

``compare.bench`` prints this beside Keras's step.  It calls only the network's public
``forward``, ``compute_loss``, ``backward`` and ``apply_gradients``, as ``Network.step`` does.
"""
from __future__ import annotations

import time

import numpy as np

from scratch import optimizers
from scratch.layers import matmul, ones_of
from scratch.network import Network
from scratch.training import blas_threads, check_fit_arguments, labels, record_hits


#: The phases of ``fit``'s training step (``Network.step``), in order.
PHASES = ("forward", "loss", "backward", "optimizer", "accuracy")


def profile_step(net: Network, X, y, batch_size: int = 32, optimizer="adam", steps: int = 100,
                 rounds: int = 3) -> dict[str, float]:
    """Seconds per training step, phase by phase, as ``fit`` runs the step on one batch.

    ``{"forward", "loss", "backward", "optimizer", "accuracy"}`` (``PHASES``), then ``"step"``,
    their sum, and ``"matmul"``: the step's matrix products alone (Z = A_prev @ W, dW, db and
    dA_prev, at the same shapes), which forward and backward contain.  What is left of
    ``step`` is NumPy's elementwise passes and the per-call cost of Python and NumPy.  The
    steps train on the first ``batch_size`` examples of X, ``steps`` a round, with a fresh
    optimizer of ``optimizer``'s kind and settings; the round with the smallest total counts
    (a shared CPU's speed drifts).  The network ends as it began: its parameters are put
    back, and its own optimizer is not touched.
    """
    X = net.check_X(X)
    Y = net.check_y(y, len(X))
    check_fit_arguments(len(X), 1, batch_size)
    for name, value in (("steps", steps), ("rounds", rounds)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    kind = optimizers.get(optimizer)
    saved = net.get_weights()
    try:
        with blas_threads(net, batch_size):
            timed = [_profile_round(net, X[:batch_size], Y[:batch_size], type(kind)(**kind.get_config()), steps)
                     for _ in range(rounds)]
    finally:
        net.set_weights(saved)
    best = min(timed, key=lambda spent: sum(spent[p] for p in PHASES))
    per_step = {k: v / steps for k, v in best.items()}
    return per_step | {"step": sum(per_step[p] for p in PHASES)}


def _profile_round(net: Network, X: np.ndarray, Y: np.ndarray, opt, steps: int) -> dict[str, float]:
    """Seconds spent in each phase over ``steps`` training steps, and in their matrix products alone."""
    truth, hits = labels(Y), np.empty(len(X), dtype=bool)
    clock = time.perf_counter
    spent = dict.fromkeys(PHASES, 0.0)
    for _ in range(steps):
        t0 = clock()
        A, caches = net.forward(X, training=True, checked=True)
        t1 = clock()
        net.compute_loss(Y, caches)
        t2 = clock()
        net.backward(Y, caches, copy=False)
        t3 = clock()
        net.apply_gradients(opt)
        t4 = clock()
        record_hits(truth, A, hits)
        t5 = clock()
        for phase, seconds in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            spent[phase] += seconds
    spent["matmul"] = _time_matmuls(net, caches, steps, clock)
    return spent


def _time_matmuls(net: Network, caches: list[dict], steps: int, clock) -> float:
    """Seconds for ``steps`` rounds of one step's matrix products, into scratch arrays."""
    products = []
    for layer, (W, cache) in enumerate(zip(net.W, caches)):
        A_prev, Z = cache["A_prev"], cache["Z"]
        products += [(matmul, A_prev, W, np.empty_like(Z)), (matmul, A_prev.T, Z, np.empty_like(W)),
                     (np.matmul, ones_of(len(Z), Z.dtype), Z, np.empty(W.shape[1], dtype=Z.dtype))]
        if layer > 0:
            products.append((matmul, Z, W.T, np.empty_like(A_prev)))
    started = clock()
    for _ in range(steps):
        for product, a, b, out in products:  # as dense_forward and dense_backward call them
            product(a, b, out=out)
    return clock() - started
