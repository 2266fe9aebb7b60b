"""``python -m compare.bench --sweep``: one init-mode sweep timed three ways, side by side in one run.

The sweep is ``python -m compare.tune`` on breast cancer, 8 init modes x ``--executions``
executions x ``--epochs`` epochs, run as a fresh process each time (its TensorFlow import
included, as a user runs it) into a folder of its own:

1. Keras, one process (``--jobs 1``);
2. Keras, ``--jobs 2``: keras-tuner's chief, training as one job, and one worker;
3. the scratch engine (``--engine scratch``), its Keras check of the best trial included.

Every sweep must complete every trial and execution, or the bench fails.  Targets on this
2-core machine: ``--jobs 2`` at least 1.6x faster than one job, the scratch engine at least
10x faster than Keras with one job.

Then, in this process, where one Keras execution's time goes: building and compiling the
model, the first epoch (which traces the train and validation steps), each later epoch, what
Keras's second data iterator per epoch adds to a ``fit`` without ``steps_per_epoch`` (the Keras
engine passes it), what TensorBoard's callback adds per epoch, and what keras-tuner's two
``gc.collect()`` calls per execution cost with TensorFlow's heap left in the collector and
frozen out of it (``gc.freeze``).
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

#: Each way the sweep is run: its label, the flags it adds, and the target ratio to Keras with one job.
WAYS = (("keras, 1 job", [], None), ("keras, --jobs 2", ["--jobs", "2"], 1.6),
        ("scratch engine", ["--engine", "scratch"], 10.0))


@dataclass(frozen=True)
class Config:
    sweep: bool
    executions: int
    epochs: int
    seed: int


def sweep_command(out: str, config: Config, flags: list[str]) -> list[str]:
    return [sys.executable, "-m", "compare.tune", "--data", "breast_cancer", "--epochs", str(config.epochs),
            "--executions-per-trial", str(config.executions), "--seed", str(config.seed), "--out", out, *flags]


def run_sweep(label: str, config: Config, flags: list[str], folder: str, progress) -> dict:
    """One sweep, timed from its process's start to its end; what it completed, from its results.json."""
    out = os.path.join(folder, label.replace(" ", "_").replace(",", "").replace("-", ""))
    progress(f"  sweep: {label} ...")
    started = time.perf_counter()
    done = subprocess.run(sweep_command(out, config, flags), capture_output=True, text=True)
    wall = time.perf_counter() - started
    report = {}
    if os.path.exists(os.path.join(out, "results.json")):
        with open(os.path.join(out, "results.json")) as f:
            report = json.load(f)
    trials = report.get("trials", [])
    executions = sum(len(t.get("execution_results", [])) for t in trials)
    complete = (done.returncode == 0 and len(trials) == 8 and all(t["status"] == "COMPLETED" for t in trials)
                and executions == 8 * config.executions)
    row = {"way": label, "flags": flags, "wall_s": wall, "sweep_s": (report.get("engine") or {}).get("seconds"),
           "returncode": done.returncode, "trials": len(trials), "executions": executions, "complete": complete,
           "parity": ((report.get("engine") or {}).get("parity") or {}).get("passed")}
    if not complete:
        row["output_tail"] = (done.stdout + done.stderr)[-2000:]
    progress(f"  sweep: {label}: {wall:.1f} s, {executions} executions" + ("" if complete else " INCOMPLETE"))
    return row


def execution_profile(seed: int, epochs: int, progress) -> dict:
    """Where one Keras execution's time goes, measured here (breast cancer, 30-16-1, batch 64)."""
    from keras_ref import datasets
    from keras_ref.quiet import keras
    from keras_ref.sweep import SweepHyperModel
    from keras_ref.tune import KerasEngine
    k = keras()
    progress("  profile of one Keras execution ...")
    data = datasets.load("breast_cancer", seed=seed)
    space = {"init_mode": ["glorot_uniform"], "activation": ["relu"], "hidden_units": [16],
             "learning_rate": [0.001], "batch_size": [64]}
    values = {name: v[0] for name, v in space.items()}
    hypermodel = SweepHyperModel(data, space, seed)
    X, Y = data.X_train.astype("float32"), data.y_train.astype("float32")
    validation = (data.X_val.astype("float32"), data.y_val.astype("float32"))

    class Epochs(k.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [time.perf_counter()]

        def on_epoch_end(self, epoch, logs=None):
            self.marks.append(time.perf_counter())

    def one(tensorboard: bool, engine: bool = True) -> dict:
        """One execution, fitted as the Keras engine fits it (``engine``), or by a plain ``fit``."""
        started = time.perf_counter()
        model = hypermodel.model(values, seed)
        built = time.perf_counter()
        timer = Epochs()
        callbacks = [timer] + ([k.callbacks.TensorBoard(tempfile.mkdtemp())] if tensorboard else [])
        fit = dict(batch_size=values["batch_size"], epochs=epochs, validation_data=validation, verbose=0,
                   callbacks=callbacks)
        if engine:
            KerasEngine().fit(hypermodel, None, model, X, Y, seed=seed, **fit)
        else:
            model.fit(X, Y, **fit)
        ended = time.perf_counter()
        spans = [b - a for a, b in zip(timer.marks, timer.marks[1:])]
        return {"build_compile_s": built - started, "first_epoch_s": spans[0],
                "later_epoch_s": min(spans[1:]) if len(spans) > 1 else None,
                "later_epochs_mean_s": sum(spans[1:]) / max(1, len(spans) - 1), "fit_s": ended - built,
                "total_s": ended - started}

    def two_collections() -> float:
        started = time.perf_counter()
        gc.collect()
        gc.collect()
        return time.perf_counter() - started

    one(False)  # warm: the first model of a process pays for more than its own
    plain = min((one(False) for _ in range(3)), key=lambda r: r["total_s"])
    with_tensorboard = min((one(True) for _ in range(3)), key=lambda r: r["total_s"])
    without_steps = min((one(False, engine=False) for _ in range(3)), key=lambda r: r["total_s"])
    unfrozen = min(two_collections() for _ in range(3))
    gc.freeze()
    frozen = min(two_collections() for _ in range(3))
    gc.unfreeze()
    return {"epochs": epochs, "plain": plain, "tensorboard": with_tensorboard,
            "tensorboard_per_epoch_s": with_tensorboard["later_epochs_mean_s"] - plain["later_epochs_mean_s"],
            "without_steps_per_epoch": without_steps,
            "second_iterator_per_epoch_s": without_steps["later_epochs_mean_s"] - plain["later_epochs_mean_s"],
            "gc_collect_twice_s": unfrozen, "gc_collect_twice_frozen_s": frozen}


def execute(config: Config, args, device_name: str):
    from compare.core import Outcome
    from compare.report import Table
    started = time.perf_counter()

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    print(f"compare.bench --sweep: breast cancer, 8 init modes x {config.executions} executions x {config.epochs} "
          f"epochs, each sweep a fresh `python -m compare.tune` process (wall time, TensorFlow's import included)",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as folder:
        rows = [run_sweep(label, config, flags, folder, progress) for label, flags, _ in WAYS]
    base = rows[0]["wall_s"]
    table = Table(["sweep", "wall s", "sweep s", "executions", "speed-up over keras, 1 job", "target", "verdict"])
    for row, (_, _, target) in zip(rows, WAYS):
        row["speedup"] = base / row["wall_s"]
        row["target"] = target
        row["met"] = row["complete"] and (target is None or row["speedup"] >= target) and row["parity"] is not False
        table.add(row["way"], f"{row['wall_s']:.1f}", "-" if row["sweep_s"] is None else f"{row['sweep_s']:.1f}",
                  f"{row['executions']}", f"{row['speedup']:.2f}x", "-" if target is None else f">= {target:g}x",
                  ("ok" if row["met"] else "MISSED") if row["complete"] else "INCOMPLETE")
    profile = execution_profile(config.seed, config.epochs, progress)
    p, t = profile["plain"], profile["tensorboard"]
    breakdown = Table([f"one Keras execution ({config.epochs} epochs)", "seconds"])
    breakdown.add("build and compile the model (and Adam's variables)", f"{p['build_compile_s']:.3f}")
    breakdown.add("first epoch: traces the train and validation steps", f"{p['first_epoch_s']:.3f}")
    breakdown.add(f"each later epoch (8 steps and a validation pass), x{config.epochs - 1}",
                  f"{p['later_epochs_mean_s']:.3f}")
    breakdown.add("the whole execution, without TensorBoard", f"{p['total_s']:.3f}")
    breakdown.add("Keras's second data iterator, per epoch, in a fit without steps_per_epoch (the engine gives it)",
                  f"{profile['second_iterator_per_epoch_s']:.3f}")
    breakdown.add("TensorBoard's callback, per epoch (now only with --tensorboard)",
                  f"{profile['tensorboard_per_epoch_s']:.3f}")
    breakdown.add("the whole execution, with TensorBoard", f"{t['total_s']:.3f}")
    breakdown.add("keras-tuner's two gc.collect() before each build, TensorFlow's heap in the collector",
                  f"{profile['gc_collect_twice_s']:.3f}")
    breakdown.add("the same, after gc.freeze() (what compare.tune does now)", f"{profile['gc_collect_twice_frozen_s']:.3f}")
    for row in rows:
        if not row["complete"]:
            print(f"FAIL {row['way']}: exit {row['returncode']}, {row['trials']} trials, {row['executions']} "
                  f"executions:\n{row.get('output_tail', '')}")
    met = all(r["met"] for r in rows)
    lines = [table.render(), "", breakdown.render(),
             f"{sum(r['met'] for r in rows)}/{len(rows)} sweeps complete and meet their targets, "
             f"in {time.perf_counter() - started:.0f} s"]
    return Outcome(met, config, lines, {"sweeps": rows, "execution_profile": profile})
