"""The batches every command compares on: one place makes them."""
from __future__ import annotations

import numpy as np


def make_batch(layers, loss: str, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed batch X (m, n_0) ~ N(0, 1) and targets y (m, n_L) that suit ``loss``.

    Values are float32-representable, so the float32 and float64 cases see the same data,
    and so does ``model.fit`` (which casts float64 arrays to float32).
    """
    rng = np.random.default_rng(seed)
    m, n_in, n_out = batch_size, layers[0], layers[-1]
    X = rng.standard_normal((m, n_in))
    if loss == "binary_crossentropy":
        Y = rng.integers(0, 2, size=(m, n_out))
    elif loss == "categorical_crossentropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=m)]
    elif loss == "sparse_categorical_crossentropy":  # a class index a row
        Y = rng.integers(0, n_out, size=(m, 1))
    else:
        Y = rng.uniform(0, 1, size=(m, n_out))
    return X.astype(np.float32), Y.astype(np.float32)


def fit_on_scratch_batches(model, X, Y, epochs: int, batch_size: int, seed, validation_data=None) -> dict:
    """``model.fit`` on the very batches ``scratch.fit(..., seed=seed)`` cuts, epoch by epoch:
    each epoch's permutation drawn from ``numpy.random.default_rng(seed)`` as scratch draws it,
    and cut into batches within the epoch (the last one short).  One ``fit`` call runs them all:
    a ``tf.data`` pipeline of every epoch's batches in turn, ``steps_per_epoch`` batches an
    epoch.  (One fit per epoch, measured on breast cancer: the same weights and training
    losses bit for bit, validation losses within 6e-8, at twice the time.)  Returns the
    history, as ``History.history``."""
    import tensorflow as tf
    from scratch.training import batch_indices
    if epochs == 0:
        return {}
    rng = np.random.default_rng(seed)
    batches = None
    for _ in range(epochs):
        order = np.concatenate(list(batch_indices(len(X), batch_size, True, rng)))
        epoch = tf.data.Dataset.from_tensor_slices((X[order], Y[order])).batch(batch_size)
        batches = epoch if batches is None else batches.concatenate(epoch)
    history = model.fit(batches, epochs=epochs, steps_per_epoch=-(-len(X) // batch_size), shuffle=False, verbose=0,
                        validation_data=validation_data).history
    return {k: [float(x) for x in v] for k, v in history.items()}
