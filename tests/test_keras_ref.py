import keras
import numpy as np
import pytest

import keras_ref
from scratch.tolerances import network, ulps
from tests.helpers import assert_close, make_xy


def test_default_compile_is_the_lecture_s():
    model = keras_ref.build_model([4, 6, 1])
    config = model.get_compile_config()
    assert config["loss"] == "binary_crossentropy"
    assert config["metrics"] == ["accuracy"]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert [tuple(w.shape) for w in model.get_weights()] == [(4, 6), (6,), (6, 1), (1,)]
    assert [layer.activation.__name__ for layer in model.layers[1:]] == ["sigmoid", "sigmoid"]


def test_float64_model_keeps_its_loss_in_float64():
    model = keras_ref.build_model([4, 6, 1], l2=0.01, dtype="float64")
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    history = model.fit(X.astype("float64"), y.astype("float64"), epochs=1, verbose=0)  # plain compile raises TypeError
    assert np.isfinite(history.history["loss"][0])
    assert model.compute_loss(x=X, y=y.astype("float64"), y_pred=model(X.astype("float64"))).dtype == "float64"
    assert keras.config.floatx() == "float32"  # compile_model restores it


def test_seeded_build_draws_what_initial_weights_draws():
    for mode in keras_ref.INIT_MODES:
        model = keras_ref.build_model([4, 6, 1], init_mode=mode, seed=11)
        for a, b in zip(model.get_weights(), keras_ref.initial_weights([4, 6, 1], mode, seed=11)):
            assert np.array_equal(a, b)


def test_leaky_relu_uses_the_lecture_slope():
    model = keras_ref.build_model([1, 1, 1], hidden_activation="leaky_relu", dtype="float64")
    model.set_weights([np.ones((1, 1)), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
    out = model.layers[1](np.array([[-1.0]]))
    assert float(out[0, 0]) == -0.009999999776482582  # TensorFlow holds alpha as float32


def test_loss_and_gradients_is_the_step_that_fit_takes():
    """One full-batch fit step with SGD(1.0) moves every weight by exactly -grad.

    fit's loss and gradients against loss_and_gradients': two computations of one network's,
    within N eps (``tolerances.network``, 95 eps for 4-6-1 with L2 on 16 examples).  The
    step w1 = w0 - g then rounds by half an ulp of w1, and w0 - w1 once more.
    """
    model = keras_ref.build_model([4, 6, 1], hidden_activation="tanh", l2=0.01, seed=3, dtype="float64")
    keras_ref.compile_model(model, "binary_crossentropy", "float64", optimizer=keras.optimizers.SGD(1.0))
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    X, y = X.astype("float64"), y.astype("float64")
    before = model.get_weights()
    loss, grads = keras_ref.loss_and_gradients(model, X, y)
    history = model.fit(X, y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    tol = network(np.float64, (4, 6, 1), len(X), l2=True)
    assert_close(history.history["loss"][0], loss, tol, what="fit's loss")
    for i, (w0, w1, g) in enumerate(zip(before, model.get_weights(), grads)):
        assert_close(w0 - w1, g, tol, atol=ulps(np.float64, 1) * np.maximum(np.abs(w0), np.abs(w1)),
                     what=f"step {i}")


def test_a_recompiled_model_is_traced_again():
    """The trace is kept per compile: after a new loss, the new loss is what comes back."""
    model = keras_ref.build_model([4, 6, 1], loss="mean_squared_error", seed=1, dtype="float64")
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    mse, _ = keras_ref.loss_and_gradients(model, X, y)
    step = keras_ref.gradients.traced_step(model)
    assert keras_ref.gradients.traced_step(model) is step  # reused while the compile stands
    keras_ref.compile_model(model, "binary_crossentropy", "float64")
    bce, _ = keras_ref.loss_and_gradients(model, X, y)
    P = model.predict(X.astype("float64"), verbose=0)
    # the loss from predict's output against the traced step's: N eps (tolerances.network), which
    # also covers Keras's BCE from the logits against this one from P (some 12 ulps of 1 + P / (1 - P))
    tol = network(np.float64, (4, 6, 1), len(X))
    assert_close(mse, np.mean((P - y) ** 2), tol, what="mse")
    assert_close(bce, -np.mean(y * np.log(P) + (1 - y) * np.log(1 - P)), tol, what="bce")


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer_sizes=[4]), "at least two sizes"),
    (dict(layer_sizes=[4, -1, 1]), "layer size -1"),
    (dict(hidden_activation="swish"), "unknown hidden_activation 'swish'; valid: sigmoid"),
    (dict(output_activation="elu"), "unknown output_activation 'elu'"),
    (dict(loss="hinge"), "unknown loss 'hinge'; valid: binary_crossentropy"),
    (dict(init_mode="xavier"), "unknown init_mode 'xavier'; valid: uniform, lecun_uniform"),
    (dict(dtype="float16"), "unknown dtype 'float16'"),
    (dict(l2=-0.1), "l2 must be"),
    (dict(seed=-3), "seed must be None or an integer >= 0"),
    (dict(seed="a"), "seed must be"),
    (dict(layer_sizes=5), "layer_sizes must be a list"),
    (dict(loss=["x"]), "unknown loss"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_ref.build_model(**(dict(layer_sizes=[4, 6, 1]) | kwargs))


def test_bad_batches(keras_model):
    model = keras_model()
    X, y = make_xy((4, 6, 1), "binary_crossentropy")
    with pytest.raises(ValueError, match=r"X must be \(m, 4\)"):
        keras_ref.loss_and_gradients(model, X[:, :2], y)
    with pytest.raises(ValueError, match=r"y must be \(16, 1\)"):
        keras_ref.loss_and_gradients(model, X, y[:3])
    X[1, 1] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        keras_ref.loss_and_gradients(model, X, y)
    X = X.astype(np.float64)
    X[1, 1] = 1e39  # finite in float64, inf in a float32 model
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(in float32\)"):
        keras_ref.loss_and_gradients(keras_model(dtype="float32"), X, y)


def test_compile_model_checks_its_arguments():
    model = keras_ref.build_model([4, 6, 1])
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        keras_ref.compile_model(model, "hinge", "float64")
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        keras_ref.compile_model(model, "binary_crossentropy", "float16")


def test_uncompiled_model_is_refused():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not compiled"):
        keras_ref.loss_and_gradients(model, np.zeros((1, 2)), np.zeros((1, 1)))
