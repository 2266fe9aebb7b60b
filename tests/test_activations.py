import math
import os
import subprocess
import sys

import numpy as np
import pytest

from scratch import activations
from scratch.tolerances import FUNCTION_ULPS, sums, ulps
from tests.helpers import FD_STEP, assert_close, assert_matches_fd, fd_gradients, fd_tolerance, rel_diff

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


def test_hand_values_of_the_breadth_activations():
    """Exact where every step is exact (clips, sums of small integers, divisions whose result is
    representable, ...); else within the roundings counted beside each."""
    get = activations.get
    z = np.array([[-4.0, -3.0, 0.0, 1.5, 3.0, 7.0]])
    assert np.array_equal(get("relu6").forward(z), [[0, 0, 0, 1.5, 3, 6]])
    assert np.array_equal(get("hard_sigmoid").forward(z), [[0, 0, 0.5, 0.75, 1, 1]])  # relu6(z + 3) / 6
    assert np.array_equal(get("softsign").forward(np.array([[-1.0, 0.0, 3.0]])), [[-0.5, 0, 0.75]])
    assert np.array_equal(get("exponential").forward(np.zeros((1, 1))), [[1.0]])
    # e^-1 - 1 on each side of the comparison: exp (FUNCTION_ULPS apart), then - 1 (2 roundings);
    # relative to the terms e^-1 + 1, as the difference cancels
    e = math.exp(-1)
    assert_close(get("elu").forward(np.array([[-1.0, 2.0]])), [[e - 1, 2.0]], ulps(np.float64, FUNCTION_ULPS + 2),
                 scale=[[e + 1, 2.0]], what="elu")
    assert_close(get("elu", alpha=0.5).forward(np.array([[-1.0]])), [[0.5 * (e - 1)]],
                 ulps(np.float64, FUNCTION_ULPS + 4), scale=0.5 * (e + 1), what="elu alpha 0.5")
    assert get("selu").forward(np.array([[1.0]]))[0, 0] == activations.SELU_SCALE  # scale x 1
    assert_close(get("selu").forward(np.array([[-1.0]])), [[activations.SELU_SCALE_ALPHA * (e - 1)]],
                 ulps(np.float64, FUNCTION_ULPS + 4), scale=activations.SELU_SCALE_ALPHA * (e + 1), what="selu")
    # softplus(0) = log 2, through log1p(e^0): two functions; silu(1) = sigmoid(1): sigmoid's roundings
    assert_close(get("softplus").forward(np.zeros((1, 1))), [[math.log(2)]], ulps(np.float64, 2 * FUNCTION_ULPS),
                 what="softplus")
    assert_close(get("silu").forward(np.ones((1, 1))), [[1 / (1 + e)]], ulps(np.float64, FUNCTION_ULPS + 4),
                 what="silu")
    # mish(1) = tanh(log(1 + e)): softplus's two functions and tanh's
    assert_close(get("mish").forward(np.ones((1, 1))), [[math.tanh(math.log1p(math.e))]],
                 ulps(np.float64, 3 * FUNCTION_ULPS), what="mish")
    # log_softmax([1, 2, 3]) = [1, 2, 3] - 3 - log(e^-2 + e^-1 + 1): two exps, the 3-term sum, the log
    # and the subtraction, relative to the terms |z - max| + log(sum)
    L = math.log(math.exp(-2) + math.exp(-1) + 1)
    assert_close(get("log_softmax").forward(np.array([[1.0, 2.0, 3.0]])), [[-2 - L, -1 - L, -L]],
                 ulps(np.float64, 2 * FUNCTION_ULPS + 2) + sums(np.float64, 3), scale=[[2 + L, 1 + L, L]],
                 what="log_softmax")


def test_gelu_is_keras_s_with_its_float32_constants():
    """Keras's gelu is the exact one, and takes 1/sqrt(2) and 0.044715 as float32 numbers in every
    dtype; the textbook constants give Phi(1) = 0.5 (1 + erf(1/sqrt(2))) instead.  Each side within
    erfc's or tanh's ulps and a product's rounding (FUNCTION_ULPS + 2)."""
    one = np.ones((1, 1))
    c32 = float(np.float32(1 / math.sqrt(2)))
    assert activations.get("gelu").config == {"approximate": False}
    assert_close(activations.get("gelu").forward(one), [[0.5 * math.erfc(-c32)]],
                 ulps(np.float64, FUNCTION_ULPS + 2), what="gelu with float32(1/sqrt(2))")
    textbook = activations.gelu(rounded=False).forward(one)
    assert_close(textbook, [[0.5 * (1 + math.erf(1 / math.sqrt(2)))]], ulps(np.float64, FUNCTION_ULPS + 2),
                 what="gelu, textbook constant")
    # the rounded constant moves gelu(1) by phi(1) (c32 - c) ~ 4e-9, far beyond the ulps above
    assert abs(activations.get("gelu").forward(one) - textbook)[0, 0] > 1e6 * ulps(np.float64, FUNCTION_ULPS + 2)
    a32 = float(np.float32(0.044715))
    k = 0.7978845608028654
    assert_close(activations.get("gelu", approximate=True).forward(one), [[0.5 * (1 + math.tanh(k * (1 + a32)))]],
                 ulps(np.float64, 2 * FUNCTION_ULPS + 10), what="approximate gelu")


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        a = activations.get("sigmoid").forward(np.array([[-1000.0, 1000.0]]))
        a32 = activations.get("sigmoid").forward(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    # e^-1000 is below the smallest normal number of either dtype: what is left is 0 or subnormal
    assert 0 <= a[0, 0] <= np.finfo(np.float64).tiny and a[0, 1] == 1.0
    assert 0 <= a32[0, 0] <= np.finfo(np.float32).tiny and a32[0, 1] == 1.0 and a32.dtype == np.float32


#: Every registry entry, and the settings that change a formula: Keras's leaky_relu slope, an elu
#: alpha other than 1 (a kink at 0), approximate gelu.
SETTINGS = [(name, {}) for name in activations.ACTIVATIONS] + [
    ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.5}), ("gelu", {"approximate": True})]


@pytest.mark.parametrize("name, settings", SETTINGS, ids=[n + "".join(f"-{v}" for v in s.values()) for n, s in SETTINGS])
def test_every_derivative_matches_finite_differences(name, settings):
    """Walks the registry: each backward is the gradient of f = sum(dA * g(Z)).  Entries whose
    difference stencil straddles a kink (hard_sigmoid's at Z = 3) have no derivative to check.

    One evaluation of f is off by e_f <= (size + 3 FUNCTION_ULPS) eps sum|dA g(Z)|: the sum's
    own roundings, and each g(z) within 3 FUNCTION_ULPS of its value (the longest chain is mish's
    exp, log1p and tanh, or log_softmax's exp, sum and log).  That is more than the default eps
    where g is large (exponential's e^3), so it is passed as ``f_error``.
    """
    g = activations.get(name, **settings)
    dA = np.random.default_rng(0).standard_normal(Z.shape)
    A = g.forward(Z)
    dZ = g.backward(dA, Z, A)
    fd = fd_gradients(lambda z: np.sum(dA * g.forward(z)), Z.copy())
    straddles = g.piece(Z - FD_STEP) != g.piece(Z + FD_STEP)
    assert straddles.sum() == (name == "hard_sigmoid")  # the one Z = 3.0 of the fixture
    f_error = max(sums(np.float64, Z.size + 3 * FUNCTION_ULPS) * float(np.sum(np.abs(dA * A))), ulps(np.float64, 1))
    # sqrt(size) (h^2 + e_f / h) / norm, h = FD_STEP
    assert_matches_fd(np.where(straddles, 0, dZ), np.where(straddles, 0, fd), f_error=f_error)


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
    """At Z = 0, ReluGrad gives 0 and LeakyReluGrad gives the slope; Relu6Grad gives 0 at 0 and 6,
    and so hard_sigmoid at -3 and 3; SeluGrad gives the right side's scale; Keras's elu with an
    alpha other than 1 takes Z = 0 on the left (alpha), with alpha = 1 both sides are 1."""
    def slope(name, z, **settings):
        g = activations.get(name, **settings)
        Z = np.array([[float(z)]])
        return g.backward(np.ones((1, 1)), Z, g.forward(Z))[0, 0]

    assert slope("relu", 0) == 0.0
    assert slope("leaky_relu", 0) == 0.01
    assert slope("relu6", 0) == slope("relu6", 6) == 0.0 and slope("relu6", 3) == 1.0
    assert slope("hard_sigmoid", -3) == slope("hard_sigmoid", 3) == 0.0 and slope("hard_sigmoid", 0) == 1 / 6
    assert slope("selu", 0) == activations.SELU_SCALE
    assert slope("elu", 0) == 1.0 and slope("elu", 0, alpha=0.3) == 0.3


def test_kinks_are_listed_where_they_are():
    kinked = {name: g.kinks for name, g in activations.ACTIVATIONS.items() if g.kink}
    assert kinked == {"relu": (0.0,), "leaky_relu": (0.0,), "relu6": (0.0, 6.0), "selu": (0.0,),
                      "hard_sigmoid": (-3.0, 3.0)}
    assert activations.get("elu", alpha=0.5).kink and not activations.get("elu").kink
    relu6 = activations.get("relu6")
    assert relu6.piece(np.array([-1.0, 0.0, 1e-9, 6.0, 7.0])).tolist() == [0, 0, 1, 1, 2]
    assert activations.get("tanh").piece(np.array([-1.0, 1.0])).tolist() == [0, 0]


def test_leaky_slope_override_and_default():
    assert activations.LEAKY_RELU_SLOPE == 0.01
    g = activations.get("leaky_relu", negative_slope=0.2)
    assert g.forward(np.array([[-1.0]]))[0, 0] == -0.2
    with pytest.raises(ValueError, match="negative_slope"):
        activations.leaky_relu(-1)


def test_softmax_is_output_only():
    assert "softmax" not in activations.HIDDEN_ACTIVATIONS and "log_softmax" not in activations.HIDDEN_ACTIVATIONS
    assert set(activations.HIDDEN_ACTIVATIONS) == {
        "sigmoid", "tanh", "relu", "leaky_relu", "linear", "relu6", "elu", "selu", "gelu", "silu", "softplus",
        "softsign", "hard_sigmoid", "exponential", "mish"}


def test_every_entry_is_keyed_by_its_own_name_with_its_settings():
    for name, g in activations.ACTIVATIONS.items():
        assert g.name == name
        if g.config:  # a factory makes it again from its settings, and get() takes each setting
            assert activations.FACTORIES[name](**g.config).config == g.config
            assert activations.get(name, **g.config) is g
    assert activations.get("swish") is activations.get("silu")  # Keras's other name


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'hard_silu'; valid: sigmoid, tanh"):
        activations.get("hard_silu")


def test_unknown_setting_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"activation 'elu' has no setting 'negative_slope'; its settings: alpha"):
        activations.get("elu", negative_slope=0.2)
    with pytest.raises(ValueError, match=r"activation 'sigmoid' has no setting 'alpha'; its settings: none"):
        activations.get("sigmoid", alpha=1.0)
    with pytest.raises(ValueError, match=r"activation 'relu' has no setting 'alpha'; its settings: "
                                         r"negative_slope, max_value, threshold"):
        activations.get("relu", alpha=1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        activations.get("elu", alpha=float("nan"))


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_float32_stays_float32(name):
    z = Z.astype(np.float32)
    g = activations.get(name)
    a = g.forward(z)
    assert a.dtype == np.float32
    assert g.backward(np.ones_like(z), z, a).dtype == np.float32


def test_this_module_runs_without_tensorflow():
    """scratch's activations and their tests need NumPy only: run here with TensorFlow and Keras
    unimportable (the Keras parity tests live in test_activations_keras.py)."""
    code = ("import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None\n"
            "import pytest\n"
            "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_activations.py', "
            "'-k', 'not without_tensorflow']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
