import json
import math

import numpy as np
import pytest

from compare import initializers as cmd
from scratch import initializers


def test_all_modes_and_shapes_match_keras(tmp_path):
    path = tmp_path / "init.json"
    assert cmd.main(["--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert len(report["cases"]) == 8 * 4
    assert {c["shape"] for c in report["cases"]} == {"square", "wide", "tall", "edge"}
    uniform = [c for c in report["cases"] if c["expected"]["kind"] == "uniform"]
    assert all(c["scratch"]["bounds_ok"] and c["keras"]["bounds_ok"] for c in uniform)


def test_a_wrong_scale_is_caught(monkeypatch):
    """Negative control: scratch's he_uniform drawn 3 % too wide fails KS and the std check.

    3 % is 8.6 of the std check's standard errors (0.35 % for 4 x 64 x 64 uniform draws), past
    its 5, and puts every draw above 1 / 1.03 = 0.971 of the bound past the bound.
    """
    right = initializers.INITIALIZERS["he_uniform"]
    monkeypatch.setitem(initializers.INITIALIZERS, "he_uniform", lambda s, rng, dtype: right(s, rng, dtype) * 1.03)
    result = cmd.run_case("he_uniform", "square", draws=4, seed=0, alpha=1e-3)
    assert not result["passed"] and not result["scratch"]["std_ok"] and not result["scratch"]["bounds_ok"]


def test_an_untruncated_normal_is_caught(monkeypatch):
    """Negative control: he_normal without the truncation breaks the bound."""
    monkeypatch.setitem(initializers.INITIALIZERS, "he_normal",
                        lambda s, rng, dtype: rng.standard_normal(s) * np.sqrt(2 / s[0]))
    assert not cmd.run_case("he_normal", "square", draws=4, seed=0, alpha=1e-3)["scratch"]["bounds_ok"]


def test_table_11_1_gains_follow_the_derivation():
    """signal_kept estimates g'(0)^2 n Var(W) = 1 from one n x n kernel (n = 256) and 4000 inputs
    of std 0.05.  Its standard error: the mean of n^2 squared weights, sqrt(kurtosis - 1) / n
    (kurtosis at most 3), and of the inputs' squares, sqrt(2 / (4000 n)).  Its bias: g's
    curvature, at most sigma_z^2 / 2 = 0.02 for the logistic with gain 4 (inputs to g of std
    sigma_z = 0.2), 2 sigma_z^2 = 0.005 for tanh, none for relu."""
    assert initializers.TABLE_11_1_GAINS == {"logistic": 4.0, "tanh": 1.0, "relu": pytest.approx(2 ** 0.5)}
    se = math.sqrt(2 / 256 ** 2 + 2 / (4000 * 256))
    rows = {r["name"]: r for r in cmd.table_11_1()}
    for r in rows.values():  # variance kept through one layer: 5 standard errors and the bias
        assert r["signal_kept"] == pytest.approx(1.0, abs=5 * se + 0.2 ** 2 / 2)
    # the table as printed: the logistic keeps 1/16 of the signal (gain 1: inputs to g of std
    # 0.05, bias 0.05^2 / 2), tanh amplifies it 16 (1 - 2 0.2^2) = 14.7 times
    assert rows["xavier_logistic_uniform"]["signal_kept_as_printed"] == pytest.approx(
        1 / 16, rel=5 * se + 0.05 ** 2 / 2)
    assert rows["xavier_tanh_normal"]["signal_kept_as_printed"] > 10


def test_table_11_1_initializers_by_hand():
    rng = np.random.default_rng(0)
    W = initializers.get("xavier_logistic_uniform")((100, 300), rng, "float64")
    r = 4 * np.sqrt(6 / 400)
    # up to its edge: all 30000 draws below 0.99 r has probability 0.99^30000 = e^-300
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r
    W = initializers.get("xavier_relu_normal")((200, 200), rng, "float64")
    # five standard errors of a normal sample's std, 5 sqrt(2 / (4 n)) = 0.018 of it
    assert W.std() == pytest.approx(np.sqrt(2) * np.sqrt(2 / 400), rel=5 * math.sqrt(2 / (4 * W.size)))


@pytest.mark.parametrize("argv,message", [
    (["--init-modes", "xavier"], "unknown init mode 'xavier'"),
    (["--shapes", "round"], "unknown shape 'round'; valid: square, wide, tall, edge"),
    (["--alpha", "2"], "--alpha must be below 1"),
    (["--draws", "0"], "'0' must be >= 1"),
])
def test_bad_input(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cmd.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
