"""python -m keras_ref.tune with real keras-tuner processes: a sweep, a resume, a chief and two workers."""
import contextlib
import csv
import glob
import io
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from keras_ref import INIT_MODES, datasets, tune

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = ["--epochs", "2", "--data", "iris"]


def takes_ctrl_c():
    """In a child before exec: Ctrl-C as in a terminal's foreground, even where pytest itself
    runs with it ignored (a shell's background job), which the child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(args, env=None, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "keras_ref.tune", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=takes_ctrl_c,
                            **kwargs)


def trials(out):
    """{trial_id: trial.json} of a sweep folder."""
    found = {}
    for path in glob.glob(os.path.join(out, tune.PROJECT, "trial_*", "trial.json")):
        try:
            with open(path) as f:
                t = json.load(f)
        except ValueError:  # being written by a running sweep: read it next time
            continue
        found[t["trial_id"]] = t
    return found


def curves(out):
    found = {}
    for path in glob.glob(os.path.join(out, "curves", "trial_*.json")):
        with open(path) as f:
            found[os.path.basename(path)[6:-5]] = json.load(f)["executions"]
    return found


def assert_every_init_mode_once(out):
    done = [t for t in trials(out).values() if t["status"] == "COMPLETED"]
    assert sorted(t["hyperparameters"]["values"]["init_mode"] for t in done) == sorted(INIT_MODES)
    assert all(len(executions) == 1 for executions in curves(out).values()) and len(curves(out)) == 8


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep") / "out")
    return tune.main(QUICK + ["--out", out]), out


def test_a_grid_sweep_tries_every_init_mode_once_and_writes_its_results(sweep, capsys):
    code, out = sweep
    assert code == 0
    assert_every_init_mode_once(out)
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == list(range(1, 9))
    losses = [float(r["best_val_loss"]) for r in rows]
    assert losses == sorted(losses) and {r["init_mode"] for r in rows} == set(INIT_MODES)
    with open(os.path.join(out, "results.json")) as f:
        report = json.load(f)
    assert report["sweep"]["space"]["init_mode"] == list(INIT_MODES) and len(report["trials"]) == 8
    assert report["device"] == "/device:CPU:0" and report["versions"]["keras"] and report["versions"]["tensorflow"]
    assert all(len(t["val_loss_curves"][0]) == 2 for t in report["trials"])
    with open(os.path.join(out, "val_loss.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not os.path.exists(os.path.join(out, "tensorboard"))  # TensorBoard's logs only when asked


def test_running_it_again_keeps_every_finished_trial(sweep):
    code, out = sweep
    before = {k: (t["score"], t["status"]) for k, t in trials(out).items()}
    assert tune.main(QUICK + ["--out", out]) == 0
    assert {k: (t["score"], t["status"]) for k, t in trials(out).items()} == before
    assert_every_init_mode_once(out)


def test_one_execution_per_trial_gives_no_spread_and_says_it_cannot_tell_the_trials_apart(sweep, capsys):
    _, out = sweep
    assert tune.main(QUICK + ["--out", out]) == 0  # resumes with nothing left to run: the table again
    printed = capsys.readouterr().out
    assert "1 execution(s) per trial" in printed and "cannot tell the trials apart" in printed
    with open(os.path.join(out, "results.json")) as f:
        report = json.load(f)
    assert report["statistics"]["comparable"] is False and report["statistics"]["best_trial"] == report["trials"][0]["trial_id"]
    for t in report["trials"]:
        assert t["statistics"]["best_val_loss"]["std"] is None and t["statistics"]["best_val_loss"]["ci95"] is None
        assert t["statistics"]["p_holm"] is None and t["statistics"]["group"] in ("best", "-")
    rows = table_rows(printed)
    assert len(rows) == 8 and all(r[c] == "-" for r in rows for c in ("sd", "95% CI", "p (Holm)"))


REPEATED = ["--epochs", "2", "--data", "iris", "--init-modes", "he_normal,zero", "--executions-per-trial", "2",
            "--tensorboard"]
#: results.csv's columns before executions were recorded one by one: kept as they were.
RESULTS_CSV = ["rank", "trial_id", "status", "init_mode", "activation", "hidden_units", "learning_rate", "batch_size",
               "best_val_loss", "val_accuracy", "best_epoch", "epochs", "executions", "seconds"]


def table_rows(printed):
    """The ranked table's rows as {column: cell}: cells are two or more spaces apart."""
    lines = printed.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("rank  trial"))
    header = re.split(r"\s{2,}", lines[start])
    rows = []
    for line in lines[start + 2:]:
        cells = re.split(r"\s{2,}", line)
        if len(cells) != len(header):
            break
        rows.append(dict(zip(header, cells)))  # a repeated column name (sd, 95% CI) keeps the last: accuracy's
    return rows


def run_printed(args):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = tune.main(args)
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def repeated_sweep(tmp_path_factory):
    """Two init modes, two executions each, two epochs: what it printed, and its results.json."""
    out = str(tmp_path_factory.mktemp("repeated") / "out")
    code, printed = run_printed(REPEATED + ["--out", out])
    with open(os.path.join(out, "results.json")) as f:
        return code, out, printed, json.load(f)


def test_every_execution_is_recorded_with_its_own_seed_and_numbers(repeated_sweep):
    code, out, _, report = repeated_sweep
    assert code == 0 and len(report["trials"]) == 2
    for t in report["trials"]:  # --tensorboard: each execution's logs in a folder of its own
        for k in range(2):
            assert glob.glob(os.path.join(out, "tensorboard", t["trial_id"], f"execution{k}", "**",
                                          "events.out.tfevents.*"), recursive=True)
    recorded = curves(out)
    for t in report["trials"]:
        executions = t["execution_results"]
        assert [e["execution"] for e in executions] == [0, 1] and [e["seed"] for e in executions] == [0, 1]
        for e, logs in zip(executions, recorded[t["trial_id"]]):
            assert e["val_loss"] == logs["val_loss"] and len(e["val_loss"]) == 2
            assert e["best_val_loss"] == min(logs["val_loss"]) and e["final_val_accuracy"] == logs["val_accuracy"][-1]
        # keras-tuner's score of the trial is the mean of the executions' best val_loss
        assert t["best_val_loss"] == pytest.approx(np.mean([e["best_val_loss"] for e in executions]), rel=1e-6)
    seeds_differ = [e["val_loss"] for t in report["trials"] if t["hyperparameters"]["init_mode"] == "he_normal"
                    for e in t["execution_results"]]
    assert seeds_differ[0] != seeds_differ[1]  # two initial draws, not one run twice
    with open(os.path.join(out, "results_executions.csv")) as f:
        rows = list(csv.DictReader(f))
    expected = [(t["trial_id"], e["execution"], e["best_val_loss"], e["final_val_accuracy"])
                for t in report["trials"] for e in t["execution_results"]]
    assert [(r["trial_id"], int(r["execution"]), float(r["best_val_loss"]), float(r["final_val_accuracy"]))
            for r in rows] == expected


def test_results_csv_and_json_keep_their_earlier_columns_and_keys(repeated_sweep):
    _, out, _, report = repeated_sweep
    with open(os.path.join(out, "results.csv")) as f:
        assert next(csv.reader(f)) == RESULTS_CSV
    earlier = {"trial_id", "status", "hyperparameters", "best_val_loss", "val_accuracy", "best_epoch", "epochs",
               "executions", "seconds", "tuner_ids", "val_loss_curves"}
    assert all(earlier <= set(t) and t["executions"] == 2 and len(t["val_loss_curves"]) == 2 for t in report["trials"])
    assert {"command", "sweep", "device", "versions", "trials"} <= set(report)


def test_each_trial_has_its_mean_spread_and_interval_over_executions(repeated_sweep):
    _, _, _, report = repeated_sweep
    for t in report["trials"]:
        for key, name in [("best_val_loss", "best_val_loss"), ("final_val_accuracy", "final_val_accuracy")]:
            values = [e[name] for e in t["execution_results"]]
            s = t["statistics"][key]
            std = math.sqrt((values[0] - values[1]) ** 2 / 2)  # two values: s = |a - b| / √2
            half = math.tan(math.pi * 0.475) * std / math.sqrt(2)  # t(0.975, 1) = tan(0.475 π)
            assert s["n"] == 2 and s["mean"] == pytest.approx((values[0] + values[1]) / 2)
            assert s["std"] == pytest.approx(std, abs=1e-12)
            assert s["ci95"] == pytest.approx([s["mean"] - half, s["mean"] + half], abs=1e-12)


def test_the_ranking_is_grouped_against_the_best_trial(repeated_sweep):
    _, _, printed, report = repeated_sweep
    best, other = report["trials"]
    assert report["statistics"]["best_trial"] == best["trial_id"] and report["statistics"]["comparable"]
    assert best["statistics"]["group"] == "best" and best["statistics"]["p"] is None
    from scipy.stats import ttest_ind
    p = ttest_ind([e["best_val_loss"] for e in other["execution_results"]],
                  [e["best_val_loss"] for e in best["execution_results"]], equal_var=False).pvalue
    assert other["statistics"]["p"] == pytest.approx(p) and other["statistics"]["p_holm"] == pytest.approx(p)  # m = 1
    assert other["statistics"]["group"] == ("worse" if p < 0.05 else "tied with best")
    table = table_rows(printed)
    assert [(r["trial"], r["group"]) for r in table] == [(t["trial_id"], t["statistics"]["group"]) for t in (best, other)]
    assert table[1]["p (Holm)"] == f"{p:.3f}"
    assert f"against trial {best['trial_id']}, Holm over every pair of trials, alpha 0.05" in printed


def test_a_resumed_sweep_keeps_its_finished_trials_executions(repeated_sweep):
    _, out, _, report = repeated_sweep
    code, printed = run_printed(REPEATED + ["--out", out])
    with open(os.path.join(out, "results.json")) as f:
        again = json.load(f)
    assert code == 0 and "Running Trial" not in printed  # nothing run again
    assert [t["execution_results"] for t in again["trials"]] == [t["execution_results"] for t in report["trials"]]
    assert [t["statistics"] for t in again["trials"]] == [t["statistics"] for t in report["trials"]]


def test_an_execution_is_read_from_its_per_epoch_logs():
    # a file the recorder wrote before executions were numbered: no "execution", no "seed"
    logs = {"seconds": 1.5, "tuner_id": "tuner0", "val_loss": [0.5, 0.4, 0.45], "val_accuracy": [0.7, 0.8, 0.75]}
    assert tune.execution_result(3, logs) == {
        "execution": 3, "seed": None, "tuner_id": "tuner0", "best_val_loss": 0.4, "best_epoch": 2,
        "final_val_accuracy": 0.75, "epochs": 3, "seconds": 1.5, "val_loss": [0.5, 0.4, 0.45]}
    diverged = tune.execution_result(0, {"seconds": 1.0, "val_loss": [0.5, float("nan")]})
    assert diverged["best_val_loss"] is None and diverged["best_epoch"] is None and diverged["final_val_accuracy"] is None


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path):
    out = str(tmp_path / "out")
    first = run_cli(QUICK + ["--out", out])
    deadline = time.time() + 120
    while time.time() < deadline and sum(t["status"] == "COMPLETED" for t in trials(out).values()) < 3:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = {k: t["score"] for k, t in trials(out).items() if t["status"] == "COMPLETED"}
    assert 3 <= len(finished) < 8
    second = run_cli(QUICK + ["--out", out, "--jobs", "2"])  # resumed with another --jobs: the same sweep
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output[-2000:]
    assert "Reloading" in output
    assert_every_init_mode_once(out)  # nothing lost, nothing run twice
    assert {k: trials(out)[k]["score"] for k in finished} == finished


_BUSY = []


def busy_port() -> int:
    """A port something listens on for the whole test session."""
    if not _BUSY:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        _BUSY.append(s)
    return _BUSY[0].getsockname()[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_chief_and_two_workers_share_one_sweep(tmp_path):
    out = str(tmp_path / "out")
    env = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    chief = run_cli(QUICK + ["--out", out], env={**env, "KERASTUNER_TUNER_ID": "chief"})
    workers = [run_cli(QUICK + ["--out", out], env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"}) for i in range(2)]
    try:
        outputs = [p.communicate(timeout=300)[0] for p in workers + [chief]]
    except subprocess.TimeoutExpired:  # leave no process behind, and show what each said
        for p in workers + [chief]:
            p.kill()
        outputs = [p.communicate()[0] for p in workers + [chief]]
        raise AssertionError("a sweep process hung:\n" + "\n".join(o[-1500:] for o in outputs))
    assert [p.returncode for p in workers + [chief]] == [0, 0, 0], "\n".join(o[-1500:] for o in outputs)
    assert_every_init_mode_once(out)
    ran = {e["tuner_id"] for executions in curves(out).values() for e in executions}
    assert ran <= {"tuner0", "tuner1"} and ran  # trials ran on the workers, not the chief
    assert "8/8 trials completed" in outputs[-1]  # the chief reports the whole sweep
    assert os.path.exists(os.path.join(out, "results.csv"))


def test_another_search_space_is_refused_and_the_sweep_kept(sweep, capsys):
    _, out = sweep
    before = open(os.path.join(out, "results.csv")).read()
    with pytest.raises(SystemExit) as exit_info:
        tune.main(["--epochs", "3", "--data", "iris", "--out", out])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a sweep with another epochs" in err and "--overwrite" in err
    assert open(os.path.join(out, "results.csv")).read() == before


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


@pytest.mark.parametrize("make_args,message", [
    (lambda d: ["--init-modes", "xavier"], "unknown init mode 'xavier'"),
    (lambda d: ["--oracle", "genetic"], "invalid choice: 'genetic'"),
    (lambda d: ["--data", "mnist"], "unknown data set 'mnist'"),
    (lambda d: ["--data", write_csv(d / "a.csv", [["x", "y"], [1, 0], [2, 1]]), "--target", "label"],
     "has no column 'label'; its columns: x, y"),
    (lambda d: ["--data", write_csv(d / "b.csv", [["x", "y"], ["one", 0], [2, 1]]), "--target", "y"],
     "feature 'x' is not numeric: 'one'"),
    (lambda d: ["--data", write_csv(d / "c.csv", [["x", "y"]] + [[i, "a"] for i in range(10)]), "--target", "y"],
     "single class"),
    (lambda d: ["--data", write_csv(d / "e.csv", [["x", "y"], [1, 0]]), ], "name its class column with --target"),
    (lambda d: ["--out", write_csv(d / "f.txt", [["not a folder"]])], "is a file, not a folder"),
    (lambda d: ["--out", "/proc/sweep"], "cannot be written"),
    (lambda d: ["--batch-sizes", "4096"], "larger than the 120 training examples"),
    (lambda d: ["--learning-rates", "-1"], "learning rate '-1' must be a finite number > 0"),
    (lambda d: ["--learning-rates", "inf"], "learning rate 'inf' must be a finite number > 0"),
    (lambda d: ["--seed", "-1"], "'-1' must be >= 0"),
    (lambda d: ["--oracle", "hyperband"], "hyperband needs --epochs of at least 3"),
    (lambda d: ["--jobs", "0"], "'0' must be >= 1"),
    (lambda d: ["--jobs", "9"], "--jobs 9 is more than the sweep's 8 trials"),
    (lambda d: ["--jobs", "3", "--oracle", "random", "--max-trials", "2"], "--jobs 3 is more than the sweep's 2 trials"),
    (lambda d: ["--jobs", "2", "--port", str(busy_port())], "cannot be used"),
    (lambda d: ["--jobs", "2", "--port", "70000"], "--port 70000 is not a TCP port"),
    (lambda d: ["--engine", "torch"], "argument --engine: invalid choice: 'torch' (choose from 'keras')"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make_args, message):
    args = ["--epochs", "1", "--data", "iris", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        tune.main(args + make_args(tmp_path))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and message in err, err


def test_half_a_distributed_setup_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(SystemExit) as exit_info:
        tune.main(["--epochs", "1", "--data", "iris", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_PORT not set" in err


def test_a_corrupt_sweep_record_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "search.json").write_text("{not json")
    with pytest.raises(SystemExit) as exit_info:
        tune.main(["--epochs", "1", "--data", "iris", "--out", str(out)])
    assert exit_info.value.code == 2 and "cannot be read as a sweep record" in capsys.readouterr().err
    assert (out / "search.json").read_text() == "{not json"


HYPERBAND = ["--oracle", "hyperband", "--epochs", "3", "--data", "iris", "--init-modes", "he_normal,zero,glorot_uniform"]


@pytest.fixture(scope="module")
def hyperband_sweep(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("hyperband") / "out")
    return tune.main(HYPERBAND + ["--out", out]), out


def test_hyperband_runs_its_brackets(hyperband_sweep):
    code, out = hyperband_sweep
    assert code == 0
    found = list(trials(out).values())
    budgets = {t["hyperparameters"]["values"].get("tuner/epochs") for t in found}
    assert len(found) > 3 and {1, 3} <= budgets  # short trials first, then survivors for longer
    with open(os.path.join(out, "results.json")) as f:
        for t in json.load(f)["trials"]:
            hp = t["hyperparameters"]
            assert all(len(c) == hp["tuner/epochs"] - hp["tuner/initial_epoch"] for c in t["val_loss_curves"])


def reopened_hyperband(out):
    """The sweep's tuner, reloaded from ``out`` as the command makes it, and the sweep's data."""
    from keras_ref import sweep as keras_side
    args = tune.build_parser().parse_args(HYPERBAND + ["--out", out])
    data = datasets.load(args.data, seed=args.seed)
    space = {"init_mode": list(args.init_modes), "activation": list(args.activations),
             "hidden_units": list(args.hidden_units), "learning_rate": list(args.learning_rates),
             "batch_size": list(args.batch_sizes)}
    return keras_side.make_tuner(args.oracle, keras_side.SweepHyperModel(data, space, args.seed), out, args), data


def saved_optimizer_state(path):
    """The optimizer variables in a Keras 3 ``.weights.h5`` checkpoint, in the optimizer's own order."""
    import h5py
    with h5py.File(path, "r") as f:
        saved = f["optimizer"]["vars"]
        return [np.array(saved[str(i)]) for i in range(len(saved))]


def optimizer_state_differences(model, path) -> list[str]:
    """The optimizer variables of ``model`` that differ from those saved at ``path``."""
    saved = saved_optimizer_state(path)
    differ = [] if len(saved) == len(model.optimizer.variables) else [
        f"{len(model.optimizer.variables)} variables vs {len(saved)} saved"]
    return differ + [v.path for v, s in zip(model.optimizer.variables, saved) if not np.array_equal(v.numpy(), s)]


def continued_trials(tuner):
    found = [t for t in tuner.oracle.trials.values() if "tuner/trial_id" in t.hyperparameters.values]
    assert found  # the brackets continue at least one trial, or these tests would prove nothing
    return found


def test_a_continued_hyperband_trial_starts_with_its_parents_adam_state(hyperband_sweep):
    _, out = hyperband_sweep
    tuner, _ = reopened_hyperband(out)
    for trial in continued_trials(tuner):
        parent = tuner._get_checkpoint_fname(trial.hyperparameters.values["tuner/trial_id"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = tuner._try_build(trial.hyperparameters)  # as Hyperband builds it before fit
        assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
        saved = saved_optimizer_state(parent)
        assert saved[0] > 0 and any(np.any(m != 0) for m in saved[2:])  # the parent took steps: m and v not zero
        assert optimizer_state_differences(model, parent) == []  # iterations, learning rate, m and v


def test_a_continued_hyperband_trial_counts_its_steps_on_from_its_parents(hyperband_sweep):
    # What the sweep itself wrote: each checkpoint is saved at its trial's best epoch, so a continued
    # trial's Adam step count is its parent's plus its own best epoch's steps (without its parent's,
    # had the state been dropped).
    _, out = hyperband_sweep
    tuner, data = reopened_hyperband(out)
    steps_per_epoch = -(-len(data.X_train) // 64)  # 64: the command's default batch size
    with open(os.path.join(out, "results.json")) as f:
        best_epoch = {t["trial_id"]: t["best_epoch"] for t in json.load(f)["trials"]}
    for trial in continued_trials(tuner):
        parent_steps = saved_optimizer_state(tuner._get_checkpoint_fname(trial.hyperparameters.values["tuner/trial_id"]))[0]
        own_steps = saved_optimizer_state(tuner._get_checkpoint_fname(trial.trial_id))[0]
        assert parent_steps > 0 and own_steps == parent_steps + best_epoch[trial.trial_id] * steps_per_epoch


def test_negative_control_keras_drops_a_hyperband_parents_adam_state_into_an_unbuilt_optimizer(hyperband_sweep):
    # keras-tuner's Hyperband loads the parent's checkpoint into the model as the hypermodel returns it;
    # compiled with a fresh Adam, Keras 3 keeps the weights and skips the optimizer with a warning.
    import keras
    from keras_ref.models import compile_model
    _, out = hyperband_sweep
    tuner, data = reopened_hyperband(out)
    trial = continued_trials(tuner)[0]
    parent = tuner._get_checkpoint_fname(trial.hyperparameters.values["tuner/trial_id"])
    model = tuner.hypermodel.build(trial.hyperparameters)
    compile_model(model, data.loss, "float32", optimizer=keras.optimizers.Adam(float(model.optimizer.learning_rate)))
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        model.load_weights(parent)
    assert int(model.optimizer.iterations) == 0
    assert optimizer_state_differences(model, parent)[:2] == ["2 variables vs 10 saved", model.optimizer.iterations.path]


def test_a_csv_table_sweeps(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    label = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    path = write_csv(tmp_path / "t.csv", [["a", "b", "c", "label"]] + [[*x, l] for x, l in zip(X, label)])
    out = str(tmp_path / "out")
    assert tune.main(["--data", path, "--target", "label", "--epochs", "2", "--init-modes", "he_normal,zero",
                      "--out", out]) == 0
    assert sorted(t["hyperparameters"]["values"]["init_mode"] for t in trials(out).values()) == ["he_normal", "zero"]
    # the same file under another name is the same sweep: it resumes (and has nothing left to do)
    monkeypatch.chdir(tmp_path)
    assert tune.main(["--data", "t.csv", "--target", "label", "--epochs", "2", "--init-modes", "he_normal,zero",
                      "--out", out]) == 0


def alive(pids) -> list[int]:
    """Those of ``pids`` still running (a zombie awaiting its parent counts as gone)."""
    running = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] != "Z":
                    running.append(pid)
        except FileNotFoundError:
            pass
    return running


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().split(")")[-1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def until(condition, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


JOBS = QUICK + ["--epochs", "4", "--executions-per-trial", "2"]


def test_jobs_2_stops_every_worker_when_killed_and_a_rerun_finishes_each_trial_once(tmp_path):
    """--jobs 2 runs the chief, which trains as one job, and one worker process.  Interrupted
    (Ctrl-C in a terminal, which signals every process of the command: the worker ignores it,
    the chief stops it) and then killed (SIGKILL of the chief: the worker's PR_SET_PDEATHSIG),
    no worker outlives it; the same command then finishes the sweep, every trial and every
    execution exactly once, trained by both."""
    out = str(tmp_path / "out")
    for how, trials_before in (("SIGINT", 1), ("SIGKILL", 3)):
        run = run_cli(JOBS + ["--out", out, "--jobs", "2"], start_new_session=True)
        try:
            until(lambda: len(children(run.pid)) == 1, 60, "the worker")
            workers = children(run.pid)
            until(lambda: sum(t["status"] == "COMPLETED" for t in trials(out).values()) >= trials_before, 120,
                  f"{trials_before} trials")
            if how == "SIGINT":  # to the process group, as a terminal's Ctrl-C
                os.killpg(run.pid, signal.SIGINT)
            else:
                run.send_signal(signal.SIGKILL)
            run.wait(timeout=30)
            until(lambda: not alive(workers), 30, f"the workers to stop after {how}")
        finally:
            run.kill()
            output = run.communicate()[0]
        assert run.returncode != 0, f"{how}: " + output[-2000:]
        assert {t["status"] for t in trials(out).values()} <= {"COMPLETED", "RUNNING"}  # none failed for good
        if how == "SIGINT":
            assert "every worker stopped. Run the same command again to resume." in output, output[-2000:]
    # a worker that dies stops the sweep: the chief says which, exits 1, and waits for nothing
    run = run_cli(JOBS + ["--out", out, "--jobs", "2"])
    try:
        until(lambda: len(children(run.pid)) == 1, 60, "the worker")
        worker = children(run.pid)[0]
        until(lambda: any(e["tuner_id"] == "tuner0" for ex in curves(out).values() for e in ex), 120,
              "the worker's first execution")
        os.kill(worker, signal.SIGKILL)
        output = run.communicate(timeout=120)[0]
    finally:
        run.kill()
    assert run.returncode == 1 and "worker tuner0 exited with code -9; every worker stopped" in output, output[-2000:]
    assert sum(t["status"] == "COMPLETED" for t in trials(out).values()) < 8
    last = run_cli(JOBS + ["--out", out, "--jobs", "2"])
    output, _ = last.communicate(timeout=300)
    assert last.returncode == 0, output[-3000:] + "".join(
        f"\ntrial {i} {t['status']}: {t.get('message')}" for i, t in trials(out).items() if t["status"] != "COMPLETED")
    done = [t for t in trials(out).values() if t["status"] == "COMPLETED"]
    assert sorted(t["hyperparameters"]["values"]["init_mode"] for t in done) == sorted(INIT_MODES)
    for executions in curves(out).values():  # each execution recorded once: none ran twice
        assert [e["execution"] for e in executions] == [0, 1]
    ran = {e["tuner_id"] for executions in curves(out).values() for e in executions}
    assert ran == {"tuner0", "tuner1"}
    with open(os.path.join(out, tune.PROJECT, "oracle.json")) as f:
        assert json.load(f)["ongoing_trials"] == {}  # a rerun finds nothing to retry
    again = run_cli(JOBS + ["--out", out])  # finished, and resumed with one job: nothing runs
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0 and "Running Trial" not in output, output[-2000:]


def test_a_retried_trial_keeps_the_executions_it_finished(tmp_path):
    """Killed inside a trial of three executions, after its first: the rerun runs only the other two."""
    out = str(tmp_path / "out")
    args = QUICK + ["--epochs", "6", "--executions-per-trial", "3", "--init-modes", "he_normal,zero", "--out", out]
    first = run_cli(args)
    try:
        until(lambda: any(len(e) == 1 for e in curves(out).values()), 120, "a trial's first execution")
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.communicate()
    partial = {k: e for k, e in curves(out).items() if len(e) < 3}
    assert partial, "the kill came after the trial finished: nothing to resume"
    trial_id, before = next(iter(partial.items()))
    second = run_cli(args)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output[-2000:]
    after = curves(out)[trial_id]
    assert [e["execution"] for e in after] == [0, 1, 2]
    assert after[:len(before)] == before  # the finished executions kept, not run again
    with open(os.path.join(out, "results.json")) as f:
        row = next(t for t in json.load(f)["trials"] if t["trial_id"] == trial_id)
    assert row["execution_results"][0]["best_val_loss"] == min(before[0]["val_loss"])


def test_a_worker_with_nothing_to_do_is_stopped_not_waited_for():
    """Once the chief has no trial to give, a worker without one of its own (stuck at its start,
    say) is stopped after the grace period; a worker that fails is reported."""
    from keras_ref.jobs import WorkerFailed, Workers
    stuck = Workers([sys.executable, "-c", "import time; time.sleep(60)"], 1, free_port())
    with stuck:
        started = time.monotonic()
        stuck.wait(lambda tuner_id: False, grace=0.5)
        assert stuck.finished() and stuck.idle_stopped == {0} and time.monotonic() - started < 30
    failing = Workers([sys.executable, "-c", "raise SystemExit(3)"], 1, free_port())
    with failing, pytest.raises(WorkerFailed, match="worker tuner0 exited with code 3"):
        failing.wait(lambda tuner_id: True)
    assert "KERASTUNER_TUNER_ID" not in os.environ  # the chief's variables go with the block


def test_a_resumed_execution_tells_the_checkpoint_its_best(tmp_path):
    """keras-tuner's best-epoch checkpoint is made afresh for a retried trial: an execution read
    back from before the kill must still count, or a worse one would overwrite its checkpoint."""
    import keras_tuner
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch
    from keras_ref import sweep
    hypermodel = sweep.SweepHyperModel(datasets.load("iris", seed=0), {
        "init_mode": ["zero"], "activation": ["relu"], "hidden_units": [4], "learning_rate": [0.001],
        "batch_size": [64]}, seed=0)
    hypermodel.finished = [{"execution": 0, "val_loss": [0.9, 0.4, float("nan")], "loss": [1.0, 0.5, 0.4]}]
    hypermodel.executions = 1
    checkpoint = SaveBestEpoch(keras_tuner.Objective("val_loss", "min"), str(tmp_path / "checkpoint.weights.h5"))
    history = hypermodel.fit(None, None, callbacks=[checkpoint])
    assert history.history["val_loss"][:2] == [0.9, 0.4] and checkpoint.best_value == 0.4


def test_executions_recorded_with_other_values_are_never_reused(tmp_path):
    """A curves file whose executions ran other values (another sweep's, under the same trial id)
    is started afresh, not handed to keras-tuner as this trial's results."""
    out = tmp_path / "out"
    (out / "curves").mkdir(parents=True)
    stale = {"executions": [{"execution": 0, "seed": 0, "seconds": 1.0, "tuner_id": "local",
                             "values": {"init_mode": "he_normal"}, "val_loss": [0.123], "loss": [0.2]}]}
    (out / "curves" / "trial_0000.json").write_text(json.dumps(stale))  # the first trial's id
    assert tune.main(["--epochs", "2", "--data", "iris", "--init-modes", "zero,he_normal", "--out", str(out)]) == 0
    executions = curves(str(out))["0000"]
    assert len(executions) == 1 and executions[0]["values"] == {"init_mode": "zero"}
    assert min(executions[0]["val_loss"]) != 0.123


def test_a_stop_that_comes_out_of_a_trial_as_another_error_leaves_the_trial_to_be_retried(tmp_path, capsys):
    """A Ctrl-C that reaches the sweep inside TensorFlow (or inside a gRPC call to the oracle)
    can come out as another error.  keras-tuner records a trial that raised as failed, for
    good, and no rerun would train it (seen in CI: a --jobs 2 sweep, interrupted and rerun,
    ended with a trial FAILED with no execution).  It stays running, and the rerun trains it."""
    class StoppedInside(tune.KerasEngine):
        """Keras, stopped in its first execution."""
        def fit(self, *args, **kwargs):
            try:
                signal.raise_signal(signal.SIGINT)  # the sweep's own handler runs
            except KeyboardInterrupt:
                raise RuntimeError("the Ctrl-C came out of TensorFlow as this") from None

    out = str(tmp_path / "out")
    argv = ["--epochs", "2", "--data", "iris", "--init-modes", "zero,he_normal", "--out", out]
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, if pytest ignores it
    try:
        assert tune.main(argv, engines={"keras": StoppedInside}) == 130
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the sweep's handler goes with it
    finally:
        signal.signal(signal.SIGINT, handler)
    assert "interrupted. Run the same command again to resume." in capsys.readouterr().err
    assert {t["status"] for t in trials(out).values()} == {"RUNNING"}
    assert tune.main(argv) == 0
    assert sorted((t["hyperparameters"]["values"]["init_mode"], t["status"]) for t in trials(out).values()) == [
        ("he_normal", "COMPLETED"), ("zero", "COMPLETED")]


DIES_WHILE_SAVING = """
import builtins, json, os, signal, sys
path, how = sys.argv[1], sys.argv[2]
if how == "keras_tuner":
    from keras_ref import sweep
    save = sweep.tuner_utils.save_json
else:  # in place: the file opened, so emptied, then written
    def save(path, obj):
        with open(path, "w") as f:
            f.write(json.dumps(obj))
save(path, {"n": 0})


class Dying:  # a file that is killed, SIGKILL, half-way through its write
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def write(self, text):
        self.f.write(text[:len(text) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)


real_open = builtins.open
builtins.open = lambda *args, **kwargs: Dying(real_open(*args, **kwargs))
save(path, {"n": 1})
"""


@pytest.mark.parametrize("how", ["keras_tuner", "in place"])
def test_a_sweep_killed_while_keras_tuner_saves_leaves_the_file_as_it_was(tmp_path, how):
    """keras-tuner 1.4 writes trial.json and oracle.json in place: a chief killed meanwhile left
    an empty trial.json, and every rerun then failed to reload the sweep (seen in CI).  Its saves
    now write another file and rename it.  A process killed half-way through a save must leave
    the file as it was.  Negative control: written in place, the file is left cut."""
    path = tmp_path / "trial.json"
    saver = subprocess.run([sys.executable, "-c", DIES_WHILE_SAVING, str(path), how], cwd=ROOT)
    assert saver.returncode == -signal.SIGKILL
    try:
        kept = json.loads(path.read_text())
    except ValueError:
        kept = None
    assert kept == ({"n": 0} if how == "keras_tuner" else None)


def test_the_checkpoint_holds_the_best_epochs_weights_and_adam_state_written_once(tmp_path):
    """keras-tuner's best-epoch checkpoint is written when an execution ends, not at every better
    epoch, and holds what keras-tuner's own would: the weights and Adam's variables of the best
    epoch, not of the last.  The model keeps its last values."""
    import keras_tuner
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch
    from keras_ref import sweep
    hypermodel = sweep.SweepHyperModel(datasets.load("iris", seed=0), {
        "init_mode": ["glorot_uniform"], "activation": ["relu"], "hidden_units": [4], "learning_rate": [0.001],
        "batch_size": [64]}, seed=0)
    model = hypermodel.model({
        "init_mode": "glorot_uniform", "activation": "relu", "hidden_units": 4, "learning_rate": 0.001,
        "batch_size": 64}, seed=0)
    variables = sweep._saved_variables(model)
    path = tmp_path / "checkpoint.weights.h5"
    checkpoint = SaveBestEpoch(keras_tuner.Objective("val_loss", "min"), str(path))
    checkpoint.set_model(model)

    def set_all(value):
        for v in variables:
            v.assign(np.full(v.shape, value, dtype=v.dtype))

    set_all(1.0)
    checkpoint.on_epoch_end(0, {"val_loss": 0.5})  # the best epoch
    set_all(2.0)
    checkpoint.on_epoch_end(1, {"val_loss": 0.7})  # worse
    assert not path.exists()  # nothing written during the execution
    checkpoint.on_train_end()
    assert all(np.all(v.numpy() == 2.0) for v in variables)  # the model as the execution left it
    set_all(3.0)
    model.load_weights(str(path))
    assert all(np.all(v.numpy() == 1.0) for v in variables)  # weights and Adam's variables of epoch 0
    assert any(v is model.optimizer.iterations for v in variables) and len(variables) > len(model.weights)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.weights.h5"]
    checkpoint.on_epoch_end(2, {"val_loss": 0.6})  # a later execution, no better than the trial's best
    checkpoint.on_train_end()
    set_all(3.0)
    model.load_weights(str(path))
    assert all(np.all(v.numpy() == 1.0) for v in variables)


def test_the_keras_engine_trains_exactly_as_a_plain_fit():
    """The Keras engine passes steps_per_epoch so that Keras keeps the data iterator it makes at
    each epoch's end instead of making another: the same batches, so the same history and
    weights, bit for bit, as ``model.fit`` without it.  Control: the same model fitted on the
    same data in another order (unshuffled) ends elsewhere."""
    from keras_ref import sweep
    data = datasets.load("iris", seed=0)
    space = {"init_mode": ["glorot_uniform"], "activation": ["relu"], "hidden_units": [4],
             "learning_rate": [0.01], "batch_size": [32]}
    values = {k: v[0] for k, v in space.items()}
    hypermodel = sweep.SweepHyperModel(data, space, seed=0)
    fit = dict(epochs=3, validation_data=(data.X_val.astype("float32"), data.y_val.astype("float32")), verbose=0)
    x, y = data.X_train.astype("float32"), data.y_train.astype("float32")
    assert len(x) % 32  # a last batch cut short is kept
    runs = []
    for engine, shuffle in ((True, True), (False, True), (False, False)):
        model = hypermodel.model(values, 0)
        history = (tune.KerasEngine().fit(hypermodel, None, model, x, y, batch_size=32, seed=0, **fit) if engine
                   else model.fit(x, y, batch_size=32, shuffle=shuffle, **fit))
        runs.append((history.history, model.get_weights()))
    same = lambda a, b: a[0] == b[0] and all(np.array_equal(p, q) for p, q in zip(a[1], b[1]))
    assert same(runs[0], runs[1]) and not same(runs[0], runs[2])


def test_a_model_built_for_its_weights_only_has_the_compiled_ones_draws():
    """The scratch engine takes keras-tuner's model for its initial weights only, so it is not
    compiled; its weights must still be the very draws of the compiled model that the Keras
    engine fits (control: the next execution's seed draws others)."""
    from keras_ref import sweep
    space = {"init_mode": ["he_normal"], "activation": ["tanh"], "hidden_units": [5], "learning_rate": [0.01],
             "batch_size": [16]}
    hypermodel = sweep.SweepHyperModel(datasets.load("wine", seed=0), space, seed=0)
    values = {k: v[0] for k, v in space.items()}
    bare, compiled, other = (hypermodel.model(values, 3, compiled=False), hypermodel.model(values, 3),
                             hypermodel.model(values, 4, compiled=False))
    assert getattr(bare, "optimizer", None) is None and compiled.optimizer is not None
    assert all(np.array_equal(a, b) for a, b in zip(bare.get_weights(), compiled.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(bare.get_weights(), other.get_weights()))


def test_the_curve_recorder_records_an_execution_after_the_checkpoint_is_written():
    """A rerun reuses every execution the curve recorder has recorded, and never writes its
    checkpoint again: keras-tuner's checkpoint (written at the execution's end) must be on
    disk first, so the recorder's on_train_end runs last, whatever order keras-tuner gives."""
    import keras_tuner
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch, TunerCallback
    from keras_ref import sweep

    class Order:
        def fit(self, hypermodel, hp, model, x=None, y=None, *, batch_size, seed, callbacks=(), **kwargs):
            return [type(c).__name__ for c in callbacks]

    space = {"init_mode": ["zero"], "activation": ["relu"], "hidden_units": [4], "learning_rate": [0.001],
             "batch_size": [64]}
    hypermodel = sweep.SweepHyperModel(datasets.load("iris", seed=0), space, seed=0, engine=Order())
    hypermodel.executions = 1
    recorder = sweep.CurveRecorder("unused", "0000", 0)
    checkpoint = SaveBestEpoch(keras_tuner.Objective("val_loss", "min"), "unused.weights.h5")
    given = [recorder, TunerCallback(None, None), checkpoint]  # keras-tuner's order
    assert hypermodel.fit(None, None, callbacks=given) == ["TunerCallback", "SaveBestEpoch", "CurveRecorder"]


def test_a_chief_takes_sigterm_even_when_started_with_ctrl_c_ignored(monkeypatch):
    """stop_on_signals: a process started with SIGINT ignored (a script's background job) keeps
    ignoring Ctrl-C but still takes SIGTERM, so that its workers are stopped; a worker that
    Workers started takes neither, and its chief's SIGTERM ends it at once."""
    from keras_ref import jobs
    monkeypatch.delenv(jobs.STARTED_BY, raising=False)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with jobs.stop_on_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, before[signal.SIGTERM])
        assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        monkeypatch.setenv(jobs.STARTED_BY, "1")
        with jobs.stop_on_signals():
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def test_a_trial_left_running_outside_the_oracles_lists_is_run_again(tmp_path, capsys):
    """keras-tuner writes a new trial's trial.json, then oracle.json listing it as running.  A
    chief killed between the two left a trial that no rerun trained: its values counted as
    tried, and it was on no list to retry.  Made here by hand from a finished sweep; the rerun
    must train it (without the retry it stays running and the command exits 1)."""
    out = tmp_path / "out"
    argv = ["--epochs", "2", "--data", "iris", "--init-modes", "zero,he_normal", "--out", str(out)]
    assert tune.main(argv) == 0
    project = out / tune.PROJECT
    oracle = json.loads((project / "oracle.json").read_text())
    for key in ("start_order", "end_order"):
        oracle[key] = [i for i in oracle[key] if i != "0001"]
    (project / "oracle.json").write_text(json.dumps(oracle))
    stranded = json.loads((project / "trial_0001" / "trial.json").read_text())
    (project / "trial_0001" / "trial.json").write_text(json.dumps({**stranded, "status": "RUNNING", "score": None}))
    (out / "curves" / "trial_0001.json").unlink()
    capsys.readouterr()
    assert tune.main(argv) == 0, capsys.readouterr().out[-2000:]
    assert {i: t["status"] for i, t in trials(str(out)).items()} == {"0000": "COMPLETED", "0001": "COMPLETED"}
    assert len(curves(str(out))["0001"]) == 1
