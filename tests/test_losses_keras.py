"""scratch.losses against Keras's loss classes, and the twins of models compiled with them.

Loss by loss, setting by setting, in float32 and float64: the value (``sum_over_batch_size``)
and its gradient with respect to y_pred (``tf.GradientTape``), from probabilities and from the
logits Keras attaches to sigmoid and softmax outputs; then a small model per loss, twinned by
``compare.twin.from_keras``, compared on output, loss and gradients.  Each comparison has a
negative control that must fail.

Tolerances (``scratch.tolerances``): a loss sums m n unit terms into m per-example values and
their mean (m n + m roundings, as ``tolerances.network_terms`` counts a loss), a row sum over the
n units or classes (softmax's normalisation, categorical cross-entropy's A / sum A) adds n, and
each side's exp and log add FUNCTION_ULPS each.  Every term is positive, so the bound, relative to
the terms, holds for the result.  The gradient's elements go through the same row sum, the same
two functions and fewer arithmetic roundings, so the same count covers them:

    N = m n + m + n + 2 FUNCTION_ULPS        (8 x 3: 43 eps, 9.5e-15 in float64, 5.1e-6 in float32)
"""
import dataclasses
import warnings

import numpy as np
import pytest

from keras_ref import quiet
from scratch import activations, losses
from scratch.tolerances import FUNCTION_ULPS, network, sums
from tests.helpers import rel_diff

keras = quiet.keras()
tf = quiet.tensorflow()

pytestmark = pytest.mark.numerics  # rounding-dependent: CI reruns it under other BLAS kernels

M, K = 8, 3
DTYPES = ("float32", "float64")
CLASSES = {"binary_crossentropy": keras.losses.BinaryCrossentropy,
           "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
           "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
           "mean_squared_error": keras.losses.MeanSquaredError,
           "mean_absolute_error": keras.losses.MeanAbsoluteError,
           "huber": keras.losses.Huber}

_rng = np.random.default_rng(3)
#: Float32-representable, so that both dtypes see the same numbers.
Z = _rng.standard_normal((M, K)).astype(np.float32).astype(np.float64)
TARGETS = {
    "binary": _rng.integers(0, 2, size=(M, K)).astype(float),
    "onehot": np.eye(K)[_rng.integers(0, K, size=M)],
    "sparse": _rng.integers(0, K, size=(M, 1)).astype(float),
    "real": _rng.uniform(-1, 1, size=(M, K)).astype(np.float32).astype(np.float64),
}
#: (spec, targets, the activation whose output the loss gets): every loss, every setting.
SPECS = [
    ("binary_crossentropy", "binary", "sigmoid"),
    ({"name": "binary_crossentropy", "label_smoothing": 0.1}, "binary", "sigmoid"),
    ({"name": "binary_crossentropy", "from_logits": True}, "binary", "linear"),
    ({"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.2}, "binary", "linear"),
    ("categorical_crossentropy", "onehot", "softmax"),
    ("categorical_crossentropy", "onehot", "sigmoid"),
    ({"name": "categorical_crossentropy", "label_smoothing": 0.3}, "onehot", "softmax"),
    ({"name": "categorical_crossentropy", "from_logits": True}, "onehot", "linear"),
    ({"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.1}, "onehot", "linear"),
    ("sparse_categorical_crossentropy", "sparse", "softmax"),
    ("sparse_categorical_crossentropy", "sparse", "sigmoid"),
    ({"name": "sparse_categorical_crossentropy", "from_logits": True}, "sparse", "linear"),
    ("mean_squared_error", "real", "linear"),
    ("mean_absolute_error", "real", "linear"),
    ("huber", "real", "linear"),
    ({"name": "huber", "delta": 0.3}, "real", "linear"),
]


def ids(specs):
    return [(s if isinstance(s, str) else "-".join(f"{k}={v}" for k, v in s.items())) + f"-{o}" for s, _, o in specs]


def tol(dtype, m=M, n=K) -> float:
    """N eps with N = m n + m + n + 2 FUNCTION_ULPS (the module docstring derives it)."""
    return sums(dtype, m * n + m + n + 2 * FUNCTION_ULPS)


def keras_value_and_gradient(loss: losses.Loss, Y, A, dtype, link=None, config=None):
    """Keras's loss of (Y, A) and its gradient with respect to A: A is a tf.Variable, which carries
    no logits.  With ``link``, A are logits Z and the loss gets link(Z) with Z attached, as a
    Keras sigmoid or softmax output carries it; the gradient is then with respect to Z."""
    a = tf.Variable(A.astype(dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # from_logits=True on a sigmoid output: Keras warns, and reads Z
        with tf.GradientTape() as tape:
            y_pred = a if link is None else getattr(keras.activations, link)(a)
            value = CLASSES[loss.name](**(loss.config if config is None else config), dtype=dtype)(
                tf.constant(Y.astype(dtype)), y_pred)
    return float(value.numpy()), tape.gradient(value, a).numpy()


def scratch_value_and_gradient(loss: losses.Loss, Y, A, dtype):
    Y, A = Y.astype(dtype), A.astype(dtype)
    per_example = loss.per_example(Y, A)
    return per_example.sum() / len(per_example), loss.gradient(Y, A)


def assert_agree(what, scratch_side, keras_side, bound):
    (J, dA), (k_J, k_dA) = scratch_side, keras_side
    assert rel_diff(J, k_J) <= bound, f"{what} loss: {rel_diff(J, k_J):.3g} > {bound:.3g} (scratch vs keras)"
    assert rel_diff(dA, k_dA) <= bound, f"{what} dA: {rel_diff(dA, k_dA):.3g} > {bound:.3g} (scratch vs keras)"


def assert_differ(what, scratch_side, keras_side, bound):
    (J, dA), (k_J, k_dA) = scratch_side, keras_side
    assert max(rel_diff(J, k_J), rel_diff(dA, k_dA)) > bound, f"negative control {what} passed"


# --- the loss functions ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec,targets,output", SPECS, ids=ids(SPECS))
def test_value_and_gradient_match_keras(spec, targets, output, dtype):
    """From the output as given (probabilities, or logits with from_logits): per_example and gradient."""
    loss, Y = losses.get(spec), TARGETS[targets]
    A = activations.get(output).forward(Z)
    assert_agree(f"{spec} on {output}", scratch_value_and_gradient(loss, Y, A, dtype),
                 keras_value_and_gradient(loss, Y, A, dtype), tol(dtype))


#: Every cross-entropy on a sigmoid and a softmax output, whose logits Keras reads: the matching
#: pairs, the crossed ones (scratch.keras_compat's crossed_logits), and from_logits=True on such an
#: output, where Keras warns and reads the logits all the same.
LOGIT_SPECS = [(spec, targets, output) for spec, targets, _ in SPECS
               if losses.get(spec).logits_of is not None for output in ("sigmoid", "softmax")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec,targets,output", LOGIT_SPECS, ids=ids(LOGIT_SPECS))
def test_logits_behind_sigmoid_and_softmax_outputs_match_keras(spec, targets, output, dtype):
    """The network's form: per_example_from_logits(Y, Z), and dZ = gradient_from_logits(Y, link(Z))."""
    loss, Y = losses.get(spec), TARGETS[targets]
    P = activations.get(loss.logits_of).forward(Z.astype(dtype))
    scratch_side = (np.mean(loss.per_example_from_logits(Y.astype(dtype), Z.astype(dtype))),
                    loss.gradient_from_logits(Y.astype(dtype), P))
    keras_side = keras_value_and_gradient(loss, Y, Z, dtype, link=output)
    assert_agree(f"{spec} on the logits of {output}", scratch_side, keras_side, tol(dtype))
    # negative control: the output's probabilities taken as what the loss sees
    A = activations.get(output).forward(Z)
    assert_differ(f"{spec}: {output}'s A for its logits", scratch_value_and_gradient(loss, Y, A, dtype),
                  keras_side, tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_edges_match_keras(dtype):
    """The clip (A at 0, 1 and just inside or outside [1e-7, 1 - 1e-7]), MAE at A = Y (TensorFlow's
    sign(0) = 0) and Huber at |A - Y| = delta (the quadratic branch, as Keras's <= puts it)."""
    probabilities = np.array([[0.0, 1.0, 1e-8], [1 - 1e-8, 0.5, 0.25], [2e-7, 0.4, 1 - 2e-7]])
    for name, Y in [("binary_crossentropy", TARGETS["binary"][:3]), ("categorical_crossentropy", np.eye(3)),
                    ("sparse_categorical_crossentropy", np.array([[0.0], [1.0], [2.0]]))]:
        loss = losses.get(name)
        assert_agree(f"{name} at the clip", scratch_value_and_gradient(loss, Y, probabilities, dtype),
                     keras_value_and_gradient(loss, Y, probabilities, dtype), tol(dtype, 3, 3))
    Y = np.array([[0.5, -0.25, 1.0], [0.0, 0.0, 0.0]])
    A = Y + np.array([[0.0, 0.5, -0.5], [0.0, 2.0, -0.125]])  # ties, and |A - Y| = 0.5 exactly
    for spec in ("mean_absolute_error", {"name": "huber", "delta": 0.5}):
        loss = losses.get(spec)
        scratch_side, keras_side = (scratch_value_and_gradient(loss, Y, A, dtype),
                                    keras_value_and_gradient(loss, Y, A, dtype))
        assert_agree(f"{spec} at its kinks", scratch_side, keras_side, tol(dtype, 2, 3))
        assert np.array_equal(scratch_side[1], keras_side[1])  # sign, delta, x over 6: every element exact
    # negative control: sign(0) = 1 at the ties, as a subgradient could choose
    mae = losses.get("mean_absolute_error")
    J, dA = scratch_value_and_gradient(mae, Y, A, dtype)
    assert_differ("MAE with sign(0) = 1", (J, np.where(A == Y, 1 / A.size, dA)),
                  keras_value_and_gradient(mae, Y, A, dtype), tol(dtype, 2, 3))


def test_settings_reach_a_float64_loss_unrounded():
    """label_smoothing and delta are converted straight to float64 (tf.convert_to_tensor(x, dtype)),
    not through float32 as ops.cast does the L2 factor: the float64 scratch loss with the Python
    floats agrees; rounded through float32 first, as scratch.keras_compat.float32_constant would,
    it misses by thousands of tolerances or more.  Measured (rel diff, loss / gradient): binary,
    ls 0.1: 6.8e-11 / 4.7e-10; categorical, ls 0.3: 1.2e-9 / 8.6e-9; Huber, delta 0.3: 1.7e-8 / 1.9e-8,
    against 9.5e-15 (the two sides agree to 0.012 of it)."""
    cases = [({"name": "binary_crossentropy", "label_smoothing": 0.1}, "binary", "sigmoid"),
             ({"name": "categorical_crossentropy", "label_smoothing": 0.3}, "onehot", "softmax"),
             ({"name": "huber", "delta": 0.3}, "real", "linear")]
    for spec, targets, output in cases:
        loss, Y = losses.get(spec), TARGETS[targets]
        A = activations.get(output).forward(Z)
        keras_side = keras_value_and_gradient(loss, Y, A, "float64")
        assert_agree(f"{spec}", scratch_value_and_gradient(loss, Y, A, "float64"), keras_side, tol("float64"))
        key = "delta" if "delta" in spec else "label_smoothing"
        rounded = losses.get({**spec, key: float(np.float32(spec[key]))})
        J, dA = scratch_value_and_gradient(rounded, Y, A, "float64")
        assert min(rel_diff(J, keras_side[0]), rel_diff(dA, keras_side[1])) > 1e3 * tol("float64"), \
            f"{spec}: float32-rounded {key} agrees"


@pytest.mark.parametrize("dtype", DTYPES)
def test_settings_and_normalisations_are_each_needed(dtype):
    """Negative controls: a setting moved a little, and the formulas without the steps Keras takes."""
    for spec, targets, output, moved in [
            ({"name": "binary_crossentropy", "label_smoothing": 0.1}, "binary", "sigmoid", {"label_smoothing": 0.11}),
            ({"name": "categorical_crossentropy", "label_smoothing": 0.3}, "onehot", "softmax",
             {"label_smoothing": 0.31}),
            ({"name": "huber", "delta": 0.3}, "real", "linear", {"delta": 0.303})]:
        loss, Y = losses.get(spec), TARGETS[targets]
        A = activations.get(output).forward(Z)
        assert_differ(f"{spec} with {moved}", scratch_value_and_gradient(losses.get({**spec, **moved}), Y, A, dtype),
                      keras_value_and_gradient(loss, Y, A, dtype), tol(dtype))
    # sparse categorical cross-entropy on an output that does not sum to 1, without its log(sum_j a_j)
    loss, Y = losses.get("sparse_categorical_crossentropy"), TARGETS["sparse"]
    A = activations.get("sigmoid").forward(Z).astype(dtype)
    idx = Y[:, 0].astype(int)
    J = -np.mean(np.log(A[np.arange(M), idx]))
    dA = np.zeros_like(A)
    dA[np.arange(M), idx] = -1 / A[np.arange(M), idx] / M
    assert_differ("sparse without log(sum a)", (J, dA), keras_value_and_gradient(loss, Y, A, dtype), tol(dtype))


def test_softmax_cross_entropy_trains_on_p_minus_y():
    """TensorFlow's SoftmaxCrossEntropyWithLogits returns P - Y as its gradient, the derivative of
    its loss only where each row of Y sums to 1.  With multi-hot targets Keras's gradient is not
    its loss's (P sum_j y_j - Y); scratch returns Keras's."""
    Y = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]] * 3)[:M]
    loss = losses.get({"name": "categorical_crossentropy", "from_logits": True})
    keras_side = keras_value_and_gradient(loss, Y, Z, "float64")
    assert_agree("multi-hot targets", scratch_value_and_gradient(loss, Y, Z, "float64"), keras_side, tol("float64"))
    P = activations.get("softmax").forward(Z)
    derivative = (P * Y.sum(axis=1, keepdims=True) - Y) / M
    assert rel_diff(derivative, keras_side[1]) > 0.1  # measured 0.37: a different gradient, not a rounding


# --- twins of models compiled with each loss ---------------------------------------------------------

#: (spec, output activation, units): Dense(5, tanh) -> Dense(units, output activation).
MODELS = [
    ("binary_crossentropy", "sigmoid", 2),
    ({"name": "binary_crossentropy", "label_smoothing": 0.1}, "sigmoid", 2),
    ({"name": "binary_crossentropy", "from_logits": True}, "linear", 2),
    ({"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.2}, "linear", 2),
    ({"name": "binary_crossentropy", "from_logits": True}, "sigmoid", 2),  # Keras reads Z all the same
    ("categorical_crossentropy", "softmax", 3),
    ({"name": "categorical_crossentropy", "label_smoothing": 0.1}, "softmax", 3),
    ({"name": "categorical_crossentropy", "from_logits": True}, "linear", 3),
    ({"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.3}, "linear", 3),
    ("sparse_categorical_crossentropy", "softmax", 3),
    ("sparse_categorical_crossentropy", "sigmoid", 3),  # crossed: the softmax cross-entropy of sigmoid's Z
    ({"name": "sparse_categorical_crossentropy", "from_logits": True}, "linear", 3),
    ("mean_squared_error", "linear", 2),
    ("mean_absolute_error", "linear", 2),
    ("huber", "linear", 2),
    ({"name": "huber", "delta": 0.3}, "linear", 2),
]


def model_batch(name, units, dtype, rng):
    X = rng.standard_normal((M, 4)).astype(np.float32).astype(dtype)
    if name == "binary_crossentropy":
        Y = rng.integers(0, 2, (M, units))
    elif name == "categorical_crossentropy":
        Y = np.eye(units)[rng.integers(0, units, M)]
    elif name == "sparse_categorical_crossentropy":
        Y = rng.integers(0, units, (M, 1))
    else:
        Y = rng.uniform(-1, 1, (M, units)).astype(np.float32)
    return X, Y.astype(dtype)


def keras_side_of(model, X, Y, sparse):
    """keras_ref.output_loss_and_gradients; for sparse targets (m, 1), which it does not take yet,
    the same steps eagerly: y_pred = model(x, training=True), model.compute_loss, the tape."""
    import keras_ref
    if not sparse:
        return keras_ref.output_loss_and_gradients(model, X, Y)
    x, y = tf.constant(X), tf.constant(Y)
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None, training=True)
    return y_pred.numpy(), float(loss), [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def worst(net, X, Y, keras_side):
    out, k_loss, k_grads = keras_side
    J, grads = net.loss_and_gradients(X, Y)
    return {"output": rel_diff(net.predict(X), out), "loss": rel_diff(J, k_loss),
            "gradients": max(rel_diff(g, k) for g, k in zip(grads, k_grads))}


@pytest.mark.parametrize("dtype", DTYPES)
def test_twins_of_models_compiled_with_each_loss_agree(dtype):
    """Every float64 model is built here, in one test (Keras's state is per process)."""
    import scratch
    from compare import twin
    rng = np.random.default_rng(7)
    for spec, output, units in MODELS:
        loss = losses.get(spec)
        model = keras.Sequential([keras.Input((4,), dtype=dtype),
                                  keras.layers.Dense(5, activation="tanh", dtype=dtype),
                                  keras.layers.Dense(units, activation=output, dtype=dtype)])
        model.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in model.get_weights()])
        model.compile(loss=CLASSES[loss.name](**loss.config, dtype=dtype), optimizer="sgd")
        net = twin.from_keras(model)
        assert net.loss.config == loss.config and net.loss.name == loss.name, spec
        X, Y = model_batch(loss.name, units, dtype, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # from_logits=True on a sigmoid output
            keras_side = keras_side_of(model, X, Y, loss.sparse)
        bound = network(dtype, [4, 5, units], M)
        errors = worst(net, X, Y, keras_side)
        assert max(errors.values()) <= bound, (spec, output, dtype, errors, bound)
        # negative controls: the output kernel moved by 1000 tolerances; each setting back at its
        # default; for from_logits on a sigmoid or softmax output (where Keras reads Z, so that
        # from_logits changes nothing), the output's A read as the logits
        moved = scratch.Network.from_config(net.get_config())
        moved.set_weights([w * (1 + 1e3 * bound) if i == 2 else w for i, w in enumerate(net.get_weights())])
        assert worst(moved, X, Y, keras_side)["gradients"] > bound, (spec, output, dtype, "moved kernel")
        defaults = losses.LOSSES[loss.name].config
        controls = [{"name": loss.name, **loss.config, key: defaults[key]} for key, value in loss.config.items()
                    if value != defaults[key] and not (key == "from_logits" and output != "linear")]
        if loss.config.get("from_logits") and output != "linear":  # where from_logits changes nothing
            controls.append(dataclasses.replace(loss, logits_of=None))
        for control in controls:
            wrong = scratch.Network.from_config({**net.get_config(), "loss": control})
            wrong.set_weights(net.get_weights())
            assert max(worst(wrong, X, Y, keras_side).values()) > bound, (spec, output, dtype, control)


def test_twin_refuses_what_it_cannot_twin():
    from compare import twin
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    for loss, message in [
            (keras.losses.CategoricalCrossentropy(reduction="sum"),
             "unsupported loss reduction 'sum'; supported: sum_over_batch_size"),
            (keras.losses.BinaryCrossentropy(axis=0), "unsupported loss setting axis 0; supported: -1"),
            (keras.losses.SparseCategoricalCrossentropy(ignore_class=0),
             "unsupported loss setting ignore_class 0; supported: None"),
            (keras.losses.Hinge(), "unsupported loss 'Hinge'; supported: BinaryCrossentropy, CategoricalCrossentropy, "
                                   "SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError, Huber"),
            (keras.losses.CategoricalCrossentropy(label_smoothing=1.5),
             r"unsupported loss setting in model .*label_smoothing must be in \[0, 1\], got 1.5"),
            ("hinge", "unsupported loss 'hinge'; supported: binary_crossentropy"),
    ]:
        model.compile(loss=loss)
        with pytest.raises(ValueError, match=message):
            twin.from_keras(model)


def test_twin_reads_losses_given_by_name_and_keras_loss_goes_back():
    from compare import twin
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    for name, expected in [("mae", "mean_absolute_error"), ("huber", "huber"),
                           ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy")]:
        model.compile(loss=name)
        assert twin.from_keras(model).loss is losses.LOSSES[expected]
    for spec, _, _ in SPECS:
        made = twin.keras_loss(spec, "float64")
        assert type(made) is CLASSES[losses.get(spec).name] and made.dtype == "float64"
        assert {k: made._fn_kwargs[k] for k in losses.get(spec).config} == losses.get(spec).config


def test_a_saved_huber_comes_back_with_delta_1(tmp_path):
    """Keras 3.15's Huber.get_config() leaves out delta: a model saved with Huber(delta=0.3) is
    loaded with Huber(delta=1.0), and trains with it.  The twin reads the delta the loss computes
    with (its _fn_kwargs), so it follows the loaded model, not the one that was saved."""
    from compare import twin
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(loss=keras.losses.Huber(delta=0.3), optimizer="sgd")
    assert twin.from_keras(model).loss.config == {"delta": 0.3}
    path = str(tmp_path / "huber.keras")
    model.save(path)
    loaded = twin.load_model_file(path)
    assert loaded.loss._fn_kwargs["delta"] == 1.0
    assert twin.from_keras(loaded).loss is losses.LOSSES["huber"]


@pytest.mark.parametrize("loss", ["mean_squared_error", "huber"])
def test_a_perfect_fit_is_judged_by_the_terms_of_a_minus_y(loss):
    """Y = the model's own output: dA = 2 (A - Y) / (m n) is zero on Keras's side and a rounding
    of A on the twin's, so relative to itself the gradient differs by 100 %.  Its tolerance is
    taken from |A| + |Y| (``Loss.gradient_magnitude``), which covers that rounding; a kernel
    moved by 1000 tolerances is still caught."""
    import keras_ref
    from compare import twin
    from compare.core import compare_named
    from scratch.tolerances import of_network
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)])
    model.compile(loss=loss, optimizer="sgd")
    X = np.random.default_rng(3).standard_normal((32, 5)).astype(np.float32)
    Y = model.predict(X, verbose=0)

    def judged(net):
        _, _, k_grads = keras_ref.output_loss_and_gradients(model, X, Y)
        _, s_grads = net.loss_and_gradients(X, Y)
        names = [f"grad{i}" for i in range(len(k_grads))]
        keras_side, twin_side = dict(zip(names, k_grads)), dict(zip(names, s_grads))
        return compare_named(keras_side, twin_side, of_network(net, len(X)),
                             dict(zip(names, net.gradient_magnitudes(Y))))

    net = twin.from_keras(model)
    assert np.abs(model.predict(X, verbose=0) - Y).max() == 0 and net.loss.gradient_magnitude is not None
    assert all(e["passed"] for e in judged(net).values())
    w = net.get_weights()
    w[2] = w[2] * (1 + 1e3 * of_network(net, len(X)))
    net.set_weights(w)
    assert not any(e["passed"] for e in judged(net).values())
