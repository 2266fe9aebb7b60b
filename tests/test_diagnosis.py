"""compare.diagnosis.classify: how a candidate quantity differs from the reference (no TensorFlow)."""
import numpy as np
import pytest

from compare.diagnosis import classify

rng = np.random.default_rng(0)
REF = rng.standard_normal((32, 6))
SQUARE = rng.standard_normal((6, 6))
TOL = 1e-12


@pytest.mark.parametrize("candidate,kind,factor,hint", [
    (REF * 32, "factor", 32.0, "= m, the batch size: the equation's 1/m is missing"),
    (REF / 32, "factor", 1 / 32, "= 1/(m, the batch size): divided by it once too often"),
    (REF * 6, "factor", 6.0, "= n_out, the layer's width"),
    (REF * 2, "factor", 2.0, "= 2: the equation's 1/2 is missing"),
    (REF * 1.7, "factor", 1.7, "off by a constant factor of 1.7"),
    (-REF, "sign", -1.0, "the sign is flipped"),
    (np.where(REF > 2, np.nan, REF), "nonfinite", None, "NaN or inf"),
    (REF[:, :5], "shape", None, "expected shape (32, 6), got (32, 5)"),
    (REF.T, "transpose", None, "the transpose"),
    (REF + 0.1 * rng.standard_normal(REF.shape), "other", None, "the values differ"),
])
def test_each_kind_is_named(candidate, kind, factor, hint):
    got = classify(REF, candidate, TOL, m=32, n_out=6)
    assert got["kind"] == kind and hint in got["hint"]
    assert got["factor"] == (None if factor is None else pytest.approx(factor))


def test_a_square_transpose_is_told_from_the_matrix():
    assert classify(SQUARE, SQUARE.T, TOL, m=32, n_out=6)["kind"] == "transpose"
    symmetric = SQUARE + SQUARE.T  # its transpose is itself: a difference there is something else
    assert classify(symmetric, symmetric * 3, TOL, m=32, n_out=6)["kind"] == "factor"


def test_a_difference_only_at_the_kinks_is_named_kinks():
    Z = np.where(rng.random(REF.shape) < 0.2, 0.0, REF)
    at_kink = Z == 0
    candidate = np.where(at_kink, 1.0, REF)
    assert classify(REF, candidate, TOL, 32, 6, kink_mask=at_kink)["kind"] == "kinks"
    elsewhere = candidate.copy()
    elsewhere[~at_kink] += 1.0
    assert classify(REF, elsewhere, TOL, 32, 6, kink_mask=at_kink)["kind"] == "other"


def test_a_scalar_factor_counts_only_when_it_has_a_name():
    assert classify(np.array(0.7), np.array(0.7 * 1.003), TOL, 32, 1)["kind"] == "other"
    assert classify(np.array(0.7), np.array(0.7 * 32), TOL, 32, 1)["kind"] == "factor"
