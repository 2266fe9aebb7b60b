import numpy as np
import pytest

from scratch import activations
from scratch.tolerances import FUNCTION_ULPS, sums, ulps
from tests.helpers import assert_close, assert_matches_fd, fd_gradients, fd_tolerance, rel_diff

Z = np.array([[-2.0, -0.5, 0.3, 1.7], [3.0, -1.2, 0.8, -0.1]])


def test_hand_values():
    """Within the roundings each side makes (counted in ulps); exact where no rounding happens."""
    z = np.array([[-1.0, 0.0, 2.0]])
    # two libraries' exp (FUNCTION_ULPS apart), then 1 + e and 1 / (.) on each side: 4 roundings
    assert_close(activations.get("sigmoid").forward(z), [[1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2))]],
                 ulps(np.float64, FUNCTION_ULPS + 4), what="sigmoid")
    assert_close(activations.get("tanh").forward(z), np.tanh(z), ulps(np.float64, FUNCTION_ULPS), what="tanh")
    # max, and products by 0.01 of -1, 0 and 2, are exact (-1 x 0.01 is the double 0.01, negated)
    assert np.array_equal(activations.get("relu").forward(z), [[0.0, 0.0, 2.0]])
    assert np.array_equal(activations.get("leaky_relu").forward(z), [[-0.01, 0.0, 2.0]])
    assert np.array_equal(activations.get("linear").forward(z), z)
    s = activations.get("softmax").forward(np.array([[1.0, 2.0, 3.0]]))
    # the exps of the numerator and of the normalising sum on each side (2 FUNCTION_ULPS), two
    # orders of a 3-term sum (sums), and one division per side (2 ulps)
    assert_close(s, np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(),
                 ulps(np.float64, 2 * FUNCTION_ULPS + 2) + sums(np.float64, 3), what="softmax")


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        a = activations.get("sigmoid").forward(np.array([[-1000.0, 1000.0]]))
        a32 = activations.get("sigmoid").forward(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    # e^-1000 is below the smallest normal number of either dtype: what is left is 0 or subnormal
    assert 0 <= a[0, 0] <= np.finfo(np.float64).tiny and a[0, 1] == 1.0
    assert 0 <= a32[0, 0] <= np.finfo(np.float32).tiny and a32[0, 1] == 1.0 and a32.dtype == np.float32


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_every_derivative_matches_finite_differences(name):
    """Walks the registry: each backward is the gradient of sum(dA * g(Z))."""
    g = activations.get(name)
    dA = np.random.default_rng(0).standard_normal(Z.shape)
    A = g.forward(Z)
    dZ = g.backward(dA, Z, A)
    fd = fd_gradients(lambda z: np.sum(dA * g.forward(z)), Z.copy())
    assert_matches_fd(dZ, fd)  # sqrt(size) (h^2 + eps / h) / norm, h = FD_STEP


def test_finite_differences_catch_a_wrong_derivative():
    """Negative control for the test above: sigmoid' written as A (1 - A) / 2 fails it.

    Half the derivative is off by |1 - 1/2| / (1 + 1/2) = 1/3 in rel diff, some 1e8 times the
    finite differences' tolerance (~1e-9 here).
    """
    g = activations.get("sigmoid")
    dA = np.ones_like(Z)
    fd = fd_gradients(lambda z: np.sum(dA * g.forward(z)), Z.copy())
    wrong = dA * g.forward(Z) * (1 - g.forward(Z)) / 2
    assert rel_diff(wrong, fd) > fd_tolerance(wrong, fd)
    assert rel_diff(wrong, fd) == pytest.approx(1 / 3, abs=fd_tolerance(wrong, fd))


def test_kink_conventions_follow_tensorflow():
    """At Z = 0, ReluGrad gives 0 and LeakyReluGrad gives the slope."""
    z = np.zeros((1, 1))
    one = np.ones((1, 1))
    assert activations.get("relu").backward(one, z, z)[0, 0] == 0.0
    assert activations.get("leaky_relu").backward(one, z, z)[0, 0] == 0.01


def test_leaky_slope_override_and_default():
    assert activations.LEAKY_RELU_SLOPE == 0.01
    g = activations.get("leaky_relu", negative_slope=0.2)
    assert g.forward(np.array([[-1.0]]))[0, 0] == -0.2
    with pytest.raises(ValueError, match="negative_slope"):
        activations.leaky_relu(-1)


def test_softmax_is_output_only():
    assert "softmax" not in activations.HIDDEN_ACTIVATIONS
    assert set(activations.HIDDEN_ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "linear"}


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; valid: sigmoid, tanh"):
        activations.get("swish")


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "softmax"])
def test_float32_stays_float32(name):
    z = Z.astype(np.float32)
    g = activations.get(name)
    a = g.forward(z)
    assert a.dtype == np.float32
    assert g.backward(np.ones_like(z), z, a).dtype == np.float32
