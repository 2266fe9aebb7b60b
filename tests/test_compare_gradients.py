"""The command as users run it: python -m compare.gradients, in process through main()."""
import json
import subprocess
import sys

import numpy as np
import pytest

from compare import gradients
from scratch import tolerances


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "gradients.json"
    code = gradients.main(["--json", str(path)])
    return code, json.loads(path.read_text())


def test_default_matrix_passes(default_run):
    code, report = default_run
    assert code == 0 and report["passed"]
    cases = report["cases"]
    assert len(cases) == 8 * 4 * 2
    assert {(c["init_mode"], c["activation"], c["dtype"]) for c in cases} == {
        (i, a, d) for i in gradients.keras_ref.INIT_MODES
        for a in ("sigmoid", "tanh", "relu", "leaky_relu") for d in ("float32", "float64")}
    assert set(cases[0]["quantities"]) == {"output", "loss", "dW1", "db1", "dW2", "db2"}
    assert set(cases[0]["finite_differences"]) == {"dW1", "db1", "dW2", "db2"}
    # layer by layer, in data-flow order; the sigmoid output's loss reads its logits: no dA2
    assert [r["quantity"] for r in cases[0]["layers"]] == [
        "Z1", "A1", "Z2", "A2", "loss", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]
    assert all(c["first_divergence"] is None and all(r["passed"] for r in c["layers"]) for c in cases)
    assert {"tensorflow", "keras", "numpy"} <= set(report["versions"])
    assert report["config"]["layers"] == [4, 6, 1] and report["seed"] == 0 and report["device"]


def test_tolerances_are_derived_from_epsilon_and_the_network(default_run):
    """N eps for the 4-6-1 network on a batch of 32 (scratch.tolerances.network), per tensor for
    finite differences; every quantity within them."""
    for case in default_run[1]["cases"]:
        assert case["tolerance"] == tolerances.network(case["dtype"], (4, 6, 1), 32)
        assert case["tolerance"] == 97 * np.finfo(case["dtype"]).eps
        for key, e in case["quantities"].items():
            # output and loss at N eps; a gradient at N eps raised where its terms cancel
            assert e["tolerance"] == case["tolerance"] if key in ("output", "loss") else e["tolerance"] >= case["tolerance"]
            assert e["rel_diff"] <= e["tolerance"]
        for e in case["finite_differences"].values():
            assert e["rel_diff"] <= e["tolerance"]


def test_zero_init_mode_compares_all_zero_gradients(default_run):
    """dW1 is exactly zero on both sides with zero weights: relative difference 0, not NaN."""
    zero = [c for c in default_run[1]["cases"] if c["init_mode"] == "zero"]
    assert all(c["quantities"]["dW1"]["max_abs"] == 0 and c["quantities"]["dW1"]["rel_diff"] == 0 for c in zero)


ONE_CASE = ["--init-modes", "glorot_uniform", "--activations", "tanh", "--dtypes", "float64"]


@pytest.mark.parametrize("key,failing", [
    ("dW1", {"dW1"}),               # a wrong gradient: Keras and finite differences both object
    ("loss", {"loss"}),
    ("output", {"output"}),
    ("W2", {"output", "loss", "dW1", "db1", "dW2", "db2"}),  # a wrong weight changes everything
])
def test_negative_control_perturbation_is_reported(tmp_path, capsys, key, failing):
    path = tmp_path / "r.json"
    assert gradients.main(ONE_CASE + ["--perturb", key, "--json", str(path)]) == 1
    case = json.loads(path.read_text())["cases"][0]
    assert {k for k, e in case["quantities"].items() if not e["passed"]} == failing
    out = capsys.readouterr().out
    assert f"FAIL glorot_uniform/tanh/float64 {key if key != 'W2' else 'output'}:" in out
    assert "(scratch vs keras)" in out and "0/1 cases agree" in out
    if key == "dW1":
        assert not case["finite_differences"]["dW1"]["passed"]


def test_without_keras_compat_the_float32_roundings_show(capsys):
    """Each quirk left out breaks float64 parity at N eps; with all of them it holds."""
    args = ["--init-modes", "he_normal", "--dtypes", "float64"]
    assert gradients.main(args + ["--activations", "leaky_relu", "--drop-quirk", "leaky_relu_slope"]) == 1
    assert gradients.main(args + ["--activations", "tanh", "--l2", "0.01", "--drop-quirk", "l2_factor"]) == 1
    assert gradients.main(args + ["--activations", "tanh", "--no-keras-compat"]) == 0  # nothing to reproduce
    assert gradients.main(args + ["--activations", "leaky_relu", "--l2", "0.01"]) == 0
    crossed = ["--layers", "4,6,3", "--output-activation", "softmax", "--activations", "tanh"]
    assert gradients.main(args + crossed + ["--drop-quirk", "crossed_logits"]) == 1
    assert gradients.main(args + crossed) == 0
    assert "keras_compat without crossed_logits" in capsys.readouterr().out


def test_other_losses_and_deeper_networks_pass(tmp_path):
    path = tmp_path / "deep.json"
    assert gradients.main(["--layers", "4,8,5,3", "--output-activation", "softmax",
                           "--loss", "categorical_crossentropy", "--l2", "0.01",
                           "--init-modes", "he_uniform,lecun_uniform", "--activations", "all",
                           "--json", str(path)]) == 0
    cases = json.loads(path.read_text())["cases"]
    kinks = {c["activation"]: sum(e["kink_entries"] for e in c["finite_differences"].values()) for c in cases}
    assert kinks["relu"] > 0 and kinks["tanh"] == 0  # dead units with zero biases sit on the kink
    assert gradients.main(["--layers", "3 4 2", "--output-activation", "linear",
                           "--loss", "mean_squared_error", "--init-modes", "normal"]) == 0


@pytest.mark.parametrize("argv,message", [
    (["--init-modes", "xavier"], "unknown init mode 'xavier'; valid: uniform, lecun_uniform"),
    (["--activations", "swish"], "unknown activation 'swish'; valid: sigmoid"),
    (["--loss", "hinge"], "invalid choice: 'hinge'"),
    (["--layers", "4"], "layer_sizes needs at least two sizes"),
    (["--layers", "4,0,1"], "layer size 0"),
    (["--layers", "4,x,1"], "layer size 'x' is not an integer"),
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--tol-float64", "-1"], "must be a finite number > 0"),
    (["--perturb", "dW9"], "unknown --perturb 'dW9'; valid: output, loss, dW1"),
    (["--l2", "-0.5"], "l2 must be a finite number >= 0"),
    (["--seed", "-1"], "'-1' must be >= 0"),
    (["--json", "/nonexistent/folder/r.json"], "does not exist or cannot be written"),
    (["--json", "/tmp"], "is a directory"),
    (["--drop-quirk", "gravity"], "invalid choice: 'gravity'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        code = gradients.main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("compare.gradients: error: ") and message in err


def test_an_existing_report_is_not_overwritten(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text("earlier results")
    with pytest.raises(SystemExit) as exit_info:
        gradients.main(ONE_CASE + ["--json", str(path)])
    assert exit_info.value.code == 2 and path.read_text() == "earlier results"
    assert "pass --overwrite" in capsys.readouterr().err
    assert gradients.main(ONE_CASE + ["--json", str(path), "--overwrite"]) == 0
    assert json.loads(path.read_text())["passed"]


def test_python_dash_m_runs_with_help():
    result = subprocess.run([sys.executable, "-m", "compare.gradients", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--no-keras-compat" in result.stdout and "--perturb" in result.stdout


LAYER_QUANTITIES = ["Z1", "A1", "Z2", "A2", "loss", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"]


@pytest.mark.parametrize("key", LAYER_QUANTITIES + ["output", "W1", "b2"])
def test_a_perturbed_quantity_is_named_as_the_first_divergence(tmp_path, capsys, key):
    """--perturb moves one quantity inside the twin's pass, where it is made, so everything
    downstream may differ too: the report must name exactly that one (a weight: the first
    quantity it feeds; the output: A2)."""
    path = tmp_path / "r.json"
    argv = ["--perturb", key, "--init-modes", "uniform", "--activations", "tanh", "--dtypes", "float32,float64",
            "--json", str(path)]
    assert gradients.main(argv) == 1
    expected = {"output": "A2", "W1": "Z1", "b2": "Z2"}.get(key, key)
    for case in json.loads(path.read_text())["cases"]:
        first = case["first_divergence"]
        assert first["quantity"] == expected, (case["dtype"], first)
        upstream = [r for r in case["layers"][:[r["quantity"] for r in case["layers"]].index(expected)]]
        assert all(r["passed"] for r in upstream)
        assert first["layer"] == (0 if expected == "loss" else int(expected[-1])) and first["equation"]
    assert f"FIRST DIVERGENCE uniform/tanh/float32: " in capsys.readouterr().out


def test_detail_prints_the_layer_table(capsys):
    assert gradients.main(["--init-modes", "uniform", "--activations", "relu", "--dtypes", "float64",
                           "--perturb", "dA1", "--detail"]) == 1
    out = capsys.readouterr().out
    assert "uniform/relu/float64, layer by layer (twin vs keras):" in out
    rows = [line for line in out.splitlines() if "FIRST DIVERGENCE (" in line]
    assert len(rows) == 1 and rows[0].split()[2] == "dA1"  # the table marks the moved quantity, and only it


def test_repeated_layer_sizes_are_kept(tmp_path):
    """4,6,6,1 is a network of three layers (a list of init modes drops repeats; sizes must not)."""
    path = tmp_path / "r.json"
    assert gradients.main(["--layers", "4,6,6,1", "--init-modes", "uniform", "--activations", "tanh",
                           "--dtypes", "float64", "--json", str(path)]) == 0
    case = json.loads(path.read_text())["cases"][0]
    assert set(case["quantities"]) == {"output", "loss", "dW1", "db1", "dW2", "db2", "dW3", "db3"}
