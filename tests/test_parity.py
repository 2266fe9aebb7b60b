"""Scratch vs Keras from twin builders fed the same arrays: forward and backward separately."""
import numpy as np
import pytest

import keras_ref
import scratch
from compare.core import compare_named, failures
from compare.transfer import keras_to_scratch, scratch_to_keras
from scratch.tolerances import network
from tests.helpers import make_xy

#: make_xy's batch.
M = 16


def tol(dtype, layers, l2=0.0):
    """N eps (``tolerances.network``): 65 eps for 4-6-1 on a batch of 16, 7.7e-6 in float32 and
    1.4e-14 in float64; with L2 every kernel's squares add their terms."""
    return network(dtype, layers, M, l2 > 0)

COMBOS = [  # (layers, output activation, loss, l2)
    ((4, 6, 1), "sigmoid", "binary_crossentropy", 0.0),
    ((4, 6, 3), "softmax", "categorical_crossentropy", 0.01),
    ((4, 6, 2), "linear", "mean_squared_error", 0.0),
    ((4, 5, 3, 2), "softmax", "binary_crossentropy", 0.01),  # crossed: Keras reads softmax's logits
    ((4, 6, 3), "sigmoid", "categorical_crossentropy", 0.0),  # crossed: Keras reads sigmoid's logits
]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu"]


def twins(keras_model, layers, output, loss, l2, hidden, dtype):
    model = keras_model(layers, hidden, output, loss, l2, dtype)
    net = scratch.Network(layers, hidden_activation=hidden, output_activation=output, loss=loss,
                          l2=l2, dtype=dtype)
    return model, net


def sides(model, net, X, y):
    k_out, k_loss, k_grads = keras_ref.output_loss_and_gradients(model, X, y)
    s_loss, s_grads = net.loss_and_gradients(X, y)
    keras_side = {"output": k_out, "loss": k_loss, **{f"g{i}": g for i, g in enumerate(k_grads)}}
    scratch_side = {"output": net.predict(X), "loss": s_loss, **{f"g{i}": g for i, g in enumerate(s_grads)}}
    return keras_side, scratch_side


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("layers,output,loss,l2", COMBOS)
def test_forward_and_backward_agree(keras_model, layers, output, loss, l2, hidden, dtype):
    model, net = twins(keras_model, layers, output, loss, l2, hidden, dtype)
    model.set_weights(keras_ref.initial_weights(layers, "he_uniform", seed=4, dtype=dtype))
    keras_to_scratch(model, net)
    X, y = make_xy(layers, loss)
    keras_side, scratch_side = sides(model, net, X.astype(dtype), y.astype(dtype))
    forward = compare_named({"output": keras_side.pop("output")}, {"output": scratch_side.pop("output")},
                            tol(dtype, layers, l2))
    assert not failures(forward), forward
    backward = compare_named(keras_side, scratch_side, tol(dtype, layers, l2))
    assert not failures(backward), backward


@pytest.mark.parametrize("init_mode", scratch.INIT_MODES)
def test_scratch_initialised_weights_carried_to_keras(keras_model, init_mode):
    """The other direction: scratch draws, Keras receives."""
    layers = (4, 6, 1)
    model, _ = twins(keras_model, layers, "sigmoid", "binary_crossentropy", 0.0, "tanh", "float64")
    net = scratch.Network(layers, hidden_activation="tanh", init_mode=init_mode, seed=5, dtype="float64")
    scratch_to_keras(net, model)
    X, y = make_xy(layers, "binary_crossentropy")
    keras_side, scratch_side = sides(model, net, X.astype("float64"), y.astype("float64"))
    assert not failures(compare_named(keras_side, scratch_side, tol("float64", layers)))


@pytest.fixture
def agreeing_pair(keras_model):
    layers = (4, 6, 1)
    model, net = twins(keras_model, layers, "sigmoid", "binary_crossentropy", 0.0, "relu", "float64")
    model.set_weights(keras_ref.initial_weights(layers, "glorot_uniform", seed=6, dtype="float64"))
    keras_to_scratch(model, net)
    X, y = make_xy(layers, "binary_crossentropy")
    return model, net, X.astype("float64"), y.astype("float64")


def test_negative_control_perturbed_weight(agreeing_pair):
    """One W2 entry moved by 1e-6 moves the output, loss and dW1 by 3e-8 to 5e-7 relative: over
    1e6 times the tolerance (1.4e-14)."""
    model, net, X, y = agreeing_pair
    w = net.get_weights()
    w[2][0, 0] += 1e-6
    net.set_weights(w)
    result = compare_named(*sides(model, net, X, y), tol("float64", (4, 6, 1)))
    assert {"output", "loss", "g0"} <= set(failures(result))


def test_negative_control_perturbed_gradient(agreeing_pair):
    """db1 scaled by 1 + 1e-10 is a rel diff of 5e-11: 3500 times the tolerance (1.4e-14)."""
    model, net, X, y = agreeing_pair
    keras_side, scratch_side = sides(model, net, X, y)
    assert not failures(compare_named(keras_side, scratch_side, tol("float64", (4, 6, 1))))
    scratch_side["g1"] = scratch_side["g1"] * (1 + 1e-10)
    assert failures(compare_named(keras_side, scratch_side, tol("float64", (4, 6, 1)))) == ["g1"]


def test_transfer_refuses_a_different_architecture(keras_model):
    model = keras_model()
    with pytest.raises(ValueError, match="keras -> scratch: weight shapes"):
        keras_to_scratch(model, scratch.Network([4, 5, 1]))
    with pytest.raises(ValueError, match="scratch -> keras: weight shapes"):
        scratch_to_keras(scratch.Network([4, 6, 2]), model)
