"""The Keras reference: model builders and gradients as ``model.fit`` computes them.

Nothing in this package imports ``scratch``.  The names (``INIT_MODES``, ``LOSSES``, ...) come
without TensorFlow; the functions import it, quietly (``keras_ref.quiet``), on first use.
"""
import importlib

from keras_ref.names import DTYPES, HIDDEN_ACTIVATIONS, INIT_MODES, LEAKY_RELU_SLOPE, LOSSES, OUTPUT_ACTIVATIONS

#: Function -> the module that defines it, imported when the function is first asked for.
_LAZY = {
    "loss_and_gradients": "keras_ref.gradients",
    "output_loss_and_gradients": "keras_ref.gradients",
    "build_model": "keras_ref.models",
    "compile_model": "keras_ref.models",
    "initial_weights": "keras_ref.models",
    "kernel_initializer": "keras_ref.models",
}


_SUBMODULES = ("cli", "datasets", "devices", "gradients", "models", "names", "quiet", "tune")


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"keras_ref.{name}")
    raise AttributeError(f"module 'keras_ref' has no attribute {name!r}")


__all__ = [
    "DTYPES", "HIDDEN_ACTIVATIONS", "INIT_MODES", "LEAKY_RELU_SLOPE", "LOSSES", "OUTPUT_ACTIVATIONS",
    *_LAZY,
]
