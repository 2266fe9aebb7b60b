import numpy as np
import pytest

from scratch import activations
from scratch.layers import activation_backward, dense_backward, dense_forward, matmul
from scratch.tolerances import sums
from tests.helpers import FD_STEP, assert_matches_fd, fd_gradients, make_xy


def test_the_lecture_matrix_product():
    """[[1,2],[3,4]] . [[5,6],[7,8]] = [[19,22],[43,50]], through a linear layer with b = 0.

    Exact: small integers' products and sums are exact in any order, with or without FMA.
    """
    A, cache = dense_forward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]),
                             np.zeros(2), activations.get("linear"))
    assert np.array_equal(A, [[19, 22], [43, 50]])
    assert set(cache) == {"A_prev", "Z", "A"}


def test_lecture_shapes_4_6_1():
    """W(1) is 4 x 6 and W(2) is 6 x 1: one example per row, no transposes."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4))
    A1, _ = dense_forward(X, rng.standard_normal((4, 6)), np.zeros(6), activations.get("sigmoid"))
    A2, _ = dense_forward(A1, rng.standard_normal((6, 1)), np.zeros(1), activations.get("sigmoid"))
    assert A1.shape == (3, 6) and A2.shape == (3, 1)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    A_prev, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dA = rng.standard_normal((5, 3))
    g = activations.get("tanh")

    def f(A_prev=A_prev, W=W, b=b):
        return np.sum(dA * dense_forward(A_prev, W, b, g)[0])

    A, cache = dense_forward(A_prev, W, b, g)
    dA_prev, dW, db = dense_backward(activation_backward(dA, cache, g), cache, W)
    # each within sqrt(size) (h^2 + eps / h) / norm (tolerances.finite_differences)
    assert_matches_fd(dW, fd_gradients(lambda w: f(W=w), W.copy()), what="dW")
    assert_matches_fd(db, fd_gradients(lambda v: f(b=v), b.copy()), what="db")
    assert_matches_fd(dA_prev, fd_gradients(lambda a: f(A_prev=a), A_prev.copy()), what="dA_prev")


def test_first_layer_skips_the_input_gradient():
    cache = {"A_prev": np.ones((2, 3)), "Z": np.ones((2, 1)), "A": np.ones((2, 1))}
    dA_prev, dW, db = dense_backward(np.ones((2, 1)), cache, np.ones((3, 1)), need_dA_prev=False)
    assert dA_prev is None and dW.shape == (3, 1) and db.shape == (1,)


@pytest.mark.parametrize("a_shape, b_shape", [((7, 1), (1, 5)), ((5, 1), (1, 1)), ((6, 4), (4, 3))])
def test_matmul_takes_a_single_term_product_as_an_outer_product_with_the_same_values(a_shape, b_shape):
    """A one-unit output layer's dA_prev = dZ @ W^T and a batch of one's dW have one term per sum.

    Equal bits: a one-term sum is one correctly rounded product, whatever the kernel.
    """
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
        a[0] = 0.0  # zeros too: the outer product may give -0.0 where BLAS gives +0.0, equal values
        out = np.empty((a_shape[0], b_shape[1]), dtype)
        assert matmul(a, b, out=out) is out
        assert np.array_equal(out, np.matmul(a, b)) and out.dtype == dtype
        strided = np.repeat(a, 2, axis=1)[:, ::2]  # not contiguous
        assert np.array_equal(matmul(strided, b), np.matmul(strided, b))


@pytest.mark.parametrize("a_shape, b_shape", [((3, 1), (2, 3)), ((2, 3, 1), (2, 1, 4)), ((3, 1), (1,)), ((1,), (1,))])
def test_matmul_leaves_every_other_shape_to_numpy(a_shape, b_shape):
    """Mismatched, stacked and 1-D operands behave exactly as np.matmul, errors included."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    try:
        expected = np.matmul(a, b)
    except ValueError as e:
        with pytest.raises(ValueError, match="mismatch"):
            matmul(a, b)
        assert "mismatch" in str(e)
        return
    got = matmul(a, b)
    assert np.shape(got) == np.shape(expected) and np.array_equal(got, expected)


def test_a_batch_of_one_backward_through_a_one_unit_layer_matches_finite_differences():
    rng = np.random.default_rng(3)
    A_prev, W, b = rng.standard_normal((1, 4)), rng.standard_normal((4, 1)), rng.standard_normal(1)
    g = activations.get("sigmoid")

    def f(A_prev=A_prev, W=W, b=b):
        return np.sum(dense_forward(A_prev, W, b, g)[0])

    A, cache = dense_forward(A_prev, W, b, g)
    dA_prev, dW, db = dense_backward(activation_backward(np.ones_like(A), cache, g), cache, W)
    assert_matches_fd(dW, fd_gradients(lambda w: f(W=w), W.copy()), what="dW")
    assert_matches_fd(dA_prev, fd_gradients(lambda a: f(A_prev=a), A_prev.copy()), what="dA_prev")


# --- the layer stack ---------------------------------------------------------------------------

def lecture_stack(hidden="tanh", **kwargs):
    import scratch
    return scratch.Network(layers=[scratch.Input(4), scratch.Dense(6, hidden), scratch.Dense(1, "sigmoid")],
                           seed=0, dtype="float64", **kwargs)


def test_the_general_form_is_the_lecture_form_bit_for_bit():
    import scratch
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    stack, sizes = lecture_stack(), scratch.Network([4, 6, 1], hidden_activation="tanh", seed=0, dtype="float64")
    assert all(np.array_equal(a, b) for a, b in zip(stack.get_weights(), sizes.get_weights()))
    (J1, g1), (J2, g2) = stack.loss_and_gradients(X, y), sizes.loss_and_gradients(X, y)
    assert J1 == J2 and all(np.array_equal(a, b) for a, b in zip(g1, g2))
    assert stack.layer_sizes == [4, 6, 1] and [g.name for g in stack.activations] == ["tanh", "sigmoid"]


def test_an_activation_layer_is_the_dense_layers_own_activation_bit_for_bit():
    """Dense(6) then Activation("tanh") computes tanh(Z) from the same Z; backward, dZ passes
    through the linear activation unchanged, and the sigmoid output still gives its logits."""
    import scratch
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    split = scratch.Network(layers=[scratch.Input(4), scratch.Dense(6), scratch.Activation("tanh"),
                                    scratch.Dense(1), scratch.Activation("sigmoid")], seed=0, dtype="float64")
    fused = lecture_stack()
    assert all(np.array_equal(a, b) for a, b in zip(split.get_weights(), fused.get_weights()))
    (J1, g1), (J2, g2) = split.loss_and_gradients(X, y), fused.loss_and_gradients(X, y)
    assert J1 == J2 and all(np.array_equal(a, b) for a, b in zip(g1, g2))
    # negative control: without the logits path (a crossed link is not involved here, so compare
    # with a loss that reads probabilities) the same network gives other gradients
    probs = scratch.Network(layers=[scratch.Input(4), scratch.Dense(6), scratch.Activation("tanh"),
                                    scratch.Dense(1), scratch.Activation("sigmoid")], seed=0, dtype="float64",
                            loss="mean_squared_error")
    assert not np.array_equal(probs.loss_and_gradients(X, y)[1][0], g1[0])


def test_config_rebuilds_the_network_and_is_json():
    import json

    import scratch
    net = scratch.Network([4, 6, 3], hidden_activation="leaky_relu", output_activation="softmax",
                          loss="categorical_crossentropy", l2=0.01, seed=1, dtype="float64",
                          optimizer=scratch.SGD(0.1, momentum=0.9))
    config = json.loads(json.dumps(net.get_config()))
    twin = scratch.Network.from_config(config)
    twin.set_weights(net.get_weights())
    X, _ = make_xy((4, 6, 3), "categorical_crossentropy")
    assert np.array_equal(twin.predict(X), net.predict(X))
    assert twin.get_config() == config and twin.optimizer.get_config() == net.optimizer.get_config()
    assert twin.layers[0].kernel_regularizer.factor == np.float32(0.01)  # the quirk follows the config


@pytest.mark.parametrize("layers, message", [
    (lambda s: [s.Dense(6), s.Dense(1)], "must start with Input"),
    (lambda s: [s.Input(4)], "layers after Input"),
    (lambda s: [s.Input(4), "Dense"], "layers after Input must be scratch layers"),
    (lambda s: [s.Input(0), s.Dense(1)], "Input units must be an integer >= 1"),
    (lambda s: [s.Input(4), s.Dense(1, "bent_identity")], "unknown activation 'bent_identity'; valid: sigmoid"),
])
def test_a_bad_stack_is_refused_by_name(layers, message):
    import scratch
    with pytest.raises(ValueError, match=message):
        scratch.Network(layers=layers(scratch))


def test_an_unknown_layer_in_a_config_names_the_valid_ones():
    import scratch
    config = lecture_stack().get_config()
    config["layers"][1]["class_name"] = "Conv2D"
    with pytest.raises(ValueError, match="unknown layer 'Conv2D'; valid: Dense, Activation"):
        scratch.Network.from_config(config)


def test_fit_uses_the_optimizer_the_network_carries_and_adam_without_one():
    import scratch
    X, y = make_xy((4, 6, 1), "binary_crossentropy", m=16)
    carried = scratch.SGD(0.1)
    net = lecture_stack(optimizer=carried)
    scratch.fit(net, X, y, epochs=2, batch_size=8, verbose=0)
    assert net.optimizer is carried and carried.iterations == 4
    bare = lecture_stack()
    scratch.fit(bare, X, y, epochs=1, batch_size=8, verbose=0)
    assert isinstance(bare.optimizer, scratch.Adam) and bare.optimizer.iterations == 2


# --- the ReLU layer: Keras's settings ---------------------------------------------------------

#: ReLU settings whose composite Keras computes (no shortcut), and Keras's shortcuts.
RELU_COMPOSITES = [{"threshold": 0.5}, {"max_value": 1.5}, {"max_value": 6.0, "negative_slope": 0.1},
                   {"max_value": 6.0, "threshold": 0.5}, {"negative_slope": 0.1, "max_value": 4.0, "threshold": 1.0},
                   {"negative_slope": 0.3, "max_value": 1.0, "threshold": 2.0}, {"max_value": 0.0}]


def relu_layer(dtype="float64", **settings):
    import scratch
    layer = scratch.ReLU(**settings)
    layer.build(9, dtype, frozenset({"leaky_relu_slope"}))
    return layer


def relu_forward_backward(layer, Z, dA=None):
    A = layer.forward(Z)
    return A, layer.backward(np.ones_like(Z) if dA is None else dA)


def test_relu_layer_hand_values_at_and_between_the_kinks():
    """Keras's composite on [-1, 0, 0.5, 1, 1.5, 2, 4, 6, 7], forward and dZ for dA = 1: exact,
    each value a Z, a setting, 0 or one product s (Z - t) (as Keras's ReLU gives them).  At the
    threshold dZ is 0; at max_value 1 (Minimum's tie), except relu6's 0 at 6."""
    Z = np.array([[-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 4.0, 6.0, 7.0]])
    s = 0.1
    expected = {  # settings -> (A, dZ)
        (None, 0.0, 0.5): ([0, 0, 0, 1, 1.5, 2, 4, 6, 7], [0, 0, 0, 1, 1, 1, 1, 1, 1]),
        (1.5, 0.0, 0.0): ([0, 0, 0.5, 1, 1.5, 1.5, 1.5, 1.5, 1.5], [0, 0, 1, 1, 1, 0, 0, 0, 0]),
        (6.0, s, 0.0): ([-s, 0, 0.5, 1, 1.5, 2, 4, 6, 6], [s, 0, 1, 1, 1, 1, 1, 0, 0]),
        (6.0, 0.0, 0.5): ([0, 0, 0, 1, 1.5, 2, 4, 6, 6], [0, 0, 0, 1, 1, 1, 1, 1, 0]),
        (4.0, s, 1.0): ([-s * 2, -s * 1, -s * 0.5, 0, 1.5, 2, 4, 4, 4], [s, s, s, 0, 1, 1, 1, 0, 0]),
        (0.0, 0.0, 0.0): ([0] * 9, [0] * 9),
    }
    for (max_value, slope, threshold), (A, dZ) in expected.items():
        layer = relu_layer(max_value=max_value, negative_slope=slope, threshold=threshold)
        got_A, got_dZ = relu_forward_backward(layer, Z)
        assert np.array_equal(got_A, [A]) and np.array_equal(got_dZ, [dZ]), (max_value, slope, threshold)


@pytest.mark.parametrize("settings", RELU_COMPOSITES, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_relu_layer_backward_matches_finite_differences_away_from_its_kinks(settings):
    """dZ is the gradient of f = sum(dA * ReLU(Z)) wherever the +-h stencil stays on one piece;
    the entries whose stencil straddles a kink (threshold, max_value, 0) are left out, and the
    grid puts one exactly on each.
    One evaluation of f is off by at most (size + 3) eps sum|dA A|: the sum's roundings, and A's
    (t - Z, the product by s, the difference), passed as ``f_error``.
    """
    layer = relu_layer(**settings)
    kinks = layer.activation.kinks
    rng = np.random.default_rng(4)
    Z = rng.uniform(-3, 8, (6, 9))
    Z[0, :len(kinks)] = kinks
    dA = rng.standard_normal(Z.shape)
    A, dZ = relu_forward_backward(layer, Z, dA)
    fd = fd_gradients(lambda z: np.sum(dA * layer.activation.forward(z)), Z.copy())
    straddles = layer.activation.piece(Z - FD_STEP) != layer.activation.piece(Z + FD_STEP)
    assert straddles[0, :len(kinks)].all() and straddles.sum() == len(kinks)
    f_error = sums(np.float64, Z.size + 3) * float(np.sum(np.abs(dA * A)))
    assert_matches_fd(np.where(straddles, 0, dZ), np.where(straddles, 0, fd), f_error=f_error,
                      what=f"ReLU{settings}")


def test_finite_differences_catch_a_wrong_relu_slope():
    """Negative control: slope 0.3's dZ against the finite differences of slope 0.2's ReLU fails."""
    Z = np.random.default_rng(5).uniform(-3, -1, (4, 9))  # all below the threshold: no kink near
    dA = np.ones_like(Z)
    right, wrong = (relu_layer(negative_slope=s, threshold=0.5, max_value=4.0) for s in (0.2, 0.3))
    A, dZ = relu_forward_backward(right, Z, dA)
    fd = fd_gradients(lambda z: np.sum(dA * right.activation.forward(z)), Z.copy())
    f_error = sums(np.float64, Z.size + 3) * float(np.sum(np.abs(A)))
    assert_matches_fd(dZ, fd, f_error=f_error)
    with pytest.raises(AssertionError, match="rel diff"):
        assert_matches_fd(relu_forward_backward(wrong, Z, dA)[1], fd, f_error=f_error)


def test_relu_layer_takes_keras_s_shortcuts():
    """No settings is relu, max_value=6 alone relu6, a slope alone leaky_relu (its float32 slope
    in float64, as TensorFlow's LeakyRelu attribute); anything else Keras's composite, whose slope
    multiplies in the model's dtype (exact in float64)."""
    assert relu_layer().activation is activations.ACTIVATIONS["relu"]
    assert relu_layer(max_value=6).activation is activations.ACTIVATIONS["relu6"]
    leaky = relu_layer(negative_slope=0.1)
    assert leaky.activation.name == "leaky_relu" and leaky.activation.config == {"negative_slope": float(np.float32(0.1))}
    composite = relu_layer(negative_slope=0.1, threshold=0.5)
    assert composite.activation.name == "relu" and composite.activation.config == {
        "negative_slope": 0.1, "max_value": None, "threshold": 0.5}
    assert composite.forward(np.array([[-1.0]]))[0, 0] == -0.1 * 1.5  # not float32(0.1) * 1.5
    assert composite.summary() == "ReLU(negative_slope=0.1, threshold=0.5)"
    assert activations.get("relu", threshold=0.5, max_value=2.0).kinks == (0.5, 2.0)
    assert activations.get("relu", max_value=6) is activations.get("relu6")


@pytest.mark.parametrize("settings", RELU_COMPOSITES + [{}, {"max_value": 6}, {"negative_slope": 0.2},
                                                        {"max_value": float("inf"), "threshold": 1.0}])
def test_relu_layer_config_rebuilds_it(settings):
    import json

    import scratch
    from scratch import layers
    layer = scratch.ReLU(name="r", **settings)
    config = json.loads(json.dumps(layers.get_config(layer)))
    again = layers.from_config(config)
    assert type(again) is scratch.ReLU and again.get_config() == layer.get_config() == config["config"]
    net = scratch.Network(layers=[scratch.Input(3), scratch.Dense(9), again, scratch.Dense(1)], seed=0,
                          dtype="float64")
    twin = scratch.Network.from_config(net.get_config())
    twin.set_weights(net.get_weights())
    X = np.random.default_rng(6).uniform(-2, 2, (8, 3))
    assert np.array_equal(twin.predict(X), net.predict(X))


@pytest.mark.parametrize("settings, message", [
    ({"max_value": -1.0}, "ReLU max_value must be None or a number >= 0, got -1.0"),
    ({"negative_slope": -0.1}, "ReLU negative_slope must be a finite number >= 0, got -0.1"),
    ({"negative_slope": None}, "ReLU negative_slope must be a finite number >= 0, got None"),
    ({"threshold": -0.5}, "ReLU threshold must be a finite number >= 0, got -0.5"),
    ({"threshold": None}, "ReLU threshold must be a finite number >= 0, got None"),
    ({"threshold": float("nan")}, "ReLU threshold must be a finite number >= 0, got nan"),
    ({"max_value": "6"}, "ReLU max_value must be None or a number >= 0, got '6'"),
])
def test_relu_layer_refuses_what_keras_refuses_by_name(settings, message):
    """Keras's layer refuses a negative max_value, and a None or negative slope or threshold;
    scratch also refuses NaN, an infinite slope or threshold, and a setting that is not a number."""
    import scratch
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scratch.ReLU(**settings)
