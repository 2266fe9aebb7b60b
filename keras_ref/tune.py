"""python -m keras_ref.tune: sweep the eight init modes (and more) with keras-tuner.

The search space is ``init_mode`` by default, all eight, each tried once by ``GridSearch``.
Hidden activation, batch size, learning rate and hidden units join it when given more than
one value.  Data: a built-in scikit-learn set (breast cancer by default) or a CSV file,
split into training and validation examples and normalised.  Results go to ``--out DIR``:
a ranked table on stdout, ``results.csv``, ``results.json``, ``val_loss.png`` (one curve per
trial) and TensorBoard logs under ``tensorboard/``.

Run the same command again and an interrupted sweep carries on where it stopped: finished
trials are kept and not run again, the one that was running is retried.  ``--overwrite``
starts afresh.  Several processes can share one sweep through keras-tuner's distributed
mode (see the README).  Exit 0 when every trial completed, 1 when some failed, 2 on bad input.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time

import numpy as np

from keras_ref import datasets, quiet
from keras_ref.cli import Parser, Table, count, list_of, positive_int
from keras_ref.names import HIDDEN_ACTIVATIONS, INIT_MODES

PROG = "keras_ref.tune"
ORACLES = ("grid", "random", "hyperband", "bayesian")
#: The lecture's mini-batch slide.
LECTURE_BATCH_SIZES = (64, 128, 256, 512, 1024)
PROJECT = "sweep"


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
              "epochs": args.epochs, "executions_per_trial": args.executions_per_trial, "seed": args.seed}
    if args.oracle in ("random", "bayesian"):
        record["max_trials"] = args.max_trials
    return record


def collect(out: str, tuner) -> list[dict]:
    """One row per trial the oracle knows, best first, with its recorded curves."""
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
        })
    return sorted(rows, key=lambda r: (r["best_val_loss"] is None, r["best_val_loss"] or 0.0, r["trial_id"]))


def describe(hyperparameters: dict, space: dict) -> str:
    """A trial's label: its init mode, then any other searched value."""
    parts = [str(hyperparameters.get("init_mode", space["init_mode"][0]))]
    parts += [f"{k}={v}" for k, v in hyperparameters.items() if k != "init_mode" and not k.startswith("tuner/")]
    return " ".join(parts)


def write_results(out: str, rows: list[dict], space: dict, record: dict, device: str) -> None:
    fields = ["rank", "trial_id", "status", "init_mode", "activation", "hidden_units", "learning_rate", "batch_size",
              "best_val_loss", "val_accuracy", "best_epoch", "epochs", "executions", "seconds"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for rank, r in enumerate(rows, start=1):
            hp = {k: r["hyperparameters"].get(k, space[k][0]) for k in space}
            writer.writerow({"rank": rank, **{k: r[k] for k in fields if k in r}, **hp})
    with open(os.path.join(out, "results.json"), "w") as f:
        from keras_ref.sweep import versions
        json.dump({"command": PROG, "sweep": record, "device": device, "versions": versions(),
                   "trials": rows}, f, indent=2)
        f.write("\n")


def plot(out: str, rows: list[dict], space: dict, title: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in sorted(rows, key=lambda r: r["trial_id"]):
        if r["val_loss_curves"] and all(r["val_loss_curves"]):
            curve = np.mean(r["val_loss_curves"], axis=0)
            ax.plot(np.arange(1, len(curve) + 1), curve, marker="o", markersize=3,
                    label=describe(r["hyperparameters"], space))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "val_loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def render(rows: list[dict], space: dict) -> str:
    table = Table(["rank", "trial", "init_mode" + (" / other values" if len(space) else ""), "best val_loss",
                   "val_accuracy", "epochs", "seconds", "status"])
    for rank, r in enumerate(rows, start=1):
        table.add(rank, r["trial_id"], describe(r["hyperparameters"], space),
                  "-" if r["best_val_loss"] is None else f"{r['best_val_loss']:.4f}",
                  "-" if r["val_accuracy"] is None else f"{r['val_accuracy']:.3f}",
                  r["epochs"], f"{r['seconds']:.1f}", r["status"])
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


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0],
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
    p.add_argument("--executions-per-trial", type=positive_int, default=1)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--seed", type=count, default=0)
    p.add_argument("--data", default="breast_cancer",
                   help=f"a built-in data set ({', '.join(datasets.DATASETS)}) or a CSV file with --target")
    p.add_argument("--target", default=None, help="the CSV's class column")
    p.add_argument("--out", default="tune_results", metavar="DIR", help="where the sweep and its results live")
    p.add_argument("--overwrite", action="store_true", help="start afresh, deleting DIR's earlier sweep")
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
        for name in (PROJECT, "curves", "tensorboard", "search.json", "results.csv", "results.json", "val_loss.png"):
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
        if earlier != json.loads(json.dumps(record)):
            changed = sorted(k for k in set(earlier) | set(record) if earlier.get(k) != json.loads(json.dumps(record)).get(k))
            parser.error(f"--out {out} holds a sweep with another {', '.join(changed)}; resume it with the same "
                         f"command, or pass --overwrite (deletes it) or another --out")
    elif not is_worker():  # written whole, then renamed: a worker starting meanwhile never reads half of it
        partial = f"{record_path}.{os.getpid()}.tmp"
        with open(partial, "w") as f:
            json.dump(record, f, indent=2)
        os.replace(partial, record_path)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_distributed(parser)
    if args.oracle == "hyperband" and args.epochs < 3:
        parser.error(f"hyperband needs --epochs of at least 3 to form brackets, got {args.epochs}")
    try:
        if args.target is not None or args.data.endswith(".csv"):
            if args.target is None:
                parser.error(f"--data {args.data} is a CSV file: name its class column with --target")
            data = datasets.load_csv(args.data, args.target, seed=args.seed)
        else:
            data = datasets.load(args.data, seed=args.seed)
    except ValueError as e:
        parser.error(str(e))
    quiet.tensorflow(verbose=args.verbose or args.log_placement)
    from keras_ref import sweep
    from keras_ref.devices import log_placement, placed, resolve_device
    try:
        device = resolve_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    if args.log_placement:
        log_placement(True)
    space = {"init_mode": list(args.init_modes), "activation": list(args.activations),
             "hidden_units": list(args.hidden_units), "learning_rate": list(args.learning_rates),
             "batch_size": list(args.batch_sizes)}
    for b in args.batch_sizes:
        if b > len(data.X_train):
            parser.error(f"batch size {b} is larger than the {len(data.X_train)} training examples of {data.name}")
    record = search_record(args, space)
    prepare_out(args, record, parser)

    searched = {k: v for k, v in space.items() if len(v) > 1}
    print(f"{PROG}: {args.oracle} search over {', '.join(f'{k} ({len(v)})' for k, v in searched.items()) or 'nothing'}"
          f" on {data.name} ({len(data.X_train)} training, {len(data.X_val)} validation examples), "
          f"{args.epochs} epochs, device {device}, results in {args.out}", flush=True)
    tuner = sweep.make_tuner(args.oracle, sweep.SweepHyperModel(data, space, args.seed), args.out, args)
    started = time.perf_counter()
    with placed(device):
        tuner.search(data.X_train.astype("float32"), data.y_train.astype("float32"), epochs=args.epochs,
                     validation_data=(data.X_val.astype("float32"), data.y_val.astype("float32")),
                     callbacks=[sweep.tensorboard(os.path.join(args.out, "tensorboard"))], verbose=1)
    if is_worker():
        print(f"{PROG}: worker {os.environ.get('KERASTUNER_TUNER_ID')} done in {time.perf_counter() - started:.0f} s")
        return 0
    rows = collect(args.out, tuner)
    print(render(rows, space))
    write_results(args.out, rows, space, record, device)
    path = plot(args.out, rows, space, f"{data.name}: validation loss per trial ({args.oracle} search)")
    done = sum(r["status"] == "COMPLETED" for r in rows)
    print(f"{done}/{len(rows)} trials completed; {os.path.join(args.out, 'results.csv')}, results.json, {path}, "
          f"TensorBoard logs in {os.path.join(args.out, 'tensorboard')}")
    return 0 if done == len(rows) and rows else 1


if __name__ == "__main__":
    sys.exit(main())
