"""The lecture's loop, "repeat until convergence: theta := theta - alpha dJ/dtheta", as Keras's fit runs it.

Mini-batches are cut as Keras cuts them: the (shuffled) examples in order, ``batch_size`` at
a time, the last batch partial.  ``batch_size=1`` is stochastic gradient descent,
``batch_size=len(X)`` is batch gradient descent, and the powers of two in between are
mini-batch gradient descent.  The history has Keras's meaning: each epoch's ``loss`` and
``accuracy`` are the means over that epoch's batches, weighted by batch size, of the values
computed *before* each step; ``val_loss`` and ``val_accuracy`` are computed after the epoch.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import time
from typing import Iterator

import numpy as np

from scratch.network import Network


def batch_indices(m: int, batch_size: int, shuffle: bool, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The index arrays of one epoch's batches: a permutation of range(m) when ``shuffle``."""
    order = rng.permutation(m) if shuffle else np.arange(m)
    for start in range(0, m, batch_size):
        yield order[start:start + batch_size]


def labels(Y: np.ndarray) -> np.ndarray:
    """What ``metrics=['accuracy']`` compares a prediction with, per example, as Keras resolves it
    by the output's width: one unit, binary accuracy, the label y itself (a soft label such as
    0.7 is never matched); several, categorical accuracy, the class argmax Y."""
    return Y[:, 0] if Y.shape[1] == 1 else Y.argmax(axis=1)


def record_hits(truth: np.ndarray, A: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Per example, whether the output A matches ``labels(Y)``, written into the bool ``out``:
    y == (a > 0.5) for one output unit (Keras's binary_accuracy), argmax A == argmax Y for several."""
    if A.shape[1] == 1:
        return np.equal(A[:, 0] > 0.5, truth, out=out)
    return np.equal(A.argmax(axis=1), truth, out=out)


def accuracy(Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Per-example accuracy (1.0 or 0.0), as ``record_hits`` decides it, for Y and A of one shape."""
    Y, A = np.asarray(Y), np.asarray(A)
    if Y.ndim != 2 or Y.shape != A.shape:
        raise ValueError(f"Y and A must be (m, n_out) arrays of one shape, got {Y.shape} and {A.shape}")
    return record_hits(labels(Y), A, np.empty(len(A), dtype=bool)).astype(np.float64)


def evaluate(net: Network, X, y, batch_size: int = 32) -> dict[str, float]:
    """``{"loss", "accuracy"}`` over X, y in batches, weighted by batch size, as ``model.evaluate``."""
    X, Y = net.check_X(X), net.check_y(y, len(X))
    truth = labels(Y)
    loss_sum = 0.0
    hits = np.empty(len(X), dtype=bool)
    for start in range(0, len(X), batch_size):
        stop = min(start + batch_size, len(X))
        A, caches = net.forward(X[start:stop], checked=True)
        loss_sum += net.compute_loss(Y[start:stop], caches) * (stop - start)
        record_hits(truth[start:stop], A, hits[start:stop])
    return {"loss": loss_sum / len(X), "accuracy": float(hits.mean())}


#: Below this many FLOPs per step (about 6 x parameters x batch), BLAS runs on one thread:
#: OpenBLAS's hand-off between threads costs more than it saves on small matrices
#: (measured on 2 cores: 30-64-32-1 at batch 32 trains at 311k samples/s on one thread,
#: 194k on two; 784-512-256-10 at batch 32 at 9.3k on two, 8.0k on one).
SINGLE_THREAD_FLOPS = 3e7


@functools.lru_cache(maxsize=1)
def _threadpools():
    """threadpoolctl's view of the loaded BLAS libraries, taken once: taking it scans every
    loaded library (3 ms with TensorFlow loaded), while a limit on it costs 10 us."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # then BLAS keeps its own setting
        return None
    return ThreadpoolController()


def blas_threads(net: Network, batch_size: int):
    """A context in which NumPy's BLAS uses one thread, when a step's work is small."""
    controller = _threadpools()
    if controller is None or 6 * net.n_params * batch_size >= SINGLE_THREAD_FLOPS:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def check_fit_arguments(m: int, epochs, batch_size) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= m:
        raise ValueError(f"batch_size must be an integer from 1 to the number of examples ({m}), got {batch_size!r}")


class ProgressBar:
    """Keras-style progress within an epoch: 'Epoch 2/5', then 'k/n [====>....] - loss: ...'."""

    def __init__(self, n_batches: int, stream=None, width: int = 30):
        self.n, self.stream, self.width = n_batches, stream or sys.stdout, width
        self.started = time.perf_counter()

    def update(self, done: int, values: dict[str, float], final: bool = False) -> None:
        filled = self.width * done // self.n
        bar = "=" * max(filled - 1, 0) + (">" if filled < self.width else "=") + "." * (self.width - filled)
        shown = " - ".join(f"{k}: {v:.4f}" for k, v in values.items())
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\r{done}/{self.n} [{bar}] - {elapsed:.1f}s - {shown}" + ("\n" if final else ""))
        self.stream.flush()


def fit(net: Network, X, y, epochs: int = 1, batch_size: int = 32, optimizer=None, shuffle: bool = True,
        seed: int | None = None, validation_data=None, verbose: int = 1) -> dict[str, list[float]]:
    """Train ``net`` in place; returns a history shaped like Keras's ``History.history``.

    ``optimizer`` is None for the one the network carries (Adam's defaults when it carries
    none), a name (``"adam"``, ``"sgd"``, ``"rmsprop"``, with Keras's defaults), which the
    network keeps between calls as a compiled Keras model does, or a
    ``scratch.optimizers.Optimizer``.  Shuffling draws from ``numpy.random.default_rng(seed)``.
    A loss that becomes NaN or inf stops training with a FloatingPointError naming the step.
    """
    X = net.check_X(X)
    Y = net.check_y(y, len(X))
    check_fit_arguments(len(X), epochs, batch_size)
    opt = net.use_optimizer(optimizer)
    validation = None
    if validation_data is not None:
        X_val, y_val = validation_data
        X_val = net.check_X(X_val)
        validation = (X_val, net.check_y(y_val, len(X_val)))
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    if validation is not None:
        history |= {"val_loss": [], "val_accuracy": []}
    with blas_threads(net, batch_size):
        _epochs(net, X, Y, epochs, batch_size, opt, shuffle, np.random.default_rng(seed), validation, verbose,
                history)
    return history


def _epochs(net, X, Y, epochs, batch_size, opt, shuffle, rng, validation, verbose, history) -> None:
    """The epochs of ``fit``, appending to ``history``; ``fit`` runs them under ``blas_threads``."""
    m = len(X)
    n_batches = -(-m // batch_size)
    truth = labels(Y)  # decided once, then gathered with X and Y
    hits = np.empty(m, dtype=bool)  # per example of the epoch: right before its step?
    for epoch in range(epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
            bar = ProgressBar(n_batches)
        # one gather per epoch; the batches are then slices of it, cut as batch_indices cuts them
        order = rng.permutation(m) if shuffle else None
        Xe, Ye, truth_e = (X[order], Y[order], truth[order]) if shuffle else (X, Y, truth)
        loss_sum = 0.0
        for b, start in enumerate(range(0, m, batch_size), start=1):
            stop = min(start + batch_size, m)
            try:
                loss, A = net.step(Xe[start:stop], Ye[start:stop], opt)
            except FloatingPointError as e:
                raise FloatingPointError(f"{e} (epoch {epoch + 1}, batch {b})") from None
            loss_sum += loss * (stop - start)
            record_hits(truth_e[start:stop], A, hits[start:stop])
            if verbose:
                bar.update(b, {"loss": loss_sum / stop, "accuracy": float(hits[:stop].mean())}, final=False)
        history["loss"].append(loss_sum / m)
        history["accuracy"].append(float(hits.mean()))
        logs = {"loss": history["loss"][-1], "accuracy": history["accuracy"][-1]}
        if validation is not None:
            val = evaluate(net, *validation, batch_size)
            history["val_loss"].append(val["loss"])
            history["val_accuracy"].append(val["accuracy"])
            logs |= {"val_loss": val["loss"], "val_accuracy": val["accuracy"]}
        if verbose:
            bar.update(n_batches, logs, final=True)
