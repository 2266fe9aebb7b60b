"""The names ``keras_ref`` accepts, without importing TensorFlow: parsers and checks need them first."""

#: The eight ``init_mode`` names, in the lecture's order; each is a ``keras.initializers.get`` name.
INIT_MODES = (
    "uniform", "lecun_uniform", "normal", "zero",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
)
#: The lecture's leaky ReLU slope (Keras's own default is 0.2).
LEAKY_RELU_SLOPE = 0.01
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)
#: Each a ``keras.losses`` class name in snake case (``keras_ref.models.LOSS_CLASSES``).
LOSSES = ("binary_crossentropy", "categorical_crossentropy", "mean_squared_error")
DTYPES = ("float32", "float64")
