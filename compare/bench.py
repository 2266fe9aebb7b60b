"""python -m compare.bench: training throughput of scratch.fit and Keras's model.fit, side by side.

For each network and batch size, both sides train one epoch of Adam to warm up, then
``--repeats`` timed epochs, taking turns; each side's fastest epoch counts.  Scratch's epochs
are whole ``scratch.fit`` calls (their setup included); Keras's are one-epoch ``model.fit``
calls, timed from the epoch's start by a callback (the call's setup left out).  One process,
the same float32 data, the CPU by default (``--device`` moves Keras; scratch always runs on the CPU).  The
machine's float32 GEMM rate is measured with NumPy in the same run, and the scratch path's
FLOP/s are reported as a fraction of it, twice: counted as the issue counts them
(6 x parameters x samples), and as the matrix products scratch actually does (it skips the
first layer's input gradient).  Ratios are scratch / Keras samples per second.  Exit 0 when every row meets
its target, 1 when one does not, 2 on bad input.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

import compare  # noqa: F401  (starts the clock)
import keras_ref
import scratch
from keras_ref import quiet
from compare.cli import (
    command_parser, add_device_arguments, add_output_arguments, count, list_of, positive_int,
)
from compare.core import Outcome, run_command
from compare.report import Table, versions

PROG = "compare.bench"


@dataclass(frozen=True)
class Network:
    """A benchmarked network: its sizes, hidden activation, samples per epoch and targets."""

    layers: tuple[int, ...]
    hidden_activation: str
    samples: int
    min_ratio: float | None = None            # scratch/Keras throughput, at every batch size
    min_ratio_at: dict | None = None          # {batch size: ratio} where only some sizes have one
    min_gemm_fraction_at: dict | None = None  # {batch size: fraction of the GEMM rate}

    @property
    def name(self) -> str:
        return "-".join(map(str, self.layers))

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.layers, self.layers[1:]))

    @property
    def gemm_flops_per_sample(self) -> int:
        """The matrix-multiply FLOPs scratch does per sample: 2 n_in n_out forward, as many for
        dW, and as many again for dA_prev except at the first layer, whose input is the data."""
        pairs = [a * b for a, b in zip(self.layers, self.layers[1:])]
        return 6 * sum(pairs) - 2 * pairs[0]

    def ratio_target(self, batch_size: int) -> float | None:
        return (self.min_ratio_at or {}).get(batch_size, self.min_ratio)

    def gemm_target(self, batch_size: int) -> float | None:
        return (self.min_gemm_fraction_at or {}).get(batch_size)


NETWORKS = {
    "4-6-1": Network((4, 6, 1), "sigmoid", 32768, min_ratio=20.0),
    "30-64-32-1": Network((30, 64, 32, 1), "relu", 32768, min_ratio=10.0),
    "784-512-256-10": Network((784, 512, 256, 10), "relu", 8192, min_ratio_at={512: 1.5},
                              min_gemm_fraction_at={512: 0.8}),
}


def parse_network(text: str) -> Network:
    """'4-6-1' (a known one), or any sizes joined by '-' (relu hidden layers, no target)."""
    if text in NETWORKS:
        return NETWORKS[text]
    try:
        layers = tuple(int(t) for t in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"network {text!r} is not sizes joined by '-', e.g. 4-6-1")
    if len(layers) < 2 or min(layers) < 1:
        raise argparse.ArgumentTypeError(f"network {text!r} needs at least two sizes, each >= 1")
    return Network(layers, "relu", 8192)


def gemm_rate(n: int = 1024, repeats: int = 5) -> float:
    """NumPy's float32 matrix-multiply rate in FLOP/s: 2 n^3 per (n, n) @ (n, n), best of ``repeats``."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty((n, n), dtype=np.float32)
    np.matmul(A, B, out=C)
    best = min(_timed(lambda: np.matmul(A, B, out=C)) for _ in range(repeats))
    return 2 * n ** 3 / best


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def blas() -> list[dict]:
    """The BLAS library NumPy calls (the one shipped in numpy.libs), as threadpoolctl reports it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    found = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    own = [info for info in found if "numpy" in str(info.get("filepath", ""))]
    return [{k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "filepath")}
            for info in own or found]


def make_data(network: Network, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 X ~ N(0, 1) and labels from a fixed random linear teacher (one-hot for several outputs)."""
    rng = np.random.default_rng(seed)
    n_in, n_out = network.layers[0], network.layers[-1]
    X = rng.standard_normal((network.samples, n_in), dtype=np.float32)
    scores = X @ rng.standard_normal((n_in, max(n_out, 2)), dtype=np.float32)
    if n_out == 1:
        return X, (scores[:, :1] > 0).astype(np.float32)
    return X, np.eye(n_out, dtype=np.float32)[np.argmax(scores, axis=1)]


def bench_case(network: Network, batch_size: int, X, Y, seed: int, repeats: int = 5) -> dict:
    """Samples per second of the fastest of ``repeats`` timed epochs after a warm-up epoch, scratch and Keras.

    The two sides take turns, one epoch each, Keras first in even turns and scratch first in
    odd ones: a ``model.fit`` call of one epoch, timed inside by a callback from the epoch's
    start to its end (the call's setup not counted: measured, epochs so timed are at least as
    fast as epochs inside one long call), and one whole ``scratch.fit`` call.  Then NumPy's
    GEMM rate, the reference for scratch's FLOP/s, and a scratch step phase by phase
    (``scratch.profiling.profile_step``).  A shared CPU's speed drifts over seconds (by 2x on
    the 2-core machine of the README's table); turns spread that drift over both sides alike.  (Timing scratch inside a Keras callback was tried, and is
    unfair to scratch: Keras's input pipeline prepares the next epoch meanwhile.)
    """
    out, loss = ("sigmoid", "binary_crossentropy") if network.layers[-1] == 1 else ("softmax", "categorical_crossentropy")
    spec = dict(hidden_activation=network.hidden_activation, output_activation=out, loss=loss, dtype="float32")
    model = keras_ref.build_model(list(network.layers), seed=seed, **spec)
    net = scratch.Network(list(network.layers), **spec)
    net.set_weights(model.get_weights())

    gemm_rates, profiles = [], []
    steps = min(100, -(-len(X) // batch_size))

    def after_turn():
        gemm_rates.append(gemm_rate(repeats=2))  # the reference, sampled at the same moments
        profiles.append(scratch.profiling.profile_step(net, X, Y, batch_size, steps=steps, rounds=1))

    keras_times, scratch_times = training_turns(model, net, X, Y, batch_size, seed, repeats, "adam", after_turn)
    return {"scratch_samples_per_s": len(X) / min(scratch_times), "keras_samples_per_s": len(X) / min(keras_times),
            "scratch_epoch_s": scratch_times, "keras_epoch_s": keras_times, "gemm_flops_samples": gemm_rates,
            "scratch_step_s": min(profiles[1:], key=lambda p: p["step"])}


def training_turns(model, net, X, Y, batch_size: int, seed: int, repeats: int, optimizer=None,
                   after_turn=lambda: None) -> tuple[list[float], list[float]]:
    """The seconds of ``repeats`` timed epochs of Keras and of scratch, after a warm-up turn.

    The two sides take turns, one epoch each, Keras first in even turns and scratch first in
    odd ones: a ``model.fit`` call of one epoch, timed by ``epoch_timer``, and one whole
    ``scratch.fit`` call with ``optimizer`` (None: the one the network carries).
    ``after_turn`` runs after each turn (the bench samples the GEMM rate there).
    """
    keras_times, scratch_times = [], []

    def keras_turn():
        timer = epoch_timer()
        model.fit(X, Y, epochs=1, batch_size=batch_size, verbose=0, callbacks=[timer])
        keras_times.extend(timer.seconds)

    def scratch_turn():
        scratch_times.append(_timed(lambda: scratch.fit(net, X, Y, epochs=1, batch_size=batch_size,
                                                         optimizer=optimizer, seed=seed, verbose=0)))

    for turn in range(1 + repeats):  # the first turn warms both sides up
        first, second = (keras_turn, scratch_turn) if turn % 2 == 0 else (scratch_turn, keras_turn)
        first()
        second()
        after_turn()
    return keras_times[1:], scratch_times[1:]


def epoch_timer():
    """A Keras callback that keeps the seconds of each epoch of a ``fit`` call in ``.seconds``,
    from ``on_epoch_begin`` to ``on_epoch_end``: what every epoch of a long ``fit`` costs (its
    data iterator included), without the call's own setup (data adapter, callbacks), which a
    real run pays once."""
    keras = quiet.keras()

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._started)

    return EpochTimer()


def run(networks, batch_sizes, seed: int, repeats: int = 5, progress=print) -> tuple[list[dict], list[float]]:
    """The rows of the table, and every GEMM rate sampled.  Scratch's FLOP/s are judged against
    the fastest GEMM rate of the whole run: its fastest epochs against the machine at its best."""
    rates = [gemm_rate()]
    cases = []
    for network in networks:
        X, Y = make_data(network, seed)
        for batch_size in batch_sizes:
            r = bench_case(network, batch_size, X, Y, seed, repeats)
            rates += r["gemm_flops_samples"]
            cases.append((network, batch_size, len(X), r))
            progress(f"  {network.name} batch {batch_size}: "
                     f"{r['scratch_samples_per_s'] / r['keras_samples_per_s']:.1f}x")
    rate = max(rates)
    rows = []
    for network, batch_size, samples, r in cases:
        ratio = r["scratch_samples_per_s"] / r["keras_samples_per_s"]
        flops = 6 * network.n_params * r["scratch_samples_per_s"]  # the convention
        actual = network.gemm_flops_per_sample * r["scratch_samples_per_s"]
        ratio_target, gemm_target = network.ratio_target(batch_size), network.gemm_target(batch_size)
        met = ((ratio_target is None or ratio >= ratio_target)
               and (gemm_target is None or flops / rate >= gemm_target))
        rows.append(r | {"network": network.name, "params": network.n_params, "samples": samples,
                         "batch_size": batch_size, "ratio": ratio, "scratch_flops": flops,
                         "gemm_fraction": flops / rate, "actual_gemm_flops": actual,
                         "actual_gemm_fraction": actual / rate, "ratio_target": ratio_target,
                         "gemm_target": gemm_target, "met": met})
    return rows, rates


def render(rows: list[dict]) -> str:
    table = Table(["network", "batch", "scratch samples/s", "keras samples/s", "scratch/keras",
                   "scratch GFLOP/s", "of GEMM", "actually", "target", "met"])
    for r in rows:
        target = " & ".join(t for t in (f">= {r['ratio_target']:g}x" if r["ratio_target"] else "",
                                       f">= {r['gemm_target']:.0%} GEMM" if r["gemm_target"] else "") if t)
        table.add(r["network"], r["batch_size"], f"{r['scratch_samples_per_s']:,.0f}",
                  f"{r['keras_samples_per_s']:,.0f}", f"{r['ratio']:.1f}x", f"{r['scratch_flops'] / 1e9:.1f}",
                  f"{r['gemm_fraction']:.0%}", f"{r['actual_gemm_fraction']:.0%}", target or "-",
                  "yes" if r["met"] else "NO")
    return table.render()


def render_steps(rows: list[dict]) -> str:
    """Where a scratch training step goes, phase by phase, beside Keras's whole step."""
    table = Table(["network", "batch", "keras step us", "scratch step us", *scratch.profiling.PHASES,
                   "matmul", "ratio if only matmul"])
    for r in rows:
        keras_step = r["batch_size"] / r["keras_samples_per_s"]
        p = r["scratch_step_s"]
        table.add(r["network"], r["batch_size"], f"{keras_step * 1e6:,.0f}", f"{p['step'] * 1e6:,.0f}",
                  *(f"{p[phase] * 1e6:,.0f}" for phase in scratch.profiling.PHASES),
                  f"{p['matmul'] * 1e6:,.0f} ({p['matmul'] / p['step']:.0%})", f"{keras_step / p['matmul']:.1f}x")
    return table.render()


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, __doc__)
    p.add_argument("--networks", type=list_of("network", convert=parse_network), default=tuple(NETWORKS.values()),
                   metavar="N-N-N,...", help=f"networks to time (default: {', '.join(NETWORKS)})")
    p.add_argument("--batch-sizes", type=list_of("batch size", convert=int, noun="integer"), default=None,
                   help="training batch sizes (default: 32,128,512; with --model, 32,512)")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="timed epochs per side (with --model, also rounds of inference calls); the fastest counts")
    p.add_argument("--model", metavar="PATH", default=None,
                   help="time this saved model (.keras or .h5) and its twin instead: inference against Keras and "
                        "onnxruntime, and training (docs/bench.md)")
    p.add_argument("--inference-batch-sizes", type=list_of("batch size", convert=int, noun="integer"),
                   default=(1, 32, 1024), help="with --model: the batch sizes of the inference table")
    p.add_argument("--samples", type=positive_int, default=8192,
                   help="with --model: rows of the fixed-seed training data, one epoch")
    p.add_argument("--loss", default=None, help="with --model: the loss of a model saved uncompiled")
    p.add_argument("--sweep", action="store_true",
                   help="time the init-mode sweep instead: Keras with one job, Keras with --jobs 2 and the scratch "
                        "engine, 8 modes x --executions x --epochs on breast cancer (docs/sweeps.md)")
    p.add_argument("--executions", type=positive_int, default=5, help="with --sweep: executions per init mode")
    p.add_argument("--epochs", type=positive_int, default=20, help="with --sweep: epochs per execution")
    p.add_argument("--seed", type=count, default=0)
    add_device_arguments(p)
    p.set_defaults(device="cpu")
    add_output_arguments(p)
    return p


@dataclass(frozen=True)
class Config:
    networks: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    repeats: int
    seed: int


def prepare(args, parser):
    """The config of the run, from the flags (``compare.bench_model.prepare`` with ``--model``)."""
    if args.model is not None and args.sweep:
        parser.error("--model and --sweep time different things: give one of them")
    if args.sweep:
        from compare import bench_sweep
        return bench_sweep.Config(True, args.executions, args.epochs, args.seed)
    if args.model is not None:
        from compare import bench_model
        return bench_model.prepare(args, parser)
    batch_sizes = args.batch_sizes or (32, 128, 512)
    for b in batch_sizes:
        for network in args.networks:
            if not 1 <= b <= network.samples:
                parser.error(f"batch size {b} must be from 1 to the {network.samples} samples of {network.name}")
    return Config(tuple(n.name for n in args.networks), tuple(batch_sizes), args.repeats, args.seed)


def execute(config: Config, args, device_name: str) -> Outcome:
    if args.sweep:
        from compare import bench_sweep
        return bench_sweep.execute(config, args, device_name)
    if args.model is not None:
        from compare import bench_model
        return bench_model.execute(config, args, device_name)
    started = time.perf_counter()
    info = versions()
    print(f"{PROG}: float32, Adam, fastest of {config.repeats} epochs after a warm-up epoch; device {device_name}, "
          f"TensorFlow {info['tensorflow']}, Keras {info['keras']}, NumPy {info['numpy']}", flush=True)
    rows, rates = run(args.networks, config.batch_sizes, config.seed, config.repeats,
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
    libraries = blas()
    met = sum(r["met"] for r in rows)
    lines = [f"NumPy float32 GEMM: {max(rates) / 1e9:.1f} GFLOP/s at best, {min(rates) / 1e9:.1f} at worst "
             f"({len(rates)} samples through the run); NumPy's BLAS: "
             + (", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads, {b['architecture']})"
                          for b in libraries) or "unknown"),
             render(rows),
             f"\nWhere a scratch step goes (microseconds per step on one batch, the fastest of {config.repeats} "
             "turns): matmul is the step's matrix products alone, the rest is elementwise passes and per-call cost",
             render_steps(rows),
             f"{met}/{len(rows)} rows meet their targets, in {time.perf_counter() - started:.0f} s"]
    return Outcome(met == len(rows), config, lines,
                   {"gemm_flops": max(rates), "gemm_flops_samples": rates, "blas": libraries, "rows": rows})


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
