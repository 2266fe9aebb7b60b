import subprocess
import sys

import numpy as np
import pytest

import scratch
from compare.finite_differences import central_differences
from tests.helpers import make_xy, rel_diff

COMBOS = [  # (layers, output activation, loss)
    ((4, 6, 1), "sigmoid", "binary_crossentropy"),
    ((4, 6, 3), "softmax", "categorical_crossentropy"),
    ((4, 6, 2), "linear", "mean_squared_error"),
    ((4, 6, 2), "sigmoid", "mean_squared_error"),
    ((4, 5, 3, 2), "softmax", "binary_crossentropy"),  # probabilities path: BCE reads sigmoid logits only
]


def test_get_weights_is_keras_order_and_shapes():
    net = scratch.Network([4, 6, 1], seed=0)
    assert [w.shape for w in net.get_weights()] == [(4, 6), (6,), (6, 1), (1,)]
    assert all(w.dtype == np.float32 for w in net.get_weights())
    assert not net.get_weights()[1].any()  # biases start at zero
    assert net.n_params == 37


def test_set_weights_copies_and_casts():
    net = scratch.Network([2, 1], dtype="float64")
    w = [np.ones((2, 1), dtype=np.float32), np.zeros(1)]
    net.set_weights(w)
    w[0][0, 0] = 5.0
    assert net.get_weights()[0][0, 0] == 1.0 and net.get_weights()[0].dtype == np.float64


def test_predict_and_loss_and_gradients_shapes():
    net = scratch.Network([4, 6, 3], output_activation="softmax", loss="categorical_crossentropy", seed=1)
    X, y = make_xy((4, 6, 3), "categorical_crossentropy", m=10)
    assert net.predict(X).shape == (10, 3)
    assert np.allclose(net.predict(X).sum(axis=1), 1, atol=1e-6)
    loss, grads = net.loss_and_gradients(X, y)
    assert isinstance(loss, float)
    assert [g.shape for g in grads] == [w.shape for w in net.get_weights()]


def test_single_output_accepts_a_flat_y():
    net = scratch.Network([4, 6, 1], seed=0, dtype="float64")
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    (J_flat, g_flat), (J, g) = net.loss_and_gradients(X, y.ravel()), net.loss_and_gradients(X, y)
    assert J_flat == J and all(np.array_equal(a, b) for a, b in zip(g_flat, g))


@pytest.mark.parametrize("layers,output,loss", COMBOS)
def test_float32_networks_stay_float32(layers, output, loss):
    """No silent upcast: outputs and gradients keep the dtype, with L2 and int targets too."""
    net = scratch.Network(layers, hidden_activation="tanh", output_activation=output, loss=loss, l2=0.01, seed=0)
    X, y = make_xy(layers, loss, m=1)
    assert net.predict(X.astype(np.float64)).dtype == np.float32
    _, grads = net.loss_and_gradients(X, y.astype(int))
    assert all(g.dtype == np.float32 for g in grads)
    _, caches = net.forward(X)
    assert all(g.dtype == np.float32 for g in net.backward(y.astype(int), caches))


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("layers,output,loss", COMBOS)
def test_backprop_matches_finite_differences(layers, output, loss, hidden):
    net = scratch.Network(layers, hidden_activation=hidden, output_activation=output, loss=loss,
                          init_mode="glorot_normal", l2=0.003, seed=2, dtype="float64", keras_compat=False)
    net.set_weights([w + 0.1 for w in net.get_weights()])  # biases off zero too
    X, y = make_xy(layers, loss)
    _, grads = net.loss_and_gradients(X, y)
    fd, kinks = central_differences(net, X, y, h=1e-5)
    assert not any(k.any() for k in kinks)
    for g, f in zip(grads, fd):
        assert rel_diff(g, f) < 1e-7


def test_finite_differences_catch_a_wrong_derivative():
    """Negative control for the test above: a tanh whose derivative is off by 1 %."""
    from dataclasses import replace
    net = scratch.Network([4, 6, 1], hidden_activation="tanh", seed=2, dtype="float64")
    g = net.activations[0]
    net.activations[0] = replace(g, backward=lambda dA, Z, A: 1.01 * g.backward(dA, Z, A))
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    _, grads = net.loss_and_gradients(X, y)
    assert rel_diff(grads[0], central_differences(net, X, y)[0][0]) > 1e-3


def test_l2_is_the_lecture_lambda_over_2m():
    lam, m = 0.6, 16
    l2 = scratch.l2_from_lambda(lam, m)
    assert l2 == pytest.approx(lam / (2 * m))
    plain = scratch.Network([4, 6, 1], seed=0, dtype="float64", keras_compat=False)
    reg = scratch.Network([4, 6, 1], seed=0, dtype="float64", keras_compat=False, l2=l2)
    X, y = make_xy((4, 6, 1), "binary_crossentropy", m=m)
    (J0, g0), (J1, g1) = plain.loss_and_gradients(X, y), reg.loss_and_gradients(X, y)
    W1, _, W2, _ = plain.get_weights()
    assert J1 - J0 == pytest.approx(lam / (2 * m) * (np.sum(W1 ** 2) + np.sum(W2 ** 2)), rel=1e-12)
    assert np.allclose(g1[0] - g0[0], lam / m * W1, rtol=1e-10, atol=0)
    assert np.array_equal(g1[1], g0[1])  # biases are not regularised
    with pytest.raises(ValueError, match="m must be"):
        scratch.l2_from_lambda(1.0, 0)


def test_keras_compat_rounds_the_constants_through_float32():
    compat = scratch.Network([2, 3, 1], hidden_activation="leaky_relu", l2=0.01, dtype="float64")
    exact = scratch.Network([2, 3, 1], hidden_activation="leaky_relu", l2=0.01, dtype="float64",
                            keras_compat=False)
    z = np.array([[-1.0]])
    assert compat.activations[0].forward(z)[0, 0] == -0.009999999776482582
    assert exact.activations[0].forward(z)[0, 0] == -0.01
    assert compat._l2_factor == 0.009999999776482582 and exact._l2_factor == 0.01


@pytest.mark.parametrize("layers,output,loss", [((4, 6, 3), "softmax", "binary_crossentropy"),
                                                 ((4, 6, 3), "sigmoid", "categorical_crossentropy")])
def test_crossed_pairs_read_the_logits_only_under_keras_compat(layers, output, loss):
    """Keras's quirk: a cross-entropy applies its own link to the logits of any sigmoid/softmax."""
    from scratch import activations, losses
    X, y = make_xy(layers, loss)
    compat = scratch.Network(layers, output_activation=output, loss=loss, seed=3, dtype="float64")
    exact = scratch.Network(layers, output_activation=output, loss=loss, seed=3, dtype="float64",
                            keras_compat=False)
    A, caches = exact.forward(X)
    link = activations.get(losses.get(loss).logits_of)
    assert compat.cost(X, y) == pytest.approx(np.mean(losses.get(loss).per_example(y, link.forward(caches[-1]["Z"]))))
    assert exact.cost(X, y) == pytest.approx(np.mean(losses.get(loss).per_example(y, A)))
    assert abs(compat.cost(X, y) - exact.cost(X, y)) > 1e-3
    for net in (compat, exact):  # each is a consistent loss with its own exact gradient
        _, grads = net.loss_and_gradients(X, y)
        for g, f in zip(grads, central_differences(net, X, y)[0]):
            assert rel_diff(g, f) < 1e-7


def test_zero_init_keeps_hidden_units_identical():
    """The lecture's slide: with zero weights every hidden unit gets the same gradient."""
    net = scratch.Network([4, 6, 1], hidden_activation="tanh", init_mode="zero", dtype="float64")
    net.set_weights([net.get_weights()[0], net.get_weights()[1], np.full((6, 1), 0.3), np.zeros(1)])
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    A, caches = net.forward(X)
    dW1 = net.loss_and_gradients(X, y)[1][0]
    assert np.ptp(caches[0]["A"], axis=1).max() == 0  # a1 = a2 = ... for every example
    assert np.ptp(dW1, axis=1).max() == 0 and dW1.any()  # equal, non-zero columns


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer_sizes=[4]), "at least two sizes"),
    (dict(layer_sizes=[4, 0, 1]), "layer size 0"),
    (dict(layer_sizes=[4, 2.5, 1]), "layer size 2.5"),
    (dict(hidden_activation="swish"), "unknown hidden_activation 'swish'; valid: sigmoid"),
    (dict(hidden_activation="softmax"), "unknown hidden_activation 'softmax'"),
    (dict(output_activation="elu"), "unknown output_activation 'elu'; valid:"),
    (dict(loss="hinge"), "unknown loss 'hinge'; valid: binary_crossentropy"),
    (dict(init_mode="xavier"), "unknown init_mode 'xavier'; valid: uniform"),
    (dict(dtype="float16"), "unknown dtype 'float16'; valid: float32, float64"),
    (dict(l2=-1.0), "l2 must be"),
    (dict(l2=float("nan")), "l2 must be"),
    (dict(seed=-1), "seed must be None or an integer >= 0"),
    (dict(seed="a"), "seed must be"),
    (dict(layer_sizes=5), "layer_sizes must be a list"),
    (dict(loss=["x"]), "unknown loss"),
    (dict(init_mode=None), "unknown init_mode None"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = dict(layer_sizes=[4, 6, 1]) | kwargs
    with pytest.raises(ValueError, match=match):
        scratch.Network(**args)


def test_bad_batches():
    net = scratch.Network([4, 6, 1])
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    with pytest.raises(ValueError, match=r"X must be \(m, 4\), got shape \(16, 3\)"):
        net.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"y must be \(16, 1\)"):
        net.loss_and_gradients(X, y[:8])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.predict(bad)
    bad_y = y.copy()
    bad_y[0, 0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        net.loss_and_gradients(X, bad_y)


def test_bad_set_weights():
    net = scratch.Network([4, 6, 1])
    with pytest.raises(ValueError, match="got 2 arrays, expected 4"):
        net.set_weights(net.get_weights()[:2])
    w = net.get_weights()
    w[2] = np.zeros((1, 6))
    with pytest.raises(ValueError, match=r"array 2 has shape \(1, 6\), expected \(6, 1\)"):
        net.set_weights(w)


def test_scratch_never_imports_a_framework():
    code = ("import sys, scratch, scratch.network, scratch.layers, scratch.losses, scratch.activations, "
            "scratch.initializers, scratch.regularizers, scratch.keras_compat; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_keras_ref_never_imports_scratch():
    code = "import sys, keras_ref, keras_ref.tune, keras_ref.cli; sys.exit(1 if 'scratch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_finite_differences_refuse_a_float32_network():
    with pytest.raises(ValueError, match="need a float64 network"):
        central_differences(scratch.Network([2, 1]), np.zeros((1, 2)), np.zeros((1, 1)))


def test_finite_differences_flag_exactly_the_entries_at_a_relu_kink():
    net = scratch.Network([1, 1, 1], hidden_activation="relu", dtype="float64")
    net.set_weights([np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
    X, y = np.zeros((1, 1)), np.ones((1, 1))  # Z1 = 0: the kink itself
    _, kinks = central_differences(net, X, y)
    assert [k.tolist() for k in kinks] == [[[False]], [True], [[False]], [False]]
