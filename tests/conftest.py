import functools

import pytest


@pytest.fixture(scope="session")
def keras_model():
    """``keras_ref.build_model`` shared across tests: one build (and one trace) per spec."""
    import keras_ref

    @functools.lru_cache(maxsize=None)
    def build(layers, hidden_activation, output_activation, loss, l2, dtype):
        return keras_ref.build_model(list(layers), hidden_activation=hidden_activation,
                                     output_activation=output_activation, loss=loss, l2=l2,
                                     seed=0, dtype=dtype)

    def get(layers=(4, 6, 1), hidden_activation="sigmoid", output_activation="sigmoid",
            loss="binary_crossentropy", l2=0.0, dtype="float64"):
        """Read-only use: a test that trains or recompiles builds its own model."""
        return build(tuple(layers), hidden_activation, output_activation, loss, l2, dtype)
    return get
