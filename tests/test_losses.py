import numpy as np
import pytest

from scratch import activations, losses
from scratch.tolerances import FUNCTION_ULPS, eps, ulps
from tests.helpers import assert_close, assert_matches_fd, fd_gradients

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
