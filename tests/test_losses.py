import numpy as np
import pytest

from scratch import activations, losses
from scratch.tolerances import FUNCTION_ULPS, eps, ulps
from tests.helpers import FD_STEP, assert_close, assert_matches_fd, fd_gradients

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((5, 3))
Y_BIN = RNG.integers(0, 2, size=(5, 3)).astype(float)
Y_ONEHOT = np.eye(3)[RNG.integers(0, 3, size=5)]


def test_binary_crossentropy_by_hand():
    """y = 1, a = 0.9 and y = 0, a = 0.2: mean over the two units, then over the batch."""
    bce = losses.get("binary_crossentropy")
    per = bce.per_example(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))
    # two libraries' log (FUNCTION_ULPS), 1 - a (whose rounding log passes on, over |log 0.8|),
    # the sum and its negation: no cancellation, every term is positive
    assert_close(per, [(-np.log(0.9) - np.log(0.8)) / 2], ulps(np.float64, FUNCTION_ULPS + 4), what="bce")


def test_categorical_crossentropy_keras_docstring_example():
    """The example in Keras's own categorical_crossentropy docstring, printed to 5 decimals:
    within half a unit of the 5th decimal of it (rounding is ~1e-16, far inside)."""
    y = np.eye(3)
    a = np.array([[.9, .05, .05], [.05, .89, .06], [.05, .01, .94]])
    assert_close(losses.get("categorical_crossentropy").per_example(y, a), [0.10536, 0.11653, 0.06188],
                 atol=0.5e-5, what="cce")


def test_mean_squared_error_by_hand():
    per = losses.get("mean_squared_error").per_example(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))
    assert np.array_equal(per, [0.25])  # halves and their squares: every operation is exact


@pytest.mark.parametrize("name,Y,output", [
    ("binary_crossentropy", Y_BIN, "sigmoid"),
    ("categorical_crossentropy", Y_ONEHOT, "softmax"),
    ("mean_squared_error", Y_BIN, "sigmoid"),
    ("mean_squared_error", Y_BIN, "linear"),
])
def test_gradient_of_the_batch_mean_matches_finite_differences(name, Y, output):
    loss, g = losses.get(name), activations.get(output)
    A = g.forward(Z)
    dA = loss.gradient(Y, A)
    fd = fd_gradients(lambda a: np.mean(loss.per_example(Y, a)), A.copy())
    assert_matches_fd(dA, fd)  # sqrt(size) (h^2 + eps / h) / norm


@pytest.mark.parametrize("name,Y,output", [
    ("binary_crossentropy", Y_BIN, "sigmoid"),
    ("categorical_crossentropy", Y_ONEHOT, "softmax"),
])
def test_logit_path_is_the_same_loss_and_the_lecture_simplification(name, Y, output):
    loss, g = losses.get(name), activations.get(output)
    assert loss.logits_of == output
    A = g.forward(Z)
    # exp and log (or log1p) on each side (2 FUNCTION_ULPS) and 4 arithmetic roundings, each a
    # relative error of a or of p; log turns it into an absolute one, over (1 - a) / a for
    # log(1 - a): absolute, per unit, at most that many ulps of 1 + a / (1 - a)
    assert_close(loss.per_example_from_logits(Y, Z), loss.per_example(Y, A),
                 ulps(np.float64, 2 * FUNCTION_ULPS + 4), scale=np.mean(1 + A / (1 - A), axis=1),
                 what="loss from logits vs from probabilities")
    dZ = loss.gradient_from_logits(Y, A)
    # a subtraction and a division on each side (a row sum of one-hot Y and P x 1 are exact)
    assert_close(dZ, (A - Y) / (A.size if name == "binary_crossentropy" else len(A)), ulps(np.float64, 4),
                 what="dZ vs (A - Y) / n")
    fd = fd_gradients(lambda z: np.mean(loss.per_example_from_logits(Y, z)), Z.copy())
    assert_matches_fd(dZ, fd)
    # and it is the chain rule through the activation, away from saturation: some 16 roundings
    # on the longest chain (softmax's normalising sum, the loss's divisions, two
    # Jacobian-vector products with their 3-term sums), relative to the terms they cancel,
    # Y / m and A / m (the result (A - Y) / m cancels where A is near Y)
    n = A.size if name == "binary_crossentropy" else len(A)
    assert_close(dZ, g.backward(loss.gradient(Y, A), Z, A), ulps(np.float64, 16), scale=(Y + A) / n,
                 what="dZ vs the chain rule")


def test_saturated_sigmoid_gives_finite_gradients_on_logits_only():
    bce, sig = losses.get("binary_crossentropy"), activations.get("sigmoid")
    z = np.array([[-60.0], [60.0]])
    y = np.array([[1.0], [0.0]])
    a = sig.forward(z)
    assert np.all(np.isfinite(bce.per_example_from_logits(y, z)))
    # exactly -1/2 + e^-60 / 2 and 60 + log1p(e^-60): a subtraction and a division, then
    # exp, log1p and 3 arithmetic roundings, from the nearest doubles -1/2 and 60
    assert_close(bce.gradient_from_logits(y, a), [[-0.5], [0.5]], ulps(np.float64, 2), what="dZ")
    assert_close(bce.per_example_from_logits(y, z), [60.0, 60.0], ulps(np.float64, FUNCTION_ULPS + 3),
                 what="loss from logits")
    # the probability path clips at 1e-7 and passes no gradient: the loss saturates at -log(1e-7).
    # For a = 1 it is -log(1 - (1 - 1e-7)): 1 - 1e-7 rounds by up to eps / 2, which is eps / 2e-7
    # of 1e-7 and so an absolute eps / 2e-7 in the log; then log's own ulps
    saturated = -np.log(1e-7)
    assert_close(bce.per_example(y, a), saturated, ulps(np.float64, FUNCTION_ULPS), atol=eps(np.float64) / 2e-7,
                 what="clipped loss")
    assert not bce.gradient(y, a).any()


def test_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: binary_crossentropy"):
        losses.get("hinge")


# --- every loss and setting (issue 10) ---------------------------------------------------------

M, K = 6, 3
R = np.random.default_rng(1)
Z6 = R.standard_normal((M, K))
TARGETS = {
    "binary": R.integers(0, 2, size=(M, K)).astype(float),
    "onehot": np.eye(K)[R.integers(0, K, size=M)],
    "sparse": R.integers(0, K, size=(M, 1)).astype(float),
    "real": R.uniform(-1, 1, size=(M, K)),
}
#: (spec, targets, the output activation whose A the loss sees): every registry entry, each
#: setting off and on.  A walk over the registry below checks nothing is left out.
SPECS = [
    ("binary_crossentropy", "binary", "sigmoid"),
    ({"name": "binary_crossentropy", "label_smoothing": 0.2}, "binary", "sigmoid"),
    ({"name": "binary_crossentropy", "from_logits": True}, "binary", "linear"),
    ({"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}, "binary", "linear"),
    ("categorical_crossentropy", "onehot", "softmax"),
    ("categorical_crossentropy", "onehot", "sigmoid"),  # probabilities that do not sum to 1: normalised first
    ({"name": "categorical_crossentropy", "label_smoothing": 0.3}, "onehot", "softmax"),
    ({"name": "categorical_crossentropy", "from_logits": True}, "onehot", "linear"),
    ({"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.1}, "onehot", "linear"),
    ("sparse_categorical_crossentropy", "sparse", "softmax"),
    ("sparse_categorical_crossentropy", "sparse", "sigmoid"),  # the log(sum_j a_j) term at work
    ({"name": "sparse_categorical_crossentropy", "from_logits": True}, "sparse", "linear"),
    ("mean_squared_error", "real", "linear"),
    ("mean_absolute_error", "real", "linear"),
    ("huber", "real", "linear"),
    ({"name": "huber", "delta": 0.3}, "real", "linear"),
]
SPEC_IDS = [(s if isinstance(s, str) else "-".join(f"{k}={v}" for k, v in s.items())) + f"-{output}"
            for s, _, output in SPECS]


def test_specs_cover_every_loss_and_every_setting():
    named = {s if isinstance(s, str) else s["name"] for s, _, _ in SPECS}
    assert named == set(losses.LOSSES)
    for name, loss in losses.LOSSES.items():
        for key in loss.config:  # each setting away from its default somewhere
            assert any(isinstance(s, dict) and s["name"] == name and key in s for s, _, _ in SPECS), (name, key)


def fd_f_error(loss, A, h=FD_STEP) -> float:
    """e_f for ``tolerances.finite_differences``, with the truncation of a steep loss folded in.

    The bound counts the truncation h^2 |f'''| / 6 with |f'''| <= 6: right for the logits forms
    (sigmoid's and softmax's derivatives are below 1), for Huber and MAE away from their kinks
    and for MSE (f''' = 0).  From probabilities, a cross-entropy's terms -y log p, log S and
    -(1 - y) log(1 - a) have third derivatives 2 y / p^3, 2 / S^3 and 2 (1 - y) / (1 - a)^3;
    in the batch mean that is at most 4 / (m p^3), p the smallest of A and 1 - A (S is at least
    every a).  A truncation h^2 |f'''| / 6 costs what an evaluation error of h^3 |f'''| / 6 would,
    so that is added to e_f = eps.
    """
    third = 1.0
    if loss.name.endswith("crossentropy") and not loss.config.get("from_logits"):
        third = 4 / (len(A) * min(A.min(), (1 - A).min()) ** 3)
    return eps(np.float64) + h ** 3 * third / 6


@pytest.mark.parametrize("spec,targets,output", SPECS, ids=SPEC_IDS)
def test_gradient_of_every_loss_and_setting_matches_finite_differences(spec, targets, output):
    loss, Y = losses.get(spec), TARGETS[targets]
    A = activations.get(output).forward(Z6)
    if loss.name in ("mean_absolute_error", "huber"):  # no kink within a step of h: |A - Y| away from 0 and delta
        assert np.min(np.abs(np.abs(A - Y)[..., None] - [0.0, loss.config.get("delta", 1.0)])) > 1e-3
    fd = fd_gradients(lambda a: np.mean(loss.per_example(Y, a)), A.copy())
    # sqrt(size) (h^2 + e_f / h) / norm
    assert_matches_fd(loss.gradient(Y, A), fd, f_error=fd_f_error(loss, A))
    if loss.logits_of is not None:  # and the form the network takes where Keras reads the logits
        P = activations.get(loss.logits_of).forward(Z6)
        fd = fd_gradients(lambda z: np.mean(loss.per_example_from_logits(Y, z)), Z6.copy())
        assert_matches_fd(loss.gradient_from_logits(Y, P), fd, what="dZ vs finite differences")


FROM_LOGITS = [(s, i) for s, i in zip(SPECS, SPEC_IDS) if isinstance(s[0], dict) and s[0].get("from_logits")]


@pytest.mark.parametrize("spec,targets,output", [s for s, _ in FROM_LOGITS], ids=[i for _, i in FROM_LOGITS])
def test_from_logits_is_the_logits_form_on_the_output(spec, targets, output):
    """With from_logits the output is Z: per_example and gradient are the logits forms, bit for bit,
    and the link stays in logits_of (Keras reads the Z behind a sigmoid or softmax output even then)."""
    loss, Y = losses.get(spec), TARGETS[targets]
    plain = losses.get({k: v for k, v in spec.items() if k != "from_logits"})
    assert loss.logits_of == plain.logits_of
    assert np.array_equal(loss.per_example(Y, Z6), plain.per_example_from_logits(Y, Z6))
    P = activations.get(loss.logits_of).forward(Z6)
    assert np.array_equal(loss.gradient(Y, Z6), plain.gradient_from_logits(Y, P))


def test_binary_label_smoothing_by_hand():
    """ls = 0.2 moves the targets 1, 0 to 0.9, 0.1, on the probability and the logits paths alike."""
    bce = losses.get({"name": "binary_crossentropy", "label_smoothing": 0.2})
    y, a = np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]])
    expected = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1) + 0.1 * np.log(0.2) + 0.9 * np.log(0.8)) / 2
    # each side: 4 logs (FUNCTION_ULPS each), the smoothing (2 roundings), 1 - a, products, the
    # sum and the mean, about 12 arithmetic roundings; every term is positive, so no cancellation
    assert_close(bce.per_example(y, a), [expected], ulps(np.float64, 2 * FUNCTION_ULPS + 12), what="bce, ls 0.2")
    z = np.log(a / (1 - a))
    # the logits form of the same loss: exp, log1p on top of the above (the logit itself is
    # exact to 2 FUNCTION_ULPS of z, which moves the loss by |y - a| |z| of that)
    assert_close(bce.per_example_from_logits(y, z), [expected], ulps(np.float64, 6 * FUNCTION_ULPS + 12),
                 what="bce from logits, ls 0.2")


def test_categorical_label_smoothing_by_hand():
    """ls = 0.3 over K = 3 classes: target 1 becomes 0.8, targets 0 become 0.1."""
    cce = losses.get({"name": "categorical_crossentropy", "label_smoothing": 0.3})
    expected = -(0.8 * np.log(0.7) + 0.1 * np.log(0.2) + 0.1 * np.log(0.1))
    # 3 logs, the normalising sum and division, the smoothing (3 roundings), products and sums
    assert_close(cce.per_example(np.array([[1.0, 0.0, 0.0]]), np.array([[0.7, 0.2, 0.1]])), [expected],
                 ulps(np.float64, 3 * FUNCTION_ULPS + 12), what="cce, ls 0.3")


def test_categorical_label_smoothing_divides_in_the_models_dtype():
    """Keras divides ls by ops.cast(K, dtype): in float32, float32(0.3) / float32(5), which is one
    ulp away from float32(0.3 / 5)."""
    Y = np.eye(5, dtype=np.float32)[:1]
    smoothed = losses.smooth_categorical(Y, 0.3)
    assert smoothed.dtype == np.float32
    assert smoothed[0, 1] == np.float32(0.3) / np.float32(5) != np.float32(0.3 / 5)
    assert smoothed[0, 0] == np.float32(1) * np.float32(0.7) + np.float32(0.3) / np.float32(5)


def test_sparse_categorical_crossentropy_by_hand():
    """Keras's docstring example ([0.0513, 2.303], 4 digits) and an output that does not sum to 1:
    a = (0.5, 0.3, 0.4), y = 1 gives -log(0.3 / 1.2) = log 4, and dA = (1 / 1.2 - [j = y] / 0.3) / m."""
    scce = losses.get("sparse_categorical_crossentropy")
    per = scce.per_example(np.array([[1.0], [2.0]]), np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]))
    assert_close(per, [0.0513, 2.303], atol=0.5e-3, what="Keras's docstring example")
    y, a = np.array([[1.0]]), np.array([[0.5, 0.3, 0.4]])
    # log of a, the shift, exp, their 3-term sum and its log, one subtraction: ~3 function calls
    # in a row and 4 roundings, relative to the terms log(1.2) and log(0.3) (both below 1.3)
    assert_close(scce.per_example(y, a), [np.log(4.0)], ulps(np.float64, 3 * FUNCTION_ULPS + 4), scale=1.3,
                 what="sparse, unnormalised")
    # softmax of the logs (exp, sum, division: FUNCTION_ULPS + 4), minus one, over a: 2 more
    assert_close(scce.gradient(y, a), [[1 / 1.2, 1 / 1.2 - 1 / 0.3, 1 / 1.2]],
                 ulps(np.float64, 2 * FUNCTION_ULPS + 6), scale=1 / 0.3, what="sparse dA")


def test_sparse_targets_must_be_class_indices():
    scce = losses.get("sparse_categorical_crossentropy")
    for bad in (3.0, -1.0, 0.5):
        with pytest.raises(ValueError, match=r"sparse targets must be class indices 0\.\.2"):
            scce.per_example(np.array([[0.0], [bad]]), np.full((2, 3), 1 / 3))


def test_mean_absolute_error_by_hand():
    """Keras's docstring example, 0.5666667; the gradient is sign(A - Y) / (m n), 0 where A = Y."""
    mae = losses.get("mean_absolute_error")
    y, a = np.array([[1.0, 0.3, 1.0]]), np.array([[1.9, 0.3, 1.8]])
    # two subtractions, a 3-term sum and a division: 4 roundings of values below 1
    assert_close(mae.per_example(y, a), [1.7 / 3], ulps(np.float64, 4), what="mae")
    assert np.array_equal(mae.gradient(y, a), [[1 / 3, 0.0, 1 / 3]])  # sign() and 1 / 3 exactly


def test_huber_by_hand_both_branches_and_their_seam():
    """Keras's docstring example (0.155, delta 1), and delta = 0.5 at errors 0.1, 0.5 (the seam,
    which Keras puts in the quadratic branch: |x| <= delta), 2 and -2."""
    assert_close(np.mean(losses.get("huber").per_example(np.array([[0, 1], [0, 0.0]]),
                                                         np.array([[0.6, 0.4], [0.4, 0.6]]))),
                 0.155, ulps(np.float64, 8), what="Keras's example")  # squares, halves, two sums, divisions
    h = losses.get({"name": "huber", "delta": 0.5})
    y, a = np.zeros((1, 4)), np.array([[0.1, 0.5, 2.0, -2.0]])
    per_unit = [0.5 * 0.01, 0.5 * 0.25, 0.5 * 2.0 - 0.125, 0.5 * 2.0 - 0.125]
    assert_close(h.per_example(y, a), [np.mean(per_unit)], ulps(np.float64, 8), what="huber, delta 0.5")
    # x, delta and delta sign(x) are exact, as is the division by 4
    assert np.array_equal(h.gradient(y, a), [[0.1 / 4, 0.5 / 4, 0.5 / 4, -0.5 / 4]])


def test_get_and_get_config_round_trip_every_setting():
    for spec, _, _ in SPECS:
        loss = losses.get(spec)
        # the name alone where every setting is the default, else every setting
        assert losses.get_config(loss) == (spec if isinstance(spec, str) else
                                           {"name": spec["name"], **losses.LOSSES[spec["name"]].config, **spec})
        assert losses.get(losses.get_config(loss)).config == loss.config
    assert losses.get({"name": "huber", "delta": 1}) is losses.LOSSES["huber"]  # defaults: the registry's own
    assert losses.get({"name": "binary_crossentropy", "from_logits": False}) is losses.LOSSES["binary_crossentropy"]
    assert losses.get(losses.LOSSES["huber"]) is losses.LOSSES["huber"]


@pytest.mark.parametrize("spec,message", [
    ({"name": "hinge"}, "unknown loss 'hinge'; valid: binary_crossentropy, categorical_crossentropy, "
                        "sparse_categorical_crossentropy, mean_squared_error, mean_absolute_error, huber"),
    ({"from_logits": True}, "unknown loss None; valid: binary_crossentropy"),
    ({"name": "huber", "label_smoothing": 0.1}, "unknown setting 'label_smoothing' for loss huber; valid: delta"),
    ({"name": "mean_squared_error", "delta": 1.0}, "unknown setting 'delta' for loss mean_squared_error; valid: none"),
    ({"name": "sparse_categorical_crossentropy", "label_smoothing": 0.1},
     "unknown setting 'label_smoothing' for loss sparse_categorical_crossentropy; valid: from_logits"),
    ({"name": "binary_crossentropy", "from_logits": 1}, "from_logits must be True or False, got 1"),
    ({"name": "categorical_crossentropy", "label_smoothing": 1.5}, r"label_smoothing must be in \[0, 1\], got 1.5"),
    ({"name": "binary_crossentropy", "label_smoothing": "0.1"}, "label_smoothing must be a number, got '0.1'"),
    ({"name": "huber", "delta": 0}, "delta must be a finite number > 0, got 0.0"),
    ({"name": "huber", "delta": float("inf")}, "delta must be a finite number > 0, got inf"),
])
def test_bad_specs_name_what_is_wrong_and_what_is_valid(spec, message):
    with pytest.raises(ValueError, match=message):
        losses.get(spec)


def test_a_network_keeps_its_loss_settings_through_config_and_file(tmp_path):
    import scratch
    for spec, output, units in [({"name": "huber", "delta": 0.3}, "linear", 2),
                                ({"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.1},
                                 "linear", 3),
                                ({"name": "sparse_categorical_crossentropy", "from_logits": True}, "linear", 3)]:
        net = scratch.Network([4, 5, units], output_activation=output, loss=spec, seed=0, dtype="float64")
        assert net.loss.config == losses.get(spec).config
        again = scratch.Network.from_config(net.get_config())
        assert losses.get_config(again.loss) == losses.get_config(net.loss)
        path = str(tmp_path / f"{spec['name']}.npz")
        net.save(path)
        loaded = scratch.load(path)
        assert losses.get_config(loaded.loss) == losses.get_config(net.loss)
        X = np.random.default_rng(0).standard_normal((6, 4))
        y = (np.random.default_rng(1).integers(0, units, (6, 1)) if net.loss.sparse
             else np.eye(units)[np.random.default_rng(1).integers(0, units, 6)])
        assert loaded.cost(X, y) == net.cost(X, y)  # the same loss on the same weights: the same bits
