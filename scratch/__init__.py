"""The network by hand, in NumPy only: the independent side of every comparison.

Nothing in this package imports TensorFlow or Keras.
"""
from scratch.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from scratch.initializers import INITIALIZERS
from scratch.losses import LOSSES
from scratch.network import DTYPES, Network
from scratch.regularizers import l2_from_lambda

INIT_MODES = tuple(INITIALIZERS)

__all__ = [
    "ACTIVATIONS", "DTYPES", "HIDDEN_ACTIVATIONS", "INITIALIZERS", "INIT_MODES", "LOSSES",
    "Network", "l2_from_lambda",
]
