"""A network in one ``.npz`` file, read back with NumPy alone: no pickle, no TensorFlow.

The file holds plain arrays only (``numpy.load(..., allow_pickle=False)`` reads it):

- ``config``: ``Network.get_config()`` as a JSON string (a 0-d unicode array);
- ``weight_0``, ``weight_1``, ...: ``get_weights()``, in its order and dtype;
- where the network carries an optimizer that has stepped: ``optimizer_iterations`` and its
  slots, ``slot_<kind>`` (the optimizer's flat slot over all parameters).

A file is untrusted input: it is read without pickle, its config is checked as
``Network.from_config`` checks any config, and every array must have the shape and dtype
the config implies.
"""
from __future__ import annotations

import json
import os

import numpy as np

from scratch.network import Network

FORMAT = "scratch.Network/1"


def save(net: Network, path: str, overwrite: bool = False) -> None:
    """Write ``net`` to ``path`` (exactly that name); an existing file is replaced only with ``overwrite``."""
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"{path} exists; pass overwrite=True to replace it")
    arrays = {"format": np.array(FORMAT), "config": np.array(json.dumps(net.get_config()))}
    arrays |= {f"weight_{i}": w for i, w in enumerate(net.get_weights())}
    state = net.optimizer_state()
    if state is not None:
        iterations, slots = state
        arrays["optimizer_iterations"] = np.array(iterations, dtype=np.int64)
        arrays |= {f"slot_{kind}": flat for kind, flat in slots.items()}
    with open(path, "wb") as f:  # a file object: numpy.savez would add ".npz" to a bare name
        np.savez(f, **arrays)


def load(path: str) -> Network:
    """The network ``save`` wrote: its layers, loss, dtype, quirks, weights and optimizer state."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{path} is not a scratch network file: {e}") from None
    if arrays.get("format", np.array("")).item() != FORMAT or "config" not in arrays:
        raise ValueError(f"{path} is not a scratch network file (no {FORMAT!r} format marker)")
    try:
        config = json.loads(arrays["config"].item())
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: its config is not JSON: {e}") from None
    net = Network.from_config(config)
    n_weights = len(net.get_weights())
    weights = []
    for i in range(n_weights):
        if f"weight_{i}" not in arrays:
            raise ValueError(f"{path}: weight_{i} is missing; the config needs {n_weights} weights")
        w = arrays[f"weight_{i}"]
        if w.dtype != np.dtype(net.dtype):
            raise ValueError(f"{path}: weight_{i} is {w.dtype}, the config says {net.dtype}")
        weights.append(w)
    net.set_weights(weights)
    if "optimizer_iterations" in arrays:
        if net.optimizer is None:
            raise ValueError(f"{path}: optimizer state without an optimizer in the config")
        slots = {k[len("slot_"):]: a for k, a in arrays.items() if k.startswith("slot_")}
        net.set_optimizer_state(int(arrays["optimizer_iterations"]), slots)
    return net
