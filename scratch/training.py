"""The lecture's loop, "repeat until convergence: theta := theta - alpha dJ/dtheta", as Keras's fit runs it.

Mini-batches are cut as Keras cuts them: the (shuffled) examples in order, ``batch_size`` at
a time, the last batch partial.  ``batch_size=1`` is stochastic gradient descent,
``batch_size=len(X)`` is batch gradient descent, and the powers of two in between are
mini-batch gradient descent.  The history has Keras's meaning: each epoch's ``loss`` and
``accuracy`` are the means over that epoch's batches, weighted by batch size, of the values
computed *before* each step; ``val_loss`` and ``val_accuracy`` are computed after the epoch.
"""
from __future__ import annotations

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


def accuracy(Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Per-example accuracy as Keras's ``metrics=['accuracy']`` resolves it.

    One output unit: binary accuracy, 1 where (A > 0.5) == Y.  Several: categorical
    accuracy, 1 where argmax A == argmax Y.
    """
    if A.shape[1] == 1:
        return ((A > 0.5) == (Y > 0.5))[:, 0].astype(np.float64)
    return (np.argmax(A, axis=1) == np.argmax(Y, axis=1)).astype(np.float64)


def evaluate(net: Network, X, y, batch_size: int = 32) -> dict[str, float]:
    """``{"loss", "accuracy"}`` over X, y in batches, weighted by batch size, as ``model.evaluate``."""
    X, Y = net._check_X(X), net._check_y(y, len(X))
    total = {"loss": 0.0, "accuracy": 0.0}
    for idx in batch_indices(len(X), batch_size, False, None):
        A, caches = net.forward(X[idx])
        total["loss"] += net._cost(Y[idx], caches) * len(idx)
        total["accuracy"] += float(np.sum(accuracy(Y[idx], A)))
    return {k: v / len(X) for k, v in total.items()}


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


def fit(net: Network, X, y, epochs: int = 1, batch_size: int = 32, optimizer="adam", shuffle: bool = True,
        seed: int | None = None, validation_data=None, verbose: int = 1) -> dict[str, list[float]]:
    """Train ``net`` in place; returns a history shaped like Keras's ``History.history``.

    ``optimizer`` is a name (``"adam"``, ``"sgd"``, ``"rmsprop"``, with Keras's defaults), which
    the network keeps between calls as a compiled Keras model does, or a
    ``scratch.optimizers.Optimizer``.  Shuffling draws from ``numpy.random.default_rng(seed)``.
    A loss that becomes NaN or inf stops training with a FloatingPointError naming the step.
    """
    X = net._check_X(X)
    Y = net._check_y(y, len(X))
    check_fit_arguments(len(X), epochs, batch_size)
    opt = net.use_optimizer(optimizer)
    if validation_data is not None:
        X_val, y_val = validation_data
        X_val = net._check_X(X_val)
        Y_val = net._check_y(y_val, len(X_val))
    rng = np.random.default_rng(seed)
    n_batches = -(-len(X) // batch_size)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    if validation_data is not None:
        history |= {"val_loss": [], "val_accuracy": []}

    for epoch in range(epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
            bar = ProgressBar(n_batches)
        loss_sum = correct = seen = 0.0
        for b, idx in enumerate(batch_indices(len(X), batch_size, shuffle, rng), start=1):
            try:
                loss, A = net._train_step(X[idx], Y[idx], opt)
            except FloatingPointError as e:
                raise FloatingPointError(f"{e} (epoch {epoch + 1}, batch {b})") from None
            loss_sum += loss * len(idx)
            correct += float(np.sum(accuracy(Y[idx], A)))
            seen += len(idx)
            if verbose:
                bar.update(b, {"loss": loss_sum / seen, "accuracy": correct / seen}, final=False)
        history["loss"].append(loss_sum / seen)
        history["accuracy"].append(correct / seen)
        logs = {"loss": history["loss"][-1], "accuracy": history["accuracy"][-1]}
        if validation_data is not None:
            val = evaluate(net, X_val, Y_val, batch_size)
            history["val_loss"].append(val["loss"])
            history["val_accuracy"].append(val["accuracy"])
            logs |= {"val_loss": val["loss"], "val_accuracy": val["accuracy"]}
        if verbose:
            bar.update(n_batches, logs, final=True)
    return history
