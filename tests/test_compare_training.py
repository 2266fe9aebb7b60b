"""python -m compare.training as users run it, on small configurations."""
import json

import numpy as np
import pytest

from compare import training
from scratch import tolerances

SMALL = ["--steps", "40", "--batch-sizes", "1,16,64", "--datasets", "iris", "--epochs", "3"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("training") / "r.json"
    code = training.main(SMALL + ["--optimizers", "all", "--json", str(path)])
    return code, json.loads(path.read_text())


def test_every_optimizer_and_batch_size_follows_keras(small_run):
    code, report = small_run
    assert code == 0 and report["passed"]
    cases = {(c["optimizer"], c["batch_size"], c["dtype"]) for c in report["steps"]}
    assert cases == {(o, b, d) for o in training.OPTIMIZERS for b in (1, 16, 64) for d in ("float32", "float64")}
    for c in report["steps"]:
        assert c["steps"] == 40 and c["first_drift_step"] is None
        assert set(c["worst"]) >= {"loss", "Theta1", "Theta2"}
        slots = {k.split("/")[0] for k in c["worst"] if "/" in k}
        kind = training.OPTIMIZERS[c["optimizer"]][0]
        assert slots == set(training.make_optimizers(c["optimizer"], None)[0]._slot_names()), (kind, slots)
        assert c["tolerance"] == tolerances.training(c["dtype"], (4, 6, 1), c["batch_size"], 40)
        if c["dtype"] == "float64":  # float32 may also pass within its own rounding (Drift)
            assert max(e["drift"] for e in c["worst"].values()) <= c["tolerance"]


def test_real_data_fit_agrees_and_reports_accuracy(small_run):
    fits = small_run[1]["fits"]
    assert [(f["dataset"], f["dtype"]) for f in fits] == [("iris", "float32"), ("iris", "float64")]
    for f in fits:
        assert f["passed"] and f["layers"] == [4, 16, 3]
        # Keras's accuracy metric accumulates in float32
        assert f["accuracy"]["keras"]["val"] == pytest.approx(f["accuracy"]["scratch"]["val"], rel=1e-6)
        assert set(f["compared"]) == {"loss", "val_loss", "W1", "b1", "W2", "b2"}


def test_200_adam_steps_in_float64_stay_within_1e_9():
    """The issue's own bar, measured per weight tensor; the derived tolerance is tighter still."""
    import numpy as np
    import keras_ref
    import scratch
    config = training.Config(optimizers=("adam",), batch_sizes=(16,), dtypes=("float64",), datasets=())
    X, Y = training._batch(config)
    model = keras_ref.build_model(config.layers, hidden_activation=config.hidden_activation, dtype="float64")
    result = training.run_steps_case(config, model, "adam", 16, "float64", X.astype("float64"), Y.astype("float64"))
    assert result["passed"] and result["steps"] == 200
    assert result["tolerance"] == tolerances.training("float64", (4, 6, 1), 16, 200) < 1e-9
    assert max(e["drift"] for e in result["worst"].values()) <= result["tolerance"]


def test_a_perturbed_step_is_reported_where_it_happens(tmp_path, capsys):
    path = tmp_path / "r.json"
    args = ["--steps", "20", "--batch-sizes", "16", "--datasets", "none", "--optimizers", "sgd,adam"]
    assert training.main(args + ["--perturb-step", "7", "--json", str(path)]) == 1
    report = json.loads(path.read_text())
    assert [c["first_drift_step"] for c in report["steps"]] == [7, 7, 7, 7]
    assert all("Theta1" in c["first_drift_keys"] for c in report["steps"])
    assert "first drift at step 7 in Theta1" in capsys.readouterr().out


def test_leaving_out_the_learning_rate_rounding_drifts_from_step_1(tmp_path):
    path = tmp_path / "r.json"
    args = ["--steps", "10", "--batch-sizes", "64", "--datasets", "none", "--dtypes", "float64",
            "--optimizers", "sgd,adam"]
    assert training.main(args + ["--json", str(path)]) == 0
    assert training.main(args + ["--drop-quirk", "learning_rate", "--json", str(path), "--overwrite"]) == 1
    assert [c["first_drift_step"] for c in json.loads(path.read_text())["steps"]] == [1, 1]


def test_zero_init_keeps_hidden_units_identical_on_both_sides(tmp_path, capsys):
    """Identical up to rounding, in both dtypes: spread / the layer's largest parameter <= steps x eps."""
    path = tmp_path / "r.json"
    assert training.main(["--init-mode", "zero", "--steps", "60", "--batch-sizes", "8,64", "--datasets", "none",
                          "--optimizers", "sgd,adam,rmsprop_centered", "--json", str(path)]) == 0
    for c in json.loads(path.read_text())["steps"]:
        bound = c["hidden_spread"]["bound"]
        assert bound == tolerances.symmetry(c["dtype"], 60) == 60 * np.finfo(c["dtype"]).eps
        assert c["hidden_spread"]["scratch"] <= bound and c["hidden_spread"]["keras"] <= bound
    without = tmp_path / "glorot.json"
    training.main(["--steps", "60", "--batch-sizes", "8", "--datasets", "none", "--optimizers", "sgd",
                   "--dtypes", "float64", "--json", str(without)])
    assert json.loads(without.read_text())["steps"][0]["hidden_spread"]["scratch"] > 0.1  # negative control


def test_a_diverging_run_names_the_step(capsys):
    code = training.main(["--steps", "50", "--batch-sizes", "64", "--datasets", "none", "--optimizers", "sgd",
                          "--dtypes", "float64", "--learning-rate", "1e300"])
    assert code == 1
    assert "FAIL sgd/float64: scratch: loss became" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--batch-sizes", "0"], "batch size 0 must be from 1 to --examples (64)"),
    (["--batch-sizes", "65"], "batch size 65 must be from 1 to --examples (64)"),
    (["--epochs", "-1"], "'-1' must be >= 0"),
    (["--steps", "x"], "'x' is not an integer"),
    (["--optimizers", "nadam"], "unknown optimizer 'nadam'; valid: sgd, sgd_momentum"),
    (["--learning-rate", "0"], "'0' must be a finite number > 0"),
    (["--learning-rate", "-0.1"], "'-0.1' must be a finite number > 0"),
    (["--datasets", "mnist"], "unknown data set 'mnist'; valid: iris"),
    (["--init-mode", "xavier"], "invalid choice: 'xavier'"),
    (["--layers", "4,6,2"], "one sigmoid output"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(training.main(argv + ["--datasets", "none"] if "--datasets" not in argv else argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("compare.training: error: ") and message in err[-1]
