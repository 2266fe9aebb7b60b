"""python -m keras_ref.tune: sweep the eight init modes (and more) with keras-tuner.

The search space is ``init_mode`` by default, all eight, each tried once by ``GridSearch``.
Hidden activation, batch size, learning rate and hidden units join it when given more than
one value.  Data: a built-in scikit-learn set (breast cancer by default) or a CSV file,
split into training and validation examples and normalised.  Results go to ``--out DIR``:
a ranked table on stdout, ``results.csv`` (a row per trial), ``results_executions.csv`` (a
row per execution), ``results.json``, ``val_loss.png`` (each trial's mean curve with its 95 %
band, and each execution's best validation loss) and TensorBoard logs under ``tensorboard/``.

With ``--executions-per-trial`` 2 or more, each trial's best validation loss and final
validation accuracy get a mean, a standard deviation and a 95 % Student-t interval over its
executions, and each trial is tested against the best one (Welch, Holm-adjusted over every
pair, since the best is chosen by the same data: ``keras_ref.stats``): "tied with best" or "worse".  With one execution there is nothing to
measure the spread with, and the command says that it cannot tell the trials apart.

Run the same command again and an interrupted sweep carries on where it stopped: finished
trials are kept and not run again, the one that was running is retried.  ``--overwrite``
starts afresh.  Several processes can share one sweep through keras-tuner's distributed
mode (see the README).  Exit 0 when every trial completed, 1 when some failed, 2 on bad input.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import json
import math
import os
import shutil
import sys
import time

import numpy as np

from keras_ref import datasets
from keras_ref.cli import Parser, Table, chosen_device, count, list_of, positive_int
from keras_ref.names import HIDDEN_ACTIVATIONS, INIT_MODES

PROG = "keras_ref.tune"
ORACLES = ("grid", "random", "hyperband", "bayesian")
#: The lecture's mini-batch slide.
LECTURE_BATCH_SIZES = (64, 128, 256, 512, 1024)
PROJECT = "sweep"


class KerasEngine:
    """model.fit, shuffled by Keras (the default).

    An engine trains one execution: ``fit(hypermodel, hp, model, x, y, batch_size, seed,
    epochs, validation_data, callbacks, ...)`` gets the model keras-tuner built (its weights
    Keras's draws for this execution's seed) and returns its history.  ``refuse(args)`` says
    why it cannot run a sweep (None when it can), before TensorFlow is imported; ``after(...)``
    runs on the chief once the sweep is done, and returns lines to print, a dict for
    ``results.json`` and whether it passed.  ``trains_the_model`` says whether it fits the model
    it gets (then compiled, with Adam's variables built) or only reads its initial weights.
    Other engines are given to ``main`` (the scratch engine: ``python -m compare.tune``).
    """
    name = "keras"
    trains_the_model = True

    @staticmethod
    def refuse(args) -> str | None:
        return None

    def fit(self, hypermodel, hp, model, x, y, *, batch_size, seed, **kwargs):
        # Keras 3.15's EpochIterator, without steps_per_epoch, makes a new tf.data iterator at the
        # end of each epoch and another at the start of the next: the first is never used, and
        # each costs 7 ms or more (12 % of an execution here).  Given the number of batches, it
        # takes the one it made.  The same batches in the same order: histories and weights are
        # bit for bit those of a plain fit (tests/test_tune.py).
        return model.fit(x, y, batch_size=batch_size, steps_per_epoch=math.ceil(len(x) / batch_size), **kwargs)

    def after(self, sweep, rows: list[dict], args) -> tuple[list[str], dict, bool]:
        return [], {"name": self.name}, True


ENGINES = {"keras": KerasEngine}


def data_identity(args) -> str:
    """A built-in data set's name, or a CSV's real path and the SHA-256 of its bytes."""
    if args.target is None:
        return args.data
    import hashlib
    with open(args.data, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return f"{os.path.realpath(args.data)} sha256:{digest}"


def search_record(args, space: dict) -> dict:
    """What makes a sweep the same sweep: resuming with anything else is refused."""
    record = {"data": data_identity(args), "target": args.target, "oracle": args.oracle, "space": space,
              "epochs": args.epochs, "executions_per_trial": args.executions_per_trial, "seed": args.seed,
              "engine": args.engine}
    if args.oracle in ("random", "bayesian"):
        record["max_trials"] = args.max_trials
    return record


def execution_result(k: int, logs: dict) -> dict:
    """One execution's numbers from its per-epoch logs (``curves/trial_<id>.json``).

    ``best_val_loss`` is its lowest validation loss (keras-tuner scores a trial by the mean of
    these), ``final_val_accuracy`` its validation accuracy at its last epoch; ``None`` where the
    logs lack them or the loss is not finite.  A curve recorded before executions were numbered
    has no ``seed``; its place in the file is its number.
    """
    val_loss, val_acc = logs.get("val_loss", []), logs.get("val_accuracy", [])
    best = int(np.argmin(val_loss)) if val_loss and np.all(np.isfinite(val_loss)) else None
    return {"execution": logs.get("execution", k), "seed": logs.get("seed"), "tuner_id": logs.get("tuner_id", "local"),
            "best_val_loss": None if best is None else val_loss[best], "best_epoch": None if best is None else best + 1,
            "final_val_accuracy": val_acc[-1] if val_acc else None, "epochs": len(val_loss),
            "seconds": logs["seconds"], "val_loss": val_loss}


def collect(out: str, tuner) -> list[dict]:
    """One row per trial the oracle knows, best first, with its recorded curves and executions."""
    rows = []
    for trial in tuner.oracle.trials.values():
        path = os.path.join(out, "curves", f"trial_{trial.trial_id}.json")
        executions = []
        if os.path.exists(path):
            with open(path) as f:
                executions = json.load(f)["executions"]
        val_loss = [e.get("val_loss", []) for e in executions]
        best_epoch = int(np.argmin(np.mean(val_loss, axis=0))) if val_loss and all(val_loss) else None
        val_acc = ([float(np.mean([e["val_accuracy"][best_epoch] for e in executions]))]
                   if best_epoch is not None and all("val_accuracy" in e for e in executions) else [None])
        score = None if trial.score is None or not np.isfinite(trial.score) else float(trial.score)
        rows.append({
            "trial_id": trial.trial_id, "status": trial.status, "hyperparameters": dict(trial.hyperparameters.values),
            "best_val_loss": score,
            "val_accuracy": val_acc[0], "best_epoch": None if best_epoch is None else best_epoch + 1,
            "epochs": max((len(v) for v in val_loss), default=0), "executions": len(executions),
            "seconds": float(sum(e["seconds"] for e in executions)),
            "tuner_ids": sorted({e.get("tuner_id", "local") for e in executions}),
            "val_loss_curves": val_loss,
            "execution_results": [execution_result(k, e) for k, e in enumerate(executions)],
        })
    return sorted(rows, key=lambda r: (r["best_val_loss"] is None, r["best_val_loss"] or 0.0, r["trial_id"]))


TEST = ("Welch's two-sided t-test of each trial's best val_loss per execution against the best trial's, "
        "Holm-adjusted over every pair of trials")


def add_statistics(rows: list[dict]) -> dict:
    """Each row's ``statistics`` (mean, std and 95 % CI over its executions, its test against
    the best trial and its group), and the sweep's: which trial is best, and whether the
    executions could tell the trials apart at all.  Only completed trials are compared."""
    from keras_ref import stats
    per_execution = lambda r, key: [np.nan if e[key] is None else e[key] for e in r["execution_results"]]
    completed = {r["trial_id"]: per_execution(r, "best_val_loss") for r in rows if r["status"] == "COMPLETED"}
    verdict = stats.compare_to_best(completed)
    for r in rows:
        test = verdict["trials"].get(r["trial_id"], {"t": None, "p": None, "p_holm": None, "group": "-"})
        r["statistics"] = {"best_val_loss": stats.summary(per_execution(r, "best_val_loss")),
                           "final_val_accuracy": stats.summary(per_execution(r, "final_val_accuracy")), **test}
    return {"test": TEST, "alpha": verdict["alpha"], "best_trial": verdict["best"],
            "comparable": verdict["comparable"], "note": verdict["note"]}


def verdict_line(rows: list[dict], statistics: dict) -> str:
    """One line under the table: what the test found, or why the sweep cannot tell the trials apart."""
    if not statistics["comparable"]:
        return f"{statistics['note']}; run with --executions-per-trial 2 or more."
    groups = [r["statistics"]["group"] for r in rows]
    return (f"Welch t-test of best val_loss against trial {statistics['best_trial']}, Holm over every pair of "
            f"trials, alpha {statistics['alpha']}: {groups.count('tied with best')} tied with "
            f"best, {groups.count('worse')} worse" + (f", {groups.count('-')} not tested" if "-" in groups else "") + ".")


def describe(hyperparameters: dict, space: dict) -> str:
    """A trial's label: its init mode, then any other searched value."""
    parts = [str(hyperparameters.get("init_mode", space["init_mode"][0]))]
    parts += [f"{k}={v}" for k, v in hyperparameters.items() if k != "init_mode" and not k.startswith("tuner/")]
    return " ".join(parts)


RESULT_FIELDS = ["rank", "trial_id", "status", "init_mode", "activation", "hidden_units", "learning_rate", "batch_size",
                 "best_val_loss", "val_accuracy", "best_epoch", "epochs", "executions", "seconds"]
EXECUTION_FIELDS = ["rank", "trial_id", "status", "init_mode", "activation", "hidden_units", "learning_rate", "batch_size",
                    "execution", "seed", "tuner_id", "best_val_loss", "best_epoch", "final_val_accuracy", "epochs",
                    "seconds"]


def write_results(out: str, rows: list[dict], space: dict, record: dict, device: str, statistics: dict,
                  engine: dict | None = None) -> None:
    """``results.csv`` (a row per trial), ``results_executions.csv`` (a row per execution) and
    ``results.json`` (the trials, each with its executions and statistics, and the sweep's)."""
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_FIELDS)
        writer.writeheader()
        for rank, r in enumerate(rows, start=1):
            hp = {k: r["hyperparameters"].get(k, space[k][0]) for k in space}
            writer.writerow({"rank": rank, **{k: r[k] for k in RESULT_FIELDS if k in r}, **hp})
    with open(os.path.join(out, "results_executions.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=EXECUTION_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for rank, r in enumerate(rows, start=1):
            hp = {k: r["hyperparameters"].get(k, space[k][0]) for k in space}
            for e in r["execution_results"]:
                writer.writerow({"rank": rank, "trial_id": r["trial_id"], "status": r["status"], **hp, **e})
    with open(os.path.join(out, "results.json"), "w") as f:
        from keras_ref.sweep import versions
        json.dump({"command": PROG, "sweep": record, "device": device, "versions": versions(),
                   "statistics": statistics, "engine": engine, "trials": rows}, f, indent=2)
        f.write("\n")


def mean_band(curves: list[list[float]]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The mean curve over executions, and its 95 % CI per epoch (``None`` with one execution)."""
    from keras_ref import stats
    per_epoch = [stats.summary(values) for values in np.asarray(curves, dtype=float).T]
    mean = np.array([np.nan if s["mean"] is None else s["mean"] for s in per_epoch])
    if any(s["ci95"] is None for s in per_epoch):
        return mean, None, None
    return mean, np.array([s["ci95"][0] for s in per_epoch]), np.array([s["ci95"][1] for s in per_epoch])


def plot(out: str, rows: list[dict], space: dict, title: str) -> str:
    """Two panels: each trial's mean validation curve with its 95 % band; each execution's best
    validation loss as a point per trial, ranked, with the mean and its 95 % CI beside them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, (curves, points) = plt.subplots(1, 2, figsize=(14, 5.5), width_ratios=[1.1, 1])
    colours = {r["trial_id"]: f"C{i % 10}" for i, r in enumerate(sorted(rows, key=lambda r: r["trial_id"]))}
    for r in sorted(rows, key=lambda r: r["trial_id"]):
        if r["val_loss_curves"] and all(r["val_loss_curves"]) and len({len(c) for c in r["val_loss_curves"]}) == 1:
            mean, low, high = mean_band(r["val_loss_curves"])
            epochs = np.arange(1, len(mean) + 1)
            curves.plot(epochs, mean, marker="o", markersize=3, color=colours[r["trial_id"]],
                        label=describe(r["hyperparameters"], space))
            if low is not None:
                curves.fill_between(epochs, low, high, color=colours[r["trial_id"]], alpha=0.15, linewidth=0)
    curves.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    curves.set_xlabel("epoch")
    curves.set_ylabel("validation loss (mean over executions, 95 % band)")
    curves.set_title(title, fontsize=10)
    curves.grid(True, alpha=0.3)
    curves.legend(fontsize=8)
    labels = []
    for x, r in enumerate(rows):
        values = [e["best_val_loss"] for e in r["execution_results"] if e["best_val_loss"] is not None]
        offsets = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(len(values))
        points.scatter(x + offsets, values, s=18, color=colours[r["trial_id"]], zorder=3)
        s = r["statistics"]["best_val_loss"]
        if s["mean"] is not None:
            points.plot([x + 0.2, x + 0.36], [s["mean"]] * 2, color="black", linewidth=1.5)
        if s["ci95"] is not None:
            points.plot([x + 0.28] * 2, s["ci95"], color="black", linewidth=0.8)
        group = r["statistics"]["group"]
        labels.append(describe(r["hyperparameters"], space) + ("" if group == "-" else f"\n{group}"))
    points.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
    points.set_xlim(-0.5, len(rows) - 0.5)
    points.set_ylabel("best validation loss per execution")
    points.set_title("each execution's best val_loss, ranked; bar: mean and 95 % CI", fontsize=10)
    points.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out, "val_loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _number(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(ci, digits: int) -> str:
    return "-" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def render(rows: list[dict], space: dict) -> str:
    """The ranked table: keras-tuner's score (the mean best val_loss), its spread over the
    executions, the final validation accuracy's, and the test against the best trial."""
    table = Table(["rank", "trial", "init_mode" + (" / other values" if len(space) else ""), "n", "best val_loss",
                   "sd", "95% CI", "final val_acc", "sd", "95% CI", "p (Holm)", "group", "seconds", "status"])
    for rank, r in enumerate(rows, start=1):
        loss, acc = r["statistics"]["best_val_loss"], r["statistics"]["final_val_accuracy"]
        table.add(rank, r["trial_id"], describe(r["hyperparameters"], space), r["executions"],
                  _number(r["best_val_loss"], 4), _number(loss["std"], 4), _interval(loss["ci95"], 4),
                  _number(acc["mean"], 3), _number(acc["std"], 3), _interval(acc["ci95"], 3),
                  _number(r["statistics"]["p_holm"], 3), r["statistics"]["group"], f"{r['seconds']:.1f}", r["status"])
    return table.render()


# --- command line ------------------------------------------------------------------------

def _positive_number(convert):
    """An argument type for one number > 0 (a learning rate, a batch size)."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise ValueError(text) from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
        return value
    parse.__name__ = convert.__name__
    return parse


def build_parser(engines: dict | None = None, prog: str = PROG) -> argparse.ArgumentParser:
    engines = engines or ENGINES
    p = Parser(prog=prog, description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--init-modes", type=list_of("init mode", INIT_MODES), default=INIT_MODES)
    p.add_argument("--activations", type=list_of("activation", HIDDEN_ACTIVATIONS), default=("relu",),
                   help="hidden activations; more than one joins the search space")
    p.add_argument("--batch-sizes", type=list_of("batch size", convert=_positive_number(int), noun="integer"), default=(64,),
                   help=f"batch sizes, e.g. the lecture's {','.join(map(str, LECTURE_BATCH_SIZES))}")
    p.add_argument("--learning-rates", type=list_of("learning rate", convert=_positive_number(float), noun="number"), default=(0.001,))
    p.add_argument("--hidden-units", type=list_of("hidden size", convert=_positive_number(int), noun="integer"), default=(16,))
    p.add_argument("--oracle", choices=ORACLES, default="grid",
                   help="grid tries every combination once; the others sample --max-trials of them")
    p.add_argument("--max-trials", type=positive_int, default=10, help="trials for random and bayesian")
    p.add_argument("--executions-per-trial", type=positive_int, default=1,
                   help="runs of each trial, execution k seeded with --seed + k; 2 or more give each trial "
                        "a spread, a 95%% CI and a test against the best")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--seed", type=count, default=0)
    p.add_argument("--data", default="breast_cancer",
                   help=f"a built-in data set ({', '.join(datasets.DATASETS)}) or a CSV file with --target")
    p.add_argument("--target", default=None, help="the CSV's class column")
    p.add_argument("--out", default="tune_results", metavar="DIR", help="where the sweep and its results live")
    p.add_argument("--overwrite", action="store_true", help="start afresh, deleting DIR's earlier sweep")
    p.add_argument("--engine", choices=tuple(engines), default="keras",
                   help="what trains each execution: " + "; ".join(f"{k}: {e.__doc__.splitlines()[0]}"
                                                                    for k, e in engines.items()))
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="run the sweep as keras-tuner's chief and this many workers on 127.0.0.1, the cores "
                        "shared among them; stopped together when it ends or is interrupted")
    p.add_argument("--port", type=int, default=None, help="with --jobs: the oracle's port (default: a free one)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="TensorFlow's threads in this process (--jobs sets each worker's)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard logs under DIR/tensorboard (measured: 1 to 20 ms an epoch)")
    p.add_argument("--device", default="auto", help="auto, cpu, gpu, cpu:N or gpu:N")
    p.add_argument("--log-placement", action="store_true",
                   help="turn on TensorFlow's device placement log (and show its start-up log)")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up and C++ log lines")
    return p


def is_worker() -> bool:
    """A keras-tuner worker process: distributed, and (as keras-tuner decides it) not the chief."""
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def check_distributed(parser) -> None:
    """keras-tuner's distributed mode needs all three variables, or none."""
    names = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
    present = [n for n in names if n in os.environ]
    if present and len(present) < 3:
        missing = [n for n in names if n not in os.environ]
        parser.error(f"distributed mode needs {', '.join(names)}; {', '.join(missing)} not set")
    if "KERASTUNER_ORACLE_PORT" in os.environ and not os.environ["KERASTUNER_ORACLE_PORT"].isdigit():
        parser.error(f"KERASTUNER_ORACLE_PORT must be a port number, got {os.environ['KERASTUNER_ORACLE_PORT']!r}")


def prepare_out(args, record: dict, parser) -> None:
    """Make DIR ready: new, or the same sweep to resume, or (with --overwrite) emptied."""
    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        parser.error(f"--out {out} is a file, not a folder")
    record_path = os.path.join(out, "search.json")
    if args.overwrite and os.path.isdir(out) and not is_worker():
        for name in (PROJECT, "curves", "tensorboard", "search.json", "results.csv", "results_executions.csv",
                     "results.json", "val_loss.png", "parity.png"):
            path = os.path.join(out, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    try:
        os.makedirs(os.path.join(out, "curves"), exist_ok=True)
        # one probe per process: a chief and its workers start at once in the same folder, and a
        # shared name let one process remove another's probe (seen: the chief exited, its workers hung)
        probe = os.path.join(out, f".write_test.{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        parser.error(f"--out {out} cannot be written: {e.strerror}")
    if os.path.exists(record_path):
        try:
            with open(record_path) as f:
                earlier = json.load(f)
        except (OSError, ValueError):
            parser.error(f"{record_path} cannot be read as a sweep record; pass --overwrite or another --out")
        if isinstance(earlier, dict):
            earlier.setdefault("engine", "keras")  # a sweep recorded before engines were named
        if earlier != json.loads(json.dumps(record)):
            changed = sorted(k for k in set(earlier) | set(record) if earlier.get(k) != json.loads(json.dumps(record)).get(k))
            parser.error(f"--out {out} holds a sweep with another {', '.join(changed)}; resume it with the same "
                         f"command, or pass --overwrite (deletes it) or another --out")
    elif not is_worker():  # written whole, then renamed: a worker starting meanwhile never reads half of it
        partial = f"{record_path}.{os.getpid()}.tmp"
        with open(partial, "w") as f:
            json.dump(record, f, indent=2)
        os.replace(partial, record_path)


def trial_count(args, space: dict) -> int | None:
    """How many trials the oracle will make: the grid's size, or --max-trials (None for hyperband)."""
    if args.oracle == "grid":
        return int(np.prod([len(v) for v in space.values()]))
    return None if args.oracle == "hyperband" else args.max_trials


def _search(args, engines: dict, data, space: dict, module: str, jobs: int, parser, workers):
    """TensorFlow imported, the tuner made, and the sweep run: by this process alone, or (with
    ``workers``) by it and the workers, this process serving them the oracle as it trains."""
    if jobs > 1:  # the chief trains as one of the jobs: its share of the cores, as each worker's
        from keras_ref.jobs import threads_per_job
        args.threads = threads_per_job(jobs)
    device = chosen_device(args, parser, args.threads)
    from keras_ref import sweep
    from keras_ref.devices import placed
    searched = {k: v for k, v in space.items() if len(v) > 1}
    if not is_worker():
        print(f"{module}: {args.oracle} search over "
              f"{', '.join(f'{k} ({len(v)})' for k, v in searched.items()) or 'nothing'} on {data.name} "
              f"({len(data.X_train)} training, {len(data.X_val)} validation examples), {args.epochs} epochs, "
              f"engine {args.engine}, {f'{jobs} jobs, ' if jobs > 1 else ''}device {device}, results in {args.out}",
              flush=True)
    engine = engines[args.engine]()
    hypermodel = sweep.SweepHyperModel(data, space, args.seed, engine)
    tuner = sweep.make_tuner(args.oracle, hypermodel, args.out, args)
    callbacks = [sweep.tensorboard(os.path.join(args.out, "tensorboard"))] if args.tensorboard else []
    # keras-tuner calls gc.collect() twice before it builds each execution's model (Tuner._try_build).
    # Each call walks every object TensorFlow and Keras made at import: 0.2 s, more than the twin's
    # whole execution.  Frozen, those are left out of every collection; what runs after is collected.
    gc.freeze()
    started = time.perf_counter()
    fit_data = dict(x=data.X_train.astype("float32"), y=data.y_train.astype("float32"), epochs=args.epochs,
                    validation_data=(data.X_val.astype("float32"), data.y_val.astype("float32")),
                    callbacks=callbacks, verbose=1)
    failure = None
    if workers is None:
        with placed(device):
            tuner.search(**fit_data)
    else:  # the chief serves the oracle and is the last worker itself; then it waits for the others
        from keras_ref.jobs import WorkerFailed
        with sweep.oracle_served(tuner), sweep.as_worker(f"tuner{jobs - 1}"):
            try:
                with placed(device):
                    sweep.make_tuner(args.oracle, hypermodel, args.out, args, workers.check).search(**fit_data)
                workers.wait(lambda tuner_id: tuner_id in dict(tuner.oracle.ongoing_trials))
            except WorkerFailed as e:  # the trials done so far are still reported and written
                failure = str(e)
    return tuner, hypermodel, engine, device, started, failure


def main(argv=None, engines: dict | None = None, module: str = "keras_ref.tune") -> int:
    """The command; ``engines`` adds engines to Keras's (``compare.tune`` adds the scratch twin), and
    ``module`` is what ``--jobs`` starts its workers as."""
    engines = {**ENGINES, **(engines or {})}
    parser = build_parser(engines, module)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    check_distributed(parser)
    if args.oracle == "hyperband" and args.epochs < 3:
        parser.error(f"hyperband needs --epochs of at least 3 to form brackets, got {args.epochs}")
    refused = engines[args.engine].refuse(args)
    if refused:
        parser.error(f"--engine {args.engine}: {refused}")
    try:
        if args.target is not None or args.data.endswith(".csv"):
            if args.target is None:
                parser.error(f"--data {args.data} is a CSV file: name its class column with --target")
            data = datasets.load_csv(args.data, args.target, seed=args.seed)
        else:
            data = datasets.load(args.data, seed=args.seed)
    except ValueError as e:
        parser.error(str(e))
    space = {"init_mode": list(args.init_modes), "activation": list(args.activations),
             "hidden_units": list(args.hidden_units), "learning_rate": list(args.learning_rates),
             "batch_size": list(args.batch_sizes)}
    for b in args.batch_sizes:
        if b > len(data.X_train):
            parser.error(f"batch size {b} is larger than the {len(data.X_train)} training examples of {data.name}")
    distributed = "KERASTUNER_ORACLE_IP" in os.environ
    jobs = 1 if distributed else args.jobs  # a process of a distributed sweep is already one of its jobs
    trials = trial_count(args, space)
    if jobs > 1 and trials is not None and jobs > trials:
        parser.error(f"--jobs {jobs} is more than the sweep's {trials} trials")
    if args.port is not None and jobs > 1:
        from keras_ref.jobs import check_port
        try:
            check_port(args.port)
        except ValueError as e:
            parser.error(str(e))
    record = search_record(args, space)
    prepare_out(args, record, parser)

    from keras_ref.jobs import Workers, free_port, stop_on_signals
    workers = None
    try:
        with stop_on_signals():
            if jobs > 1:  # started before this process imports TensorFlow: their imports and the chief's overlap
                workers = Workers([sys.executable, "-m", module, *argv], jobs - 1, args.port or free_port(), jobs)
            with workers or contextlib.nullcontext():
                tuner, hypermodel, engine, device, started, failure = _search(args, engines, data, space, module,
                                                                                jobs, parser, workers)
    except KeyboardInterrupt:
        print(f"{module}: interrupted{'; every worker stopped' if workers else ''}. "
              "Run the same command again to resume.", file=sys.stderr)
        return 130
    if failure:
        print(f"{module}: {failure}; every worker stopped. Below, the trials done so far; run the same command "
              "again to finish the sweep.", file=sys.stderr, flush=True)
    if is_worker():
        print(f"{module}: worker {os.environ.get('KERASTUNER_TUNER_ID')} done in {time.perf_counter() - started:.0f} s")
        return 0
    from keras_ref.devices import placed
    elapsed = time.perf_counter() - started
    rows = collect(args.out, tuner)
    statistics = add_statistics(rows)
    print(render(rows, space))
    print(verdict_line(rows, statistics))
    with placed(device):
        lines, engine_report, engine_passed = engine.after(hypermodel, rows, args)
    for line in lines:
        print(line)
    write_results(args.out, rows, space, record, device, statistics,
                  {**engine_report, "jobs": jobs, "seconds": elapsed})
    path = plot(args.out, rows, space, f"{data.name}: validation loss per trial ({args.oracle} search)")
    done = sum(r["status"] == "COMPLETED" for r in rows)
    print(f"{done}/{len(rows)} trials completed in {elapsed:.1f} s; {os.path.join(args.out, 'results.csv')}, "
          f"results_executions.csv, results.json, {path}"
          + (f", TensorBoard logs in {os.path.join(args.out, 'tensorboard')}" if args.tensorboard else ""))
    return 0 if done == len(rows) and rows and engine_passed and not failure else 1


if __name__ == "__main__":
    sys.exit(main())
