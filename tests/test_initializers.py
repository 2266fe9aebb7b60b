import math

import numpy as np
import pytest

from scratch import initializers
from scratch.initializers import INITIALIZERS, TRUNCATED_NORMAL_STD
from scratch.tolerances import FUNCTION_ULPS, ulps
from tests.helpers import assert_close

SHAPE = (200, 300)
#: (bound of the draws, their standard deviation) from Keras's definitions, for SHAPE.
S_IN, S_AVG = 1 / 200, 1 / 250
EXPECTED = {
    "uniform": ("uniform", 0.05, 0.05 / math.sqrt(3)),
    "lecun_uniform": ("uniform", math.sqrt(3 * S_IN), math.sqrt(S_IN)),
    "normal": ("normal", None, 0.05),
    "glorot_normal": ("truncated", 2 * math.sqrt(S_AVG) / TRUNCATED_NORMAL_STD, math.sqrt(S_AVG)),
    "glorot_uniform": ("uniform", math.sqrt(3 * S_AVG), math.sqrt(S_AVG)),
    "he_normal": ("truncated", 2 * math.sqrt(2 * S_IN) / TRUNCATED_NORMAL_STD, math.sqrt(2 * S_IN)),
    "he_uniform": ("uniform", math.sqrt(6 * S_IN), math.sqrt(2 * S_IN)),
}


def std_within(n: int) -> float:
    """Five standard errors of a sample std, relative to it: 5 sqrt((kurtosis - 1) / (4 n)),
    with the normal's kurtosis 3, the largest here (uniform 1.8, normal truncated at 2: 2.4)."""
    return 5 * math.sqrt((3 - 1) / (4 * n))


def test_the_eight_names_in_the_lecture_order():
    assert list(INITIALIZERS) == ["uniform", "lecun_uniform", "normal", "zero", "glorot_normal",
                                  "glorot_uniform", "he_normal", "he_uniform"]


def test_truncated_normal_constant_is_the_std_of_a_unit_normal_cut_at_two():
    from scipy import stats
    # scipy's std: exp and the normal CDF (FUNCTION_ULPS), some 6 arithmetic roundings and a
    # sqrt; and the 17-digit literal's one
    assert_close(TRUNCATED_NORMAL_STD, stats.truncnorm(-2, 2).std(), ulps(np.float64, FUNCTION_ULPS + 8))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bounds_and_spread_match_keras_definitions(name):
    kind, bound, std = EXPECTED[name]
    W = initializers.get(name)(SHAPE, np.random.default_rng(0), "float64")
    assert W.shape == SHAPE
    if bound is not None:
        # the same expression as scratch's limit (equal bits); uniform(-l, l) and 2 sigma z, |z| <= 2,
        # round to at most it
        assert np.abs(W).max() <= bound
        # the support is used up to its edge: all 60000 draws below 0.97 of it has probability
        # 0.97^60000 = e^-1800 (uniform), (1 - 0.0072)^60000 = e^-430 (truncated normal)
        assert np.abs(W).max() > 0.97 * bound
    assert W.std() == pytest.approx(std, rel=std_within(W.size))  # 0.014: five standard errors
    assert abs(W.mean()) < 5 * std / np.sqrt(W.size)  # five standard errors


def test_zero_is_all_zeros():
    W = initializers.get("zero")((4, 6), np.random.default_rng(0), "float32")
    assert W.dtype == np.float32 and not W.any()


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_seeded_draws_repeat_and_keep_the_dtype(name):
    init = initializers.get(name)
    a = init((4, 6), np.random.default_rng(7), "float32")
    b = init((4, 6), np.random.default_rng(7), "float32")
    assert a.dtype == np.float32 and np.array_equal(a, b)


def test_fans_of_a_kernel():
    assert initializers.fans((4, 6)) == (4.0, 6.0)
    with pytest.raises(ValueError):
        initializers.fans((2, 3, 4))


def test_unknown_init_mode_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown init_mode 'xavier'; valid: uniform, lecun_uniform"):
        initializers.get("xavier")


@pytest.mark.parametrize("name", [n for n in INITIALIZERS if n != "zero"])
def test_same_distribution_as_keras(name):
    """Two-sample Kolmogorov-Smirnov test against Keras's own draws (negative control below).

    At the significance level 1e-3: the chance that draws of one distribution fail it.
    """
    from scipy import stats
    import keras_ref
    ours = initializers.get(name)((100, 150), np.random.default_rng(3), "float64").ravel()
    theirs = np.asarray(keras_ref.kernel_initializer(name, seed=3)((100, 150), dtype="float64")).ravel()
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_ks_tells_glorot_from_he():
    """The negative control: the test above can fail on a wrong distribution (Glorot's bound is
    sqrt(6 / 250) = 0.15, He's sqrt(6 / 100) = 0.24: p far below the level 1e-3)."""
    from scipy import stats
    import keras_ref
    ours = initializers.get("glorot_uniform")((100, 150), np.random.default_rng(3), "float64").ravel()
    theirs = np.asarray(keras_ref.kernel_initializer("he_uniform", seed=3)((100, 150), dtype="float64")).ravel()
    assert stats.ks_2samp(ours, theirs).pvalue < 1e-6
