"""scratch.intermediates: one training pass, every quantity named layer by layer (no TensorFlow)."""
import numpy as np
import pytest

import scratch
from scratch.intermediates import layer_by_layer
from scratch.layers import Activation, BatchNormalization, Dense, Dropout, Input


def lecture(**kw):
    return scratch.Network([4, 6, 3], dtype="float64", seed=1, **kw)


def batch(n_out, m=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal((m, 4)), (rng.random((m, n_out)) > 0.5).astype(float)


def test_the_pass_is_loss_and_gradients_with_every_step_kept():
    net = lecture(hidden_activation="relu", output_activation="softmax", loss="categorical_crossentropy")
    X, Y = batch(3)
    p = layer_by_layer(net, X, Y)
    # the loss reads softmax's logits: the pass starts at dZ2, with no dA2
    assert list(p.values) == ["Z1", "A1", "Z2", "A2", "loss", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]
    J, grads = net.loss_and_gradients(X, Y)
    assert p.values["loss"] == J
    for name, g in zip(["dW1", "db1", "dW2", "db2"], grads):
        assert np.array_equal(p.values[name], g)
    assert np.array_equal(p.values["dA1"], p.values["dZ2"] @ net.layers[1].W.T)       # dA1 = dZ2 W2^T
    assert np.array_equal(p.values["dZ1"], p.values["dA1"] * (p.values["Z1"] > 0))   # dZ1 = dA1 relu'(Z1)
    assert set(p.magnitudes) == {n for n in p.values if n.startswith("d")}
    assert p.where["dZ2"].equation == "dZ[L] = (A[L] - Y) / m" and p.where["db1"].layer == 1


def test_without_logits_the_pass_starts_at_da():
    net = lecture(output_activation="linear", loss="mean_squared_error")
    p = layer_by_layer(net, *batch(3))
    assert list(p.values)[5:7] == ["dA2", "dZ2"] and p.where["dA2"].pass_ == "backward"


def test_every_layer_kind_gives_its_quantities():
    net = scratch.Network(layers=[Input(4), Dense(6, "tanh"), BatchNormalization(), Dropout(0.5), Dense(3),
                                  Activation("sigmoid")], loss="binary_crossentropy", dtype="float64", seed=0)
    p = layer_by_layer(net, *batch(3, m=16))
    assert list(p.values) == ["Z1", "A1", "xhat2", "A2", "mask3", "A3", "Z4", "A4", "A5", "loss",
                              "dA4", "dZ4", "dW4", "db4", "dA3", "dA2", "dgamma2", "dbeta2", "dA1", "dZ1", "dW1", "db1"]
    assert p.where["dA4"].equation == "dZ[L] = (A[L] - Y) / m"  # the sigmoid layer's logits
    assert np.allclose(p.values["xhat2"].mean(axis=0), 0) and set(np.unique(p.values["mask3"])) <= {0.0, 1.0}


@pytest.mark.parametrize("name", ["Z1", "A1", "loss", "dZ2", "dA1", "dZ1", "dW1"])
def test_a_perturbation_moves_that_quantity_and_what_it_feeds(name):
    net = lecture(hidden_activation="tanh", output_activation="softmax", loss="categorical_crossentropy")
    X, Y = batch(3)
    clean, moved = layer_by_layer(net, X, Y), layer_by_layer(net, X, Y, perturb=name)
    changed = [n for n in clean.values if not np.array_equal(clean.values[n], moved.values[n])]
    assert changed[0] == name
    order = list(clean.values)
    feeds = {"Z1": "dW1", "A1": "Z2", "dZ2": "dA1", "dA1": "dZ1", "dZ1": "dW1"}
    if name in feeds:  # downstream sees the moved value, as a wrong step would propagate
        assert feeds[name] in changed and order.index(feeds[name]) > order.index(name)


def test_a_quantity_the_pass_lacks_is_refused():
    net = lecture(output_activation="softmax", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"no quantity 'dA2' in this pass; valid: Z1, A1"):
        layer_by_layer(net, *batch(3), perturb="dA2")
    with pytest.raises(ValueError, match="'xhat1' is read from a layer's cache and cannot be moved"):
        layer_by_layer(net, *batch(3), perturb="xhat1")
