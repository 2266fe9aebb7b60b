import subprocess
import sys

import numpy as np
import pytest

import scratch
from compare.finite_differences import central_differences
from scratch.tolerances import FUNCTION_ULPS, network, sums, ulps
from tests.helpers import assert_close, assert_matches_fd, fd_tolerance, make_xy, rel_diff

#: central_differences' default step.
H = 1e-5


def cost_error(net, X, y) -> float:
    """How far one evaluation of the cost J may be off: N eps |J| (``tolerances.network``).

    Finite differences divide this, not eps, by h: on 4-5-3-2 with linear hidden layers
    (|J| = 1.5) they are off by up to 25 eps / h, twice sqrt(size) (h^2 + eps / h) / norm.
    """
    return network(np.float64, net.layer_sizes, len(X), net.l2 > 0) * abs(net.cost(X, y))

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
    # float32: exp (FUNCTION_ULPS), the normalising 3-term sum and this 3-term sum (two sums of 3)
    assert_close(net.predict(X).sum(axis=1), 1, atol=ulps(np.float32, FUNCTION_ULPS) + 2 * sums(np.float32, 3),
                 what="softmax rows sum to 1")
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
    fd, kinks = central_differences(net, X, y, h=H)
    assert not any(k.any() for k in kinks)
    for i, (g, f) in enumerate(zip(grads, fd)):  # sqrt(size) (h^2 + N eps |J| / h) / norm
        assert_matches_fd(g, f, H, cost_error(net, X, y), what=f"gradient {i}")


def test_finite_differences_catch_a_wrong_derivative():
    """Negative control for the test above: a tanh whose derivative is off by 1 %.

    dW1 is then 1.01 times the true one: a rel diff of 0.01 / 2.01 = 5e-3, some 1e6 times the
    finite differences' tolerance.
    """
    from dataclasses import replace
    net = scratch.Network([4, 6, 1], hidden_activation="tanh", seed=2, dtype="float64")
    hidden = net.layers[0]
    g = hidden.activation
    hidden.activation = replace(g, backward=lambda dA, Z, A: 1.01 * g.backward(dA, Z, A))
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    _, grads = net.loss_and_gradients(X, y)
    fd = central_differences(net, X, y, h=H)[0][0]
    tol = fd_tolerance(grads[0], fd, H, cost_error(net, X, y))
    assert rel_diff(grads[0], fd) > tol
    assert rel_diff(grads[0], fd) == pytest.approx(0.01 / 2.01, abs=tol)


def test_l2_is_the_lecture_lambda_over_2m():
    lam, m = 0.6, 16
    l2 = scratch.l2_from_lambda(lam, m)
    assert_close(l2, lam / (2 * m), ulps(np.float64, 2), what="l2")  # one division a side (2 m is exact)
    plain = scratch.Network([4, 6, 1], seed=0, dtype="float64", keras_compat=False)
    reg = scratch.Network([4, 6, 1], seed=0, dtype="float64", keras_compat=False, l2=l2)
    X, y = make_xy((4, 6, 1), "binary_crossentropy", m=m)
    (J0, g0), (J1, g1) = plain.loss_and_gradients(X, y), reg.loss_and_gradients(X, y)
    W1, _, W2, _ = plain.get_weights()
    # Both nets compute the same data loss and data gradient, bit for bit; the penalty is then
    # two orders of a sum of W1.size + W2.size positive squares (and 3 products and a sum of
    # two), and adding it to J0 rounds once, by an ulp of J1
    penalty = lam / (2 * m) * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    assert_close(J1 - J0, penalty, sums(np.float64, W1.size + W2.size + 4), atol=ulps(np.float64, 1) * J1,
                 what="J1 - J0")
    # dW1 += 2 l2 W1 rounds the product and the sum; g1 - g0 and lam / m W1 round once or twice
    # more: ulps of the terms |g1| and |lam / m W1|
    assert_close(g1[0] - g0[0], lam / m * W1, ulps(np.float64, 2), scale=np.abs(g1[0]) + np.abs(lam / m * W1),
                 what="dW1 with L2 - dW1 without")
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
    factors = [net.layers[0].kernel_regularizer.factor for net in (compat, exact)]
    assert factors == [0.009999999776482582, 0.01]


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
    P = link.forward(caches[-1]["Z"])
    # From logits against from probabilities (as in test_losses): per unit, ulps of
    # 1 + p / (1 - p) for exp and log on each side and 4 roundings; then two orders of the
    # batch's m-term sum of positive losses
    assert_close(compat.cost(X, y), np.mean(losses.get(loss).per_example(y, P)), sums(np.float64, len(X)),
                 atol=ulps(np.float64, 2 * FUNCTION_ULPS + 4) * np.mean(1 + P / (1 - P)), what="compat cost")
    # the same per-example losses: only the batch mean's order differs
    assert_close(exact.cost(X, y), np.mean(losses.get(loss).per_example(y, A)), sums(np.float64, len(X)),
                 what="exact cost")
    # the quirk, not rounding: far more apart than two correct computations of one loss can be
    costs = compat.cost(X, y), exact.cost(X, y)
    assert abs(costs[0] - costs[1]) > network(np.float64, layers, len(X)) * sum(map(abs, costs))
    for net in (compat, exact):  # each is a consistent loss with its own exact gradient
        _, grads = net.loss_and_gradients(X, y)
        for i, (g, f) in enumerate(zip(grads, central_differences(net, X, y, h=H)[0])):
            assert_matches_fd(g, f, H, cost_error(net, X, y), what=f"gradient {i}")


def test_zero_init_keeps_hidden_units_identical():
    """The lecture's slide: with zero weights every hidden unit gets the same gradient."""
    net = scratch.Network([4, 6, 1], hidden_activation="tanh", init_mode="zero", dtype="float64")
    net.set_weights([net.get_weights()[0], net.get_weights()[1], np.full((6, 1), 0.3), np.zeros(1)])
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    A, caches = net.forward(X)
    dW1 = net.loss_and_gradients(X, y)[1][0]
    assert np.ptp(caches[0]["A"], axis=1).max() == 0  # a1 = a2 = ... = tanh(0 + 0): exact
    # Equal, non-zero columns: column j of dW1 = X^T dZ1 sums the same m terms X_ki dZ1_k,
    # with dZ1 = 0.3 (A2 - y) / m (tanh'(0) = 1), but BLAS may sum an edge column in another
    # order: two orders of an m-term sum, relative to the terms' magnitudes
    terms = np.abs(X).T @ (0.3 * np.abs(A - y) / len(X))
    assert_close(dW1, dW1[:, :1], sums(np.float64, len(X)), scale=terms, what="dW1 columns")
    assert dW1.any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer_sizes=[4]), "at least two sizes"),
    (dict(layer_sizes=[4, 0, 1]), "layer size 0"),
    (dict(layer_sizes=[4, 2.5, 1]), "layer size 2.5"),
    (dict(hidden_activation="swish"), "unknown hidden_activation 'swish'; valid: sigmoid"),
    (dict(hidden_activation="softmax"), "unknown hidden_activation 'softmax'"),
    (dict(output_activation="bent_identity"), "unknown output_activation 'bent_identity'; valid:"),
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


SCRATCH_TESTS = ("test_activations", "test_initializers", "test_intermediates", "test_layers", "test_losses",
                 "test_network", "test_optimizers", "test_profiling", "test_saving")


def test_scratch_and_its_unit_tests_never_import_a_framework():
    modules = ", ".join(["scratch", "scratch.network", "scratch.layers", "scratch.losses", "scratch.activations",
                         "scratch.initializers", "scratch.intermediates", "scratch.regularizers",
                         "scratch.keras_compat", "scratch.training", "scratch.profiling", "scratch.tolerances",
                         "scratch.optimizers"]
                        + [f"tests.{m}" for m in SCRATCH_TESTS])
    code = (f"import sys, {modules}; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_keras_ref_never_imports_scratch():
    code = ("import sys, keras_ref, keras_ref.tune, keras_ref.cli, keras_ref.models, keras_ref.gradients, "
            "keras_ref.sweep, keras_ref.devices, keras_ref.datasets; sys.exit(1 if 'scratch' in sys.modules else 0)")
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


PREDICT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softmax", "elu", "gelu")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", PREDICT_ACTIVATIONS)
def test_predict_is_forward_in_inference_mode_value_for_value(activation, dtype):
    """predict's shortest paths (g written over Z, BatchNormalization without its centred X)
    give forward's values exactly, and never write the caller's X."""
    from scratch.layers import BatchNormalization, Dense, Dropout, Input, LayerNormalization
    net = scratch.Network(layers=[Input(5), Dense(9, activation), BatchNormalization(), Dropout(0.5),
                                  Dense(7, "relu"), LayerNormalization(), Dense(3, activation)],
                          loss="mean_squared_error", dtype=dtype, seed=3)
    X = np.random.default_rng(1).standard_normal((40, 5)).astype(dtype) * 3
    net.forward(X, training=True)  # moves BatchNormalization's moving statistics off their start
    kept = X.copy()
    out = net.predict(X)
    assert np.array_equal(out, net.forward(X)[0]) and out.dtype == np.dtype(dtype)
    assert np.array_equal(X, kept)
    # the control: one moved weight, and the two paths no longer match
    net.layers[0].W[0, 0] += 1e-3
    assert not np.array_equal(out, net.predict(X))


def test_predict_refuses_an_inf_that_relu_would_hide():
    net = scratch.Network([4, 6, 1], hidden_activation="relu")
    net.set_weights([-np.abs(w) for w in net.get_weights()])
    X = np.ones((2, 4), dtype=np.float32)
    X[0, 0] = np.inf  # every hidden Z is -inf: relu makes it 0 and the output finite
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.predict(X)


def test_predict_keeps_what_overflow_makes_as_forward_does():
    """Finite inputs whose Z overflows to -inf: relu gives 0 on both paths (not -inf * 0 = NaN)."""
    net = scratch.Network([2, 3, 1], hidden_activation="relu", output_activation="linear", loss="mean_squared_error")
    net.set_weights([np.full((2, 3), -3e38, np.float32), np.zeros(3, np.float32),
                     np.ones((3, 1), np.float32), np.zeros(1, np.float32)])
    X = np.full((1, 2), 10, dtype=np.float32)
    with np.errstate(over="ignore"):
        assert np.array_equal(net.predict(X), net.forward(X)[0]) and np.isfinite(net.predict(X)).all()


def test_the_lecture_settings_are_refused_beside_layers():
    from scratch.layers import Dense, Input
    with pytest.raises(ValueError, match=r"init_mode, l2 belong to the lecture's form \(layer_sizes\)"):
        scratch.Network(layers=[Input(3), Dense(2)], init_mode="he_normal", l2=0.1)
    net = scratch.Network(layers=[Input(3), Dense(2)])
    assert net.l2 is None and net.init_mode is None  # each layer holds its own
