"""The network by hand, in NumPy only: the independent side of every comparison.

Nothing in this package imports TensorFlow or Keras.
"""
from scratch.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from scratch.initializers import INITIALIZERS
from scratch.losses import LOSSES
from scratch import layers, optimizers, profiling, tolerances
from scratch.layers import (
    Activation, BatchNormalization, Dense, Dropout, Input, LayerNormalization, LeakyReLU, ReLU, Softmax,
)
from scratch.network import DTYPES, Network
from scratch.saving import load, save
from scratch.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from scratch.regularizers import l2_from_lambda
from scratch.training import evaluate, fit

INIT_MODES = tuple(INITIALIZERS)

__all__ = [
    "ACTIVATIONS", "DTYPES", "HIDDEN_ACTIVATIONS", "INITIALIZERS", "INIT_MODES", "LOSSES",
    "Activation", "Adagrad", "Adam", "AdamW", "BatchNormalization", "Dense", "Dropout", "Input", "LayerNormalization", "LeakyReLU", "Network", "ReLU", "RMSprop", "SGD", "Softmax", "evaluate", "fit", "l2_from_lambda",
    "layers", "load", "optimizers", "profiling", "save", "tolerances",
]
