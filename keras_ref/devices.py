"""CPU or GPU through TensorFlow's device placement: ``--device {auto,cpu,gpu,cpu:N,gpu:N}``.

``auto`` is the first GPU TensorFlow sees, else the CPU.  A device that TensorFlow does not
see is an error that names the ones it does: nothing falls back silently.  The chosen
device is a TensorFlow device name, used as ``with tf.device(name):`` around building and
running the models, so that their variables and their traced steps are placed there.
"""
from __future__ import annotations

import re

from keras_ref.quiet import tensorflow

tf = tensorflow()

DEVICE_CHOICES = "auto, cpu, gpu, cpu:N or gpu:N"


def visible_devices() -> list[str]:
    """The logical devices TensorFlow sees, as 'cpu:0', 'gpu:0', ..."""
    return [f"{d.device_type.lower()}:{d.name.rsplit(':', 1)[1]}" for d in tf.config.list_logical_devices()]


def resolve_device(spec: str) -> str:
    """The TensorFlow device name for ``spec``, e.g. '/device:GPU:0'; ValueError if it is not there."""
    text = str(spec).strip().lower()
    match = re.fullmatch(r"(auto|cpu|gpu)(?::(\d+))?", text)
    if not match or (match.group(1) == "auto" and match.group(2) is not None):
        raise ValueError(f"unknown device {spec!r}; valid: {DEVICE_CHOICES}")
    kind, index = match.group(1), match.group(2)
    if kind == "auto":
        kind = "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    devices = tf.config.list_logical_devices(kind.upper())
    wanted = int(index) if index is not None else 0
    if wanted >= len(devices):
        raise ValueError(f"device {spec!r} is not available; TensorFlow sees: {', '.join(visible_devices())}")
    return devices[wanted].name


def placed(name: str):
    """``with placed(name):`` builds and runs what is inside on that TensorFlow device."""
    return tf.device(name)


def log_placement(enabled: bool = True) -> None:
    """TensorFlow's device placement log (every op's device, on stderr) for the rest of the run."""
    tf.debugging.set_log_device_placement(enabled)
