"""The Keras reference: model builders and gradients as ``model.fit`` computes them.

Nothing in this package imports ``scratch``.
"""
from keras_ref.gradients import loss_and_gradients, output_loss_and_gradients
from keras_ref.models import (
    DTYPES, HIDDEN_ACTIVATIONS, INIT_MODES, LEAKY_RELU_SLOPE, LOSSES, OUTPUT_ACTIVATIONS,
    build_model, compile_model, initial_weights, kernel_initializer,
)

__all__ = [
    "DTYPES", "HIDDEN_ACTIVATIONS", "INIT_MODES", "LEAKY_RELU_SLOPE", "LOSSES", "OUTPUT_ACTIVATIONS",
    "build_model", "compile_model", "initial_weights", "kernel_initializer", "loss_and_gradients",
    "output_loss_and_gradients",
]
