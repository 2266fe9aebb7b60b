import numpy as np
import pytest

from scratch import activations, losses
from tests.helpers import fd_gradients, rel_diff

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((5, 3))
Y_BIN = RNG.integers(0, 2, size=(5, 3)).astype(float)
Y_ONEHOT = np.eye(3)[RNG.integers(0, 3, size=5)]


def test_binary_crossentropy_by_hand():
    """y = 1, a = 0.9 and y = 0, a = 0.2: mean over the two units, then over the batch."""
    bce = losses.get("binary_crossentropy")
    per = bce.per_example(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))
    assert per == pytest.approx([(-np.log(0.9) - np.log(0.8)) / 2])


def test_categorical_crossentropy_keras_docstring_example():
    """The example in Keras's own categorical_crossentropy docstring."""
    y = np.eye(3)
    a = np.array([[.9, .05, .05], [.05, .89, .06], [.05, .01, .94]])
    assert np.round(losses.get("categorical_crossentropy").per_example(y, a), 5) == pytest.approx(
        [0.10536, 0.11653, 0.06188])


def test_mean_squared_error_by_hand():
    per = losses.get("mean_squared_error").per_example(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))
    assert per == pytest.approx([0.25])


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
    assert rel_diff(dA, fd) < 1e-8


@pytest.mark.parametrize("name,Y,output", [
    ("binary_crossentropy", Y_BIN, "sigmoid"),
    ("categorical_crossentropy", Y_ONEHOT, "softmax"),
])
def test_logit_path_is_the_same_loss_and_the_lecture_simplification(name, Y, output):
    loss, g = losses.get(name), activations.get(output)
    assert loss.logits_of == output
    A = g.forward(Z)
    assert loss.per_example_from_logits(Y, Z) == pytest.approx(loss.per_example(Y, A), rel=1e-12)
    dZ = loss.gradient_from_logits(Y, A)
    assert np.allclose(dZ, (A - Y) / (A.size if name == "binary_crossentropy" else len(A)))
    fd = fd_gradients(lambda z: np.mean(loss.per_example_from_logits(Y, z)), Z.copy())
    assert rel_diff(dZ, fd) < 1e-8
    # and it is the chain rule through the activation, away from saturation
    assert rel_diff(dZ, g.backward(loss.gradient(Y, A), Z, A)) < 1e-12


def test_saturated_sigmoid_gives_finite_gradients_on_logits_only():
    bce, sig = losses.get("binary_crossentropy"), activations.get("sigmoid")
    z = np.array([[-60.0], [60.0]])
    y = np.array([[1.0], [0.0]])
    a = sig.forward(z)
    assert np.all(np.isfinite(bce.per_example_from_logits(y, z)))
    assert np.allclose(bce.gradient_from_logits(y, a), [[-0.5], [0.5]])
    assert bce.per_example_from_logits(y, z) == pytest.approx([60.0, 60.0])
    # the probability path clips at 1e-7 and passes no gradient: the loss saturates at -log(1e-7)
    assert bce.per_example(y, a) == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert not bce.gradient(y, a).any()


def test_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: binary_crossentropy"):
        losses.get("hinge")
