"""The harness core: one verdict on a quantity, the first divergence, drift over steps, and one
way to run a command (bad input -> exit 2 and nothing written; JSON; exit 0 or 1)."""
import argparse
import json

import numpy as np
import pytest

from compare.cli import add_output_arguments
from compare.core import Drift, Outcome, compare_named, errors, failures, first_divergence, judge, run_command

EPS = np.finfo(np.float64).eps


def test_errors_are_the_lecture_s_relative_difference():
    a, b = np.array([3.0, 4.0]), np.array([3.0, 4.5])
    e = errors(a, b)
    assert e["max_abs"] == 0.5 and e["max_rel"] == 0.5 / 4.5
    assert e["rel_diff"] == pytest.approx(0.5 / (5.0 + np.hypot(3.0, 4.5)), rel=4 * EPS)
    assert errors(np.zeros(3), np.zeros(3)) == {"max_abs": 0.0, "max_rel": 0.0, "rel_diff": 0.0}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nonfinite_value_never_agrees(bad):
    """A norm of NaN once read as 0, so a NaN gradient passed: the negative control for that."""
    a, b = np.ones(4), np.array([1.0, bad, 1.0, 1.0])
    assert errors(a, b)["rel_diff"] == np.inf
    assert not judge(a, b, 1.0)["passed"]
    assert failures(compare_named({"g": a}, {"g": b}, 1e-3)) == ["g"]
    assert judge(b, b.copy(), EPS)["passed"]  # the very same values, NaN where NaN: they agree


def test_judge_a_shape_magnitude_and_measure():
    a = np.array([1.0, 1e-6])
    assert not judge(a, a[:1], 1.0)["passed"] and judge(a, a[:1], 1.0)["rel_diff"] == np.inf
    b = a * (1 + np.array([0.0, 1e-6]))
    assert judge(a, b, 1e-9)["passed"]  # norm-wise the small entry's error vanishes...
    assert not judge(a, b, 1e-9, measure="max_rel")["passed"]  # ...entry by entry it does not
    # terms that cancel: magnitudes 1e3 times the result raise the tolerance
    g, h = np.array([1.0, -1.0]), np.array([1.0, -1.0]) * (1 + 1e-9)
    assert not judge(g, h, 1e-10)["passed"]
    judged = judge(g, h, 1e-10, magnitude=np.full(2, 1e3))
    assert judged["passed"] and judged["tolerance"] == pytest.approx(1e-10 * 1e3, rel=1e-12)


def test_the_first_divergence_is_the_first_failing_row_in_data_flow_order():
    rows = [{"quantity": "Z1", "layer": 1, "passed": True},
            {"quantity": "A1", "layer": 1, "passed": False, "kind": "sign"},
            {"quantity": "dZ1", "layer": 1, "passed": False, "kind": "other"}]
    first = first_divergence(rows)
    assert first["quantity"] == "A1" and first["kind"] == "sign" and first["function"] is None
    assert first_divergence(rows[:1]) is None


def test_drift_names_the_first_step_past_tolerance():
    drift = Drift(lambda k: 1e-12 * np.sqrt(k))
    w = np.array([1.0, 2.0])
    for step in range(1, 6):
        moved = w * (1 + (1e-6 if step >= 4 else 1e-14))
        drift.update(step, {"W": w, "loss": 0.5}, {"W": moved, "loss": 0.5})
    report = drift.report()
    assert report["first_drift_step"] == 4 and report["first_drift_keys"] == ["W"] and not report["passed"]
    assert report["worst"]["W"]["step"] >= 4 and report["worst"]["loss"]["drift"] == 0.0


# --- one runner: a new command in a few lines --------------------------------------------------------

def toy_parser():
    p = argparse.ArgumentParser(prog="compare.toy")
    p.add_argument("--offset", type=float, default=0.0)
    p.add_argument("--verbose", action="store_true")
    add_output_arguments(p)
    return p


def toy_prepare(args, parser):
    if args.offset < 0:
        raise ValueError(f"--offset must be >= 0, got {args.offset}")
    return args.offset


def toy_execute(offset, args, device_name):
    from dataclasses import make_dataclass
    named = compare_named({"output": np.ones(3)}, {"output": np.ones(3) + offset}, 1e-12)
    config = make_dataclass("Config", [("offset", float), ("seed", int)])(offset, 0)
    return Outcome(not failures(named), config, [f"toy on {device_name}"], {"quantities": named})


def toy(argv):
    return run_command("compare.toy", toy_parser, argv, toy_execute, toy_prepare)


def test_one_runner_gives_every_command_its_exit_codes_and_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert toy(["--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["passed"] and report["command"] == "compare.toy" and report["config"] == {"offset": 0.0, "seed": 0}
    assert "toy on /device:CPU:0" in capsys.readouterr().out and "versions" in report
    assert toy(["--json", str(tmp_path / "bad.json"), "--offset", "1"]) == 1  # the negative control
    assert not json.loads((tmp_path / "bad.json").read_text())["quantities"]["output"]["passed"]

    assert toy(["--json", str(tmp_path / "none.json"), "--offset", "-1"]) == 2  # bad input: one line, nothing written
    assert capsys.readouterr().err.strip() == "compare.toy: error: --offset must be >= 0, got -1.0"
    assert not (tmp_path / "none.json").exists()
    with pytest.raises(SystemExit) as refused:  # an earlier report is kept unless asked
        toy(["--json", str(out), "--offset", "1"])
    assert refused.value.code == 2 and json.loads(out.read_text())["passed"]
    assert toy(["--json", str(out), "--offset", "1", "--overwrite"]) == 1 and not json.loads(out.read_text())["passed"]


def test_only_bad_input_is_exit_2_and_a_bug_keeps_its_traceback(capsys):
    from compare.core import as_bad_input

    def loads(offset, args, device_name):
        with as_bad_input():  # what the user handed over, checked while it loads
            raise ValueError("no model file at nowhere.keras")

    def breaks(offset, args, device_name):
        raise ValueError("operands could not be broadcast together")  # the command's own bug
    assert run_command("compare.toy", toy_parser, [], loads, toy_prepare) == 2
    assert capsys.readouterr().err.strip() == "compare.toy: error: no model file at nowhere.keras"
    with pytest.raises(ValueError, match="broadcast"):
        run_command("compare.toy", toy_parser, [], breaks, toy_prepare)
