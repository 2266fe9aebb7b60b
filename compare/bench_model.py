"""python -m compare.bench --model PATH: your model's twin against Keras and onnxruntime, timed.

Inference, at batch 1, 32 and 1024 (``--inference-batch-sizes``), per call:
- ``twin.predict(X)``, the NumPy twin (``compare.twin.from_keras``);
- onnxruntime on the twin's network built with ``onnx.helper`` (``compare.onnx_twin``), with as
  many operator threads as NumPy's BLAS has, and with one;
- Keras: ``model(X, training=False)`` and ``model.predict(X, batch_size=len(X))`` (one batch per call);
- and, as the floor of any NumPy forward pass, the twin's matrix products alone (X @ W_1 @ W_2 ...).

Every engine's output is first checked against the twin's at the network's tolerance: one
that computes something else is still timed, but the report says so and the run exits 1.  The engines take turns, one burst of calls each, in
rotating order over ``--repeats`` rounds after a warm-up round; each engine's fastest call
counts (as ``timeit`` advises: slower calls are the machine's noise, not the code's).
Targets (the issue's): ``twin.predict`` within 1.25x of onnxruntime at batch 1 and 1.05x at
batch 1024.

Training throughput (``--batch-sizes``, default 32 and 512): one epoch of ``--samples`` rows,
``scratch.fit`` with the twin's optimizer against ``model.fit`` with the model's own, taking
turns as the network bench does (``compare.bench.training_turns``).  Both train the model
in memory; the file is never written.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from compare.core import Outcome, as_bad_input, compare_named
from compare.report import Table
from scratch import tolerances
from scratch.layers import Dense

INFERENCE_BATCH_SIZES = (1, 32, 1024)
TRAINING_BATCH_SIZES = (32, 512)
#: twin.predict's time over onnxruntime's, at most, by batch size.
ONNX_TARGETS = {1: 1.25, 1024: 1.05}
#: The timing row of the twin's matrix products alone (not an engine: its output is not the model's).
MATMULS = "twin matmuls alone"
#: Wall time each engine gets per round and batch size; the calls that fill it are timed one by one.
ROUND_SECONDS = 0.05


def onnx_missing() -> str | None:
    """Why onnxruntime cannot be timed here, or None."""
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    return f"{' and '.join(missing)} not installed (pip install \".[bench]\")" if missing else None


def matmuls_alone(net):
    """The twin's matrix products alone, X @ W_1 @ W_2 ..., at predict's shapes: the floor of
    any NumPy forward pass, whatever its elementwise work costs."""
    kernels = [layer.W for layer in net.layers if isinstance(layer, Dense)]

    def run(X):
        for W in kernels:
            X = X @ W
        return X
    return run


def engines(model, net, threads: int) -> tuple[dict, dict]:
    """({name: fn(X) -> output}, {name: why it is left out})."""
    found = {"twin.predict": net.predict, MATMULS: matmuls_alone(net),
             "model(x)": lambda X: model(X, training=False),  # a tensor: .numpy() would add a copy
             "model.predict": lambda X: model.predict(X, batch_size=len(X), verbose=0)}
    left_out = {}
    why = onnx_missing()
    if why is None:
        from compare import onnx_twin
        for name, k in (("onnxruntime", threads), ("onnxruntime 1 thread", 1))[:2 if threads > 1 else 1]:
            try:
                session = onnx_twin.session(net, k)
            except Exception as e:  # an op without a kernel in this dtype: reported, not fatal
                left_out[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                continue
            found[name] = lambda X, s=session: s.run(None, {"x": X})[0]
    else:
        left_out["onnxruntime"] = why
    return found, left_out


def as_numpy(output) -> np.ndarray:
    """An engine's output as a NumPy array (a TensorFlow tensor through its own ``.numpy()``)."""
    return output.numpy() if hasattr(output, "numpy") else np.asarray(output)


def time_calls(fns: dict, X, repeats: int) -> dict[str, list[float]]:
    """Seconds of every timed call, per engine: a warm-up round, then ``repeats`` rounds in which
    each engine in turn (a rotating order) makes calls for ``ROUND_SECONDS``, each timed alone."""
    names = list(fns)
    seconds = {name: [] for name in names}
    for round_ in range(1 + repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            fn, times = fns[name], []
            stop = time.perf_counter() + ROUND_SECONDS
            while True:
                started = time.perf_counter()
                fn(X)
                ended = time.perf_counter()
                times.append(ended - started)
                if ended >= stop and len(times) >= 3:
                    break
            if round_:
                seconds[name] += times
    return seconds


def inference(model, net, batch_sizes, repeats: int, threads: int, seed: int, progress=print) -> dict:
    """Per batch size: each engine's fastest and median call, its output's agreement with the
    twin's, and twin.predict's ratio to each engine."""
    fns, left_out = engines(model, net, threads)
    rng = np.random.default_rng(seed)
    rows = []
    X_check = rng.standard_normal((max(batch_sizes), net.widths[0])).astype(net.dtype)
    reference = net.predict(X_check)
    tol = tolerances.of_network(net, len(X_check))
    others = [name for name in fns if name not in ("twin.predict", MATMULS)]
    agreement = compare_named({name: reference for name in others},
                              {name: as_numpy(fns[name](X_check)) for name in others}, tol)
    for batch_size in batch_sizes:
        X = rng.standard_normal((batch_size, net.widths[0])).astype(net.dtype)
        seconds = time_calls(fns, X, repeats)
        best = {name: min(s) for name, s in seconds.items()}
        twin = best["twin.predict"]
        target = ONNX_TARGETS.get(batch_size) if "onnxruntime" in best else None
        row = {"batch_size": batch_size, "best_s": best,
               "median_s": {name: statistics.median(s) for name, s in seconds.items()},
               "calls": {name: len(s) for name, s in seconds.items()},
               "twin_over": {name: twin / t for name, t in best.items() if name != "twin.predict"},
               "onnx_target": target}
        row["met"] = target is None or row["twin_over"]["onnxruntime"] <= target
        rows.append(row)
        progress(f"  inference batch {batch_size}: twin {twin * 1e6:,.0f} us"
                 + (f", onnxruntime {best['onnxruntime'] * 1e6:,.0f} us" if "onnxruntime" in best else ""))
    return {"engines": list(fns), "left_out": left_out, "agreement": agreement, "tolerance": tol, "rows": rows}


def training(model, net, X, Y, batch_sizes, repeats: int, seed: int, progress=print) -> list[dict]:
    """Samples per second of the fastest epoch, twin (scratch.fit) and Keras (model.fit)."""
    from compare.bench import training_turns
    rows = []
    for batch_size in batch_sizes:
        keras_times, scratch_times = training_turns(model, net, X, Y, batch_size, seed, repeats)
        twin, keras = len(X) / min(scratch_times), len(X) / min(keras_times)
        rows.append({"batch_size": batch_size, "twin_samples_per_s": twin, "keras_samples_per_s": keras,
                     "ratio": twin / keras, "twin_epoch_s": scratch_times, "keras_epoch_s": keras_times})
        progress(f"  training batch {batch_size}: {twin / keras:.1f}x")
    return rows


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}" if seconds >= 1e-4 else f"{seconds * 1e6:,.1f}"


def render_inference(result: dict) -> tuple[str, str]:
    """Two tables: microseconds per call, and twin.predict's time over each other row's."""
    names = result["engines"]
    others = [n for n in names if n != "twin.predict"]
    times = Table(["batch", *names])
    ratios = Table(["batch", *(f"twin/{n}" for n in others), "target", "met"])
    for r in result["rows"]:
        target = r["onnx_target"]
        times.add(r["batch_size"], *(_us(r["best_s"][n]) for n in names))
        ratios.add(r["batch_size"], *(f"{r['twin_over'][n]:.3g}x" for n in others),
                   f"twin <= {target:g}x onnxruntime" if target else "-", "yes" if r["met"] else "NO")
    return times.render(), ratios.render()


def render_training(rows: list[dict]) -> str:
    table = Table(["batch", "twin samples/s", "keras samples/s", "twin/keras"])
    for r in rows:
        table.add(r["batch_size"], f"{r['twin_samples_per_s']:,.0f}", f"{r['keras_samples_per_s']:,.0f}",
                  f"{r['ratio']:.1f}x")
    return table.render()


@dataclass(frozen=True)
class Config:
    model: str
    inference_batch_sizes: tuple
    batch_sizes: tuple
    samples: int
    repeats: int
    seed: int


def prepare(args, parser) -> Config:
    training_batches = args.batch_sizes or TRAINING_BATCH_SIZES
    for b in (*args.inference_batch_sizes, *training_batches):
        if b < 1:
            parser.error(f"batch size {b} must be >= 1")
    for b in training_batches:
        if b > args.samples:
            parser.error(f"training batch size {b} must be at most --samples {args.samples}")
    if not os.path.isfile(args.model):
        raise ValueError(f"no model file at {args.model}")
    return Config(args.model, tuple(args.inference_batch_sizes), tuple(training_batches), args.samples,
                  args.repeats, args.seed)


def execute(config: Config, args, device_name: str) -> Outcome:
    """``python -m compare.bench --model PATH``, once ``compare.core.run_command`` has checked the flags."""
    from compare.bench import PROG, blas
    from compare.cases import make_batch
    from compare.report import versions
    from compare.twin import loaded

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:  # under the floatx() the model loads and trains in
        with as_bad_input():
            model, net, _ = stack.enter_context(loaded(config.model, args.loss))
        libraries = blas()
        threads = max([b["num_threads"] or 1 for b in libraries] or [1])
        info = versions()
        onnx_version = "not installed" if onnx_missing() else importlib.import_module("onnxruntime").__version__
        print(f"{PROG} --model {config.model}: {' -> '.join(map(str, net.widths))} "
              f"({', '.join(type(layer).__name__ for layer in net.layers)}), {net.dtype}, "
              f"{net.n_params:,} parameters; device {device_name}, TensorFlow {info['tensorflow']}, "
              f"Keras {info['keras']}, NumPy {info['numpy']} (BLAS: {threads} threads), onnxruntime {onnx_version}",
              flush=True)

        def progress(line):
            print(line, file=sys.stderr, flush=True)

        infer = inference(model, net, config.inference_batch_sizes, config.repeats, threads, config.seed, progress)
        X, Y = make_batch((net.widths[0], net.widths[-1]), net.loss.name, config.samples, config.seed)
        X, Y = X.astype(net.dtype), Y.astype(net.dtype)
        train = training(model, net, X, Y, config.batch_sizes, config.repeats, config.seed, progress)
    times, ratios = render_inference(infer)
    lines = [f"\nInference: microseconds per call, the fastest of the calls in {config.repeats} rounds "
             f"of {ROUND_SECONDS * 1e3:.0f} ms per engine; onnxruntime with {threads} operator threads "
             "(as NumPy's BLAS) and with 1", times,
             f"\ntwin.predict's time over each (below 1: the twin is faster; {MATMULS}: its floor)", ratios]
    lines += [f"{name}: not timed: {why}" for name, why in infer["left_out"].items()]
    lines += [f"{name} output against twin.predict's: relative difference {e['rel_diff']:.1e} "
              f"({'within' if e['passed'] else 'OUTSIDE'} the network's tolerance {infer['tolerance']:.1e})"
              for name, e in infer["agreement"].items()]
    lines += [f"\nTraining: samples per second, the fastest of {config.repeats} epochs of {config.samples} rows; "
              f"twin: scratch.fit with the twin's {net.optimizer.name}, Keras: model.fit", render_training(train)]
    agree = all(e["passed"] for e in infer["agreement"].values())
    met = all(r["met"] for r in infer["rows"])
    judged = [r for r in infer["rows"] if r["onnx_target"] is not None]
    lines.append(f"{sum(r['met'] for r in judged)}/{len(judged)} onnxruntime targets met; every output "
                 f"{'agrees' if agree else 'does NOT agree'}; {time.perf_counter() - started:.0f} s")
    return Outcome(met and agree, config, lines, {"blas": libraries, "onnxruntime": onnx_version, "threads": threads,
                                                  "inference": infer, "training": train, "twin": net.get_config()})
