"""Every registry, walked on both sides, so that no name can drift: what scratch has, the twin maps
from a real Keras name, and what the twin maps names a real scratch entry and a real Keras class."""
import pytest

from compare import twin
from keras_ref import names
from scratch import activations, initializers, layers, losses, optimizers


@pytest.fixture(scope="module")
def keras():
    from keras_ref import quiet
    return quiet.keras()


def scratch_name(config) -> str:
    return config if isinstance(config, str) else config["name"]


def test_activations_both_ways(keras):
    import keras_ref.models  # noqa: F401  (registers keras_ref's leaky_relu)
    mapped = {scratch_name(c) for c in twin.ACTIVATIONS.values()}
    assert mapped == set(activations.ACTIVATIONS)  # every scratch activation is reachable from Keras
    for keras_name, config in twin.ACTIVATIONS.items():
        found = (keras.saving.get_registered_object(keras_name) if ">" in keras_name  # keras_ref's, registered
                 else keras.activations.get(keras_name))
        assert callable(found), keras_name  # a real Keras activation
        activations.get(scratch_name(config), **({} if isinstance(config, str) else
                                                 {k: v for k, v in config.items() if k != "name"}))
    assert set(names.OUTPUT_ACTIVATIONS) <= set(activations.ACTIVATIONS)  # keras_ref's builders' names


def test_losses_both_ways(keras):
    assert set(twin.LOSSES.values()) == set(losses.LOSSES) == set(twin.LOSS_CLASSES.values())
    for class_name in twin.LOSS_CLASSES:
        assert issubclass(getattr(keras.losses, class_name), keras.losses.Loss)
    for keras_name in twin.LOSSES:
        assert callable(keras.losses.get(keras_name))
    assert set(names.LOSSES) <= set(losses.LOSSES)


def test_optimizers_both_ways(keras):
    assert set(twin.OPTIMIZERS.values()) == set(optimizers.OPTIMIZERS) == set(twin.KERAS_SLOTS)
    for class_name, kind in twin.OPTIMIZERS.items():
        keras_optimizer = getattr(keras.optimizers, class_name)
        assert issubclass(keras_optimizer, keras.optimizers.Optimizer)
        assert set(twin.KERAS_SLOTS[kind]) >= set(optimizers.OPTIMIZERS[kind]()._slot_names())


def test_layers_both_ways(keras):
    assert set(twin.SUPPORTED_LAYERS) == {"InputLayer"} | set(layers.LAYERS)
    for class_name in twin.SUPPORTED_LAYERS:
        assert issubclass(getattr(keras.layers, class_name), keras.layers.Layer)


def test_initializers_both_ways(keras):
    assert set(initializers.INITIALIZERS) == set(names.INIT_MODES)
    for name in names.INIT_MODES:
        assert keras.initializers.get(name) is not None


def test_the_walk_catches_a_drifted_name(keras, monkeypatch):
    """Negative control: a scratch activation the twin cannot reach fails the walk."""
    monkeypatch.setitem(activations.ACTIVATIONS, "bent_identity", activations.ACTIVATIONS["linear"])
    with pytest.raises(AssertionError):
        test_activations_both_ways(keras)
