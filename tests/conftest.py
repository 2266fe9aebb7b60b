import functools

import pytest


@pytest.fixture(scope="session")
def keras_model():
    """``keras_ref.build_model`` shared across tests: one build (and one trace) per spec."""
    import keras_ref

    @functools.lru_cache(maxsize=None)
    def build(layers=(4, 6, 1), hidden_activation="sigmoid", output_activation="sigmoid",
              loss="binary_crossentropy", l2=0.0, dtype="float64"):
        return keras_ref.build_model(list(layers), hidden_activation=hidden_activation,
                                     output_activation=output_activation, loss=loss, l2=l2,
                                     seed=0, dtype=dtype)
    return build
