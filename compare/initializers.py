"""python -m compare.initializers: do the scratch initializers draw what Keras's draw?

For each of the eight init modes and several kernel shapes (square, wide, tall, and a 1 x n
edge), both sides draw kernels; the two samples are compared with a two-sample
Kolmogorov-Smirnov test, each side's mean and standard deviation are checked against the
closed-form values (within five standard errors), and their extremes against the uniform
bounds and the truncation at two standard deviations.  A second table shows what the
lecture's Table 11-1 initializers keep of the signal.  Exit 0 when every check passes, 1
when any fails, 2 on bad input.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

import compare  # starts the clock
import keras_ref
from compare.cli import command_parser, add_output_arguments, count, list_of, positive_float, positive_int
from compare.core import Outcome, run_command
from compare.report import Table
from scratch import activations
from scratch.initializers import INITIALIZERS, TABLE_11_1, TABLE_11_1_GAINS, TRUNCATED_NORMAL_STD, fans

PROG = "compare.initializers"
SHAPES = {"square": (64, 64), "wide": (16, 256), "tall": (256, 16), "edge": (1, 256)}


def expected(init_mode: str, shape) -> dict:
    """The closed form: distribution kind, standard deviation and bound of the draws."""
    fan_in, fan_out = fans(shape)
    if init_mode == "zero":
        return {"kind": "constant", "std": 0.0, "bound": 0.0}
    if init_mode == "uniform":
        return {"kind": "uniform", "std": 0.05 / math.sqrt(3), "bound": 0.05}
    if init_mode == "normal":
        return {"kind": "normal", "std": 0.05, "bound": None}
    scale, mode = {"lecun_uniform": (1, "fan_in"), "glorot_normal": (1, "fan_avg"), "glorot_uniform": (1, "fan_avg"),
                   "he_normal": (2, "fan_in"), "he_uniform": (2, "fan_in")}[init_mode]
    s = scale / max(1.0, {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode])
    if init_mode.endswith("uniform"):
        return {"kind": "uniform", "std": math.sqrt(s), "bound": math.sqrt(3 * s)}
    return {"kind": "truncated_normal", "std": math.sqrt(s), "bound": 2 * math.sqrt(s) / TRUNCATED_NORMAL_STD}


#: Kurtosis of each kind (4th moment / variance^2): the standard error of a sample's
#: standard deviation is std sqrt((kurtosis - 1) / (4 n)).
def _kurtosis(kind: str) -> float:
    if kind == "uniform":
        return 9 / 5
    if kind == "normal":
        return 3.0
    from scipy import stats
    return float(stats.truncnorm(-2, 2).stats(moments="k")) + 3.0


def side_checks(sample: np.ndarray, exp: dict) -> dict:
    """Mean, std, min and max of one side's draws, each against the closed form."""
    n = sample.size
    out = {"mean": float(sample.mean()), "std": float(sample.std()), "min": float(sample.min()),
           "max": float(sample.max())}
    if exp["kind"] == "constant":
        out["passed"] = bool(not sample.any())
        return out
    se_mean = exp["std"] / math.sqrt(n)
    se_std = exp["std"] * math.sqrt((_kurtosis(exp["kind"]) - 1) / (4 * n))
    out["mean_ok"] = abs(out["mean"]) <= 5 * se_mean
    out["std_ok"] = abs(out["std"] - exp["std"]) <= 5 * se_std
    out["bounds_ok"] = exp["bound"] is None or (out["max"] <= exp["bound"] and out["min"] >= -exp["bound"])
    out["passed"] = bool(out["mean_ok"] and out["std_ok"] and out["bounds_ok"])
    return out


def run_case(init_mode: str, shape_name: str, draws: int, seed: int, alpha: float) -> dict:
    """``draws`` kernels from each side, pooled, then compared."""
    from scipy import stats
    shape = SHAPES[shape_name]
    exp = expected(init_mode, shape)
    base = seed + 1000 * list(SHAPES).index(shape_name)  # fresh draws for every shape, not a rescaled sample
    ours = np.concatenate([INITIALIZERS[init_mode](shape, np.random.default_rng(base + k), "float64").ravel()
                           for k in range(draws)])
    theirs = np.concatenate([np.asarray(keras_ref.kernel_initializer(init_mode, base + k)(shape, dtype="float64")).ravel()
                             for k in range(draws)])
    result = {"init_mode": init_mode, "shape": shape_name, "dims": list(shape), "n": int(ours.size),
              "expected": exp, "scratch": side_checks(ours, exp), "keras": side_checks(theirs, exp)}
    if exp["kind"] == "constant":
        result["ks_pvalue"] = 1.0 if not ours.any() and not theirs.any() else 0.0
    else:
        result["ks_pvalue"] = float(stats.ks_2samp(ours, theirs).pvalue)
    result["passed"] = bool(result["ks_pvalue"] >= alpha and result["scratch"]["passed"] and result["keras"]["passed"])
    return result


def signal_kept(name: str, gain: float | None = None, n: int = 256, examples: int = 4000, seed: int = 0) -> float:
    """E[(g(X W) - g(0))^2] / E[X^2] for small inputs X (std 0.05), one n x n layer drawn by ``name``.

    Glorot's argument keeps it at 1 near 0; ``gain`` overrides the initializer's own gain
    (to show the table as printed).
    """
    act = name.split("_")[1]
    g = activations.get({"logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}[act])
    rng = np.random.default_rng(seed)
    W = TABLE_11_1[name]((n, n), rng, "float64")
    if gain is not None:
        W *= gain / TABLE_11_1_GAINS[act]
    X = rng.standard_normal((examples, n)) * 0.05
    out = g.forward(X @ W) - g.forward(np.zeros((1, 1)))
    return float(np.mean(out ** 2) / np.mean(X ** 2))


#: The gains the lecture's Table 11-1 prints: 4 on the hyperbolic tangent, 1 on the logistic.
PRINTED_GAINS = {"logistic": 1.0, "tanh": 4.0, "relu": math.sqrt(2.0)}


def table_11_1() -> list[dict]:
    rows = []
    for name in TABLE_11_1:
        act = name.split("_")[1]
        kept = signal_kept(name)
        printed = signal_kept(name, gain=PRINTED_GAINS[act])
        rows.append({"name": name, "activation": act, "gain": TABLE_11_1_GAINS[act], "signal_kept": kept,
                     "printed_gain": PRINTED_GAINS[act], "signal_kept_as_printed": printed,
                     "passed": abs(kept - 1) < 0.1})
    return rows


def render(results: list[dict]) -> str:
    table = Table(["init_mode", "shape", "n", "expected std", "scratch std", "keras std", "bound",
                   "scratch min/max", "keras min/max", "KS p", "verdict"])
    for r in results:
        e, s, k = r["expected"], r["scratch"], r["keras"]
        table.add(r["init_mode"], f"{r['shape']} {r['dims'][0]}x{r['dims'][1]}", r["n"], f"{e['std']:.4g}",
                  f"{s['std']:.4g}", f"{k['std']:.4g}", "-" if e["bound"] is None else f"{e['bound']:.4g}",
                  f"{s['min']:.3g}/{s['max']:.3g}", f"{k['min']:.3g}/{k['max']:.3g}", f"{r['ks_pvalue']:.2f}",
                  "ok" if r["passed"] else "FAIL")
    return table.render()


def render_table_11_1(rows: list[dict]) -> str:
    table = Table(["Table 11-1 initializer", "gain", "signal kept", "printed table's gain", "signal kept as printed",
                   "verdict"])
    for r in rows:
        table.add(r["name"], f"{r['gain']:.3g}", f"{r['signal_kept']:.3f}", f"{r['printed_gain']:.3g}",
                  f"{r['signal_kept_as_printed']:.3f}", "ok" if r["passed"] else "FAIL")
    return table.render()


@dataclass(frozen=True)
class Config:
    init_modes: tuple[str, ...]
    shapes: tuple[str, ...]
    draws: int
    alpha: float
    seed: int


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, __doc__)
    p.add_argument("--init-modes", type=list_of("init mode", keras_ref.INIT_MODES), default=keras_ref.INIT_MODES)
    p.add_argument("--shapes", type=list_of("shape", tuple(SHAPES)), default=tuple(SHAPES),
                   help=f"kernel shapes: {', '.join(f'{k} {v[0]}x{v[1]}' for k, v in SHAPES.items())}")
    p.add_argument("--draws", type=positive_int, default=4, help="kernels drawn per side and shape, pooled")
    p.add_argument("--alpha", type=positive_float, default=1e-3,
                   help="the Kolmogorov-Smirnov p-value below which the two samples differ")
    p.add_argument("--seed", type=count, default=0)
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up and C++ log lines")
    add_output_arguments(p)
    return p


def prepare(args, parser) -> Config:
    if args.alpha >= 1:
        parser.error(f"--alpha must be below 1, got {args.alpha}")
    return Config(args.init_modes, args.shapes, args.draws, args.alpha, args.seed)


def execute(config: Config, args, device_name: str) -> Outcome:
    started = time.perf_counter()
    results = [run_case(m, s, config.draws, config.seed, config.alpha) for m in config.init_modes
               for s in config.shapes]
    rows = table_11_1()
    lines = [f"{PROG}: scratch vs Keras draws, {config.draws} kernels per side and shape, KS alpha "
             f"{config.alpha:g}, seed {config.seed}", render(results), "", render_table_11_1(rows)]
    cases = results + rows
    passed = sum(r["passed"] for r in cases)
    for r in results:
        if not r["passed"]:
            lines.append(f"FAIL {r['init_mode']}/{r['shape']}: KS p {r['ks_pvalue']:.2g}; scratch "
                         f"{ {k: v for k, v in r['scratch'].items() if k.endswith('ok')} }, keras "
                         f"{ {k: v for k, v in r['keras'].items() if k.endswith('ok')} }")
    lines.append(f"{passed}/{len(cases)} checks pass in {time.perf_counter() - started:.1f} s")
    return Outcome(passed == len(cases), config, lines, {"cases": results, "table_11_1": rows})


def main(argv=None) -> int:
    return run_command(PROG, build_parser, argv, execute, prepare)


if __name__ == "__main__":
    sys.exit(main())
