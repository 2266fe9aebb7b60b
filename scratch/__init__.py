"""The network by hand, in NumPy only: the independent side of every comparison.

Nothing in this package imports TensorFlow or Keras.
"""
from scratch.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from scratch.initializers import INITIALIZERS
from scratch.losses import LOSSES
from scratch import optimizers
from scratch.network import DTYPES, Network
from scratch.optimizers import SGD, Adam, RMSprop
from scratch.regularizers import l2_from_lambda
from scratch.training import evaluate, fit

INIT_MODES = tuple(INITIALIZERS)

__all__ = [
    "ACTIVATIONS", "DTYPES", "HIDDEN_ACTIVATIONS", "INITIALIZERS", "INIT_MODES", "LOSSES",
    "Adam", "Network", "RMSprop", "SGD", "evaluate", "fit", "l2_from_lambda", "optimizers",
]
