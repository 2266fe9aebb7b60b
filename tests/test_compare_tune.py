"""python -m compare.tune --engine scratch: the twin trains the sweep, Keras checks its best trial."""
import json
import os

import numpy as np
import pytest

from compare import tune

SWEEP = ["--engine", "scratch", "--data", "iris", "--epochs", "3", "--executions-per-trial", "3",
         "--init-modes", "he_normal,zero,glorot_uniform"]


@pytest.fixture(scope="module")
def scratch_sweep(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("scratch") / "out")
    code = tune.main(SWEEP + ["--out", out])
    with open(os.path.join(out, "results.json")) as f:
        return code, out, json.load(f)


def test_the_twin_trains_every_execution_and_passes_the_keras_check(scratch_sweep):
    code, out, report = scratch_sweep
    assert code == 0 and report["sweep"]["engine"] == "scratch" and report["engine"]["name"] == "scratch"
    assert all(t["status"] == "COMPLETED" and len(t["execution_results"]) == 3 for t in report["trials"])
    parity = report["engine"]["parity"]
    assert parity["passed"] and parity["trial_id"] == report["trials"][0]["trial_id"]  # the best trial
    assert set(parity["checks"]) == {"loss", "val_loss", "W1", "b1", "W2", "b2", "recorded val_loss"}
    assert parity["steps"] == 3 * 2 and parity["speedup"] > 0  # 3 epochs of 120 rows in batches of 64
    # the twin's first execution of the best trial is the one the sweep recorded
    recorded = report["trials"][0]["execution_results"][0]["val_loss"]
    assert parity["checks"]["recorded val_loss"]["rel_diff"] <= parity["tolerance"]
    assert len(recorded) == 3 and parity["curves"]["twin"] == pytest.approx(recorded, rel=parity["tolerance"])


def test_an_execution_s_initial_weights_are_keras_s_draws_for_its_seed(scratch_sweep):
    """Same seed, same draws: the twin starts where the Keras engine's execution would."""
    import keras_ref
    from keras_ref import datasets
    from keras_ref.sweep import SweepHyperModel
    hypermodel = SweepHyperModel(datasets.load("iris", seed=0), {
        "init_mode": ["he_normal"], "activation": ["relu"], "hidden_units": [16], "learning_rate": [0.001],
        "batch_size": [64]}, seed=0)
    model = hypermodel.model({"init_mode": "he_normal", "activation": "relu", "hidden_units": 16,
                              "learning_rate": 0.001, "batch_size": 64}, seed=2)
    net, _ = tune.ScratchEngine().twin(hypermodel, {"activation": "relu", "hidden_units": 16, "learning_rate": 0.001},
                                      model)
    expected = keras_ref.initial_weights([4, 16, 3], "he_normal", seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), expected))


def test_negative_control_a_twin_that_trains_otherwise_fails_the_keras_check(tmp_path, monkeypatch, capsys):
    """The twin's optimizer given a learning rate 1 % off: the sweep runs, but Keras's retraining of
    its best trial does not follow it, and the command says so and exits 1."""
    real = tune.ScratchEngine.twin

    def off(self, hypermodel, values, model):
        net, optimizer = real(self, hypermodel, values, model)
        optimizer.learning_rate *= 1.01
        return net, optimizer
    monkeypatch.setattr(tune.ScratchEngine, "twin", off)
    code = tune.main(SWEEP + ["--init-modes", "he_normal", "--executions-per-trial", "2", "--out", str(tmp_path / "o")])
    printed = capsys.readouterr().out
    assert code == 1 and "DOES NOT AGREE" in printed and "its sweep cannot be trusted" in printed
    with open(tmp_path / "o" / "results.json") as f:
        parity = json.load(f)["engine"]["parity"]
    assert not parity["passed"] and "val_loss" in parity["failed"]


def test_a_moved_record_is_caught_by_the_check(scratch_sweep):
    """The curve the sweep recorded must be the twin's own: one moved by 1e-3 is reported."""
    from keras_ref import datasets
    from keras_ref.sweep import SweepHyperModel
    _, out, report = scratch_sweep
    with open(os.path.join(out, "search.json")) as f:
        space = json.load(f)["space"]
    hypermodel = SweepHyperModel(datasets.load("iris", seed=0), space, seed=0)
    row = report["trials"][0]
    args = tune.tune.build_parser(tune.tune.ENGINES | {"scratch": tune.ScratchEngine}).parse_args(SWEEP + ["--out", out])
    honest = tune.parity(tune.ScratchEngine(), hypermodel, row, args)
    moved = list(row["execution_results"][0]["val_loss"])
    moved[1] *= 1 + 1e-3
    caught = tune.parity(tune.ScratchEngine(), hypermodel, row, args, recorded={"val_loss": moved})
    assert honest["passed"] and not caught["passed"] and caught["failed"] == ["recorded val_loss"]


@pytest.mark.parametrize("extra,message", [
    (["--oracle", "hyperband"], "--engine scratch: hyperband continues trials from Keras checkpoints"),
    (["--tensorboard"], "--engine scratch: the twin writes no TensorBoard logs"),
    (["--engine", "numba"], "invalid choice: 'numba' (choose from 'keras', 'scratch')"),
])
def test_what_the_twin_cannot_run_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        tune.main(SWEEP + ["--out", str(tmp_path / "out")] + extra)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and message in err, err
    assert not os.path.exists(tmp_path / "out" / "search.json")


def test_a_sweep_of_the_other_engine_is_kept_unless_overwritten(scratch_sweep, capsys):
    _, out, _ = scratch_sweep
    with open(os.path.join(out, "search.json")) as f:
        before = f.read()
    with pytest.raises(SystemExit) as exit_info:
        tune.main([a if a != "scratch" else "keras" for a in SWEEP] + ["--out", out])
    assert exit_info.value.code == 2 and "holds a sweep with another engine" in capsys.readouterr().err
    with open(os.path.join(out, "search.json")) as f:
        assert f.read() == before
