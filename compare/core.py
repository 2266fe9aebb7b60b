"""The harness core: every command's comparison and every command's run go through here.

A comparison is named quantities in data-flow order (``output, loss, dW1, ...``, or
``Z1, A1, ..., loss, dA2, dZ2, dW2, ...``), Keras's the reference and the other side the
candidate:

    judge each quantity            judge(reference, candidate, tol, magnitude)
      -> rows, with the verdict    compare_named(...)  or  Drift (after every training step)
      -> the first divergence      first_divergence(rows), with its kind (compare.diagnosis.classify)
      -> a table, JSON and HTML    compare.report, compare.html

A command is ``run_command(PROG, build_parser, argv, execute, prepare)``: it parses the flags,
refuses bad input in one line with exit 2 (before anything is written or TensorFlow is
imported where it can be), places Keras on the chosen device, runs, prints, writes
``--json`` and ``--html``, and exits 0 when everything agrees and 1 when anything does not.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from scratch.tolerances import gradients as gradient_tolerance

#: A row that could not be judged (shapes differ, a quantity missing): every error infinite.
UNJUDGED = {"max_abs": float("inf"), "max_rel": float("inf"), "rel_diff": float("inf")}


def errors(a, b) -> dict[str, float]:
    """Max absolute error, max relative error and the lecture's ||a - b|| / (||a|| + ||b||).

    An element's relative error is |a - b| / max(|a|, |b|), 0 where both are 0; the relative
    difference is 0 where both norms are 0 (an all-zero gradient on both sides agrees).  A NaN
    or inf on either side makes every error infinite, unless both sides hold the very same
    values (NaN where the other has NaN): a norm of NaN would otherwise read as 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        same = a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        return dict.fromkeys(("max_abs", "max_rel", "rel_diff"), 0.0 if same else float("inf"))
    diff = np.abs(a - b)
    scale = np.maximum(np.abs(a), np.abs(b))
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    norms = np.linalg.norm(a) + np.linalg.norm(b)
    return {
        "max_abs": float(diff.max(initial=0.0)),
        "max_rel": float(rel.max(initial=0.0)),
        "rel_diff": float(np.linalg.norm(a - b) / norms) if norms > 0 else 0.0,
    }


def judge(reference, candidate, tol: float, magnitude=None, measure: str = "rel_diff") -> dict:
    """One quantity's verdict: its ``errors``, its ``tolerance`` and ``passed = rel_diff <= tolerance``.

    ``magnitude``: the quantity's terms' magnitudes, where it is a sum whose terms can cancel
    (a gradient); the tolerance is then raised by ``scratch.tolerances.gradients``.
    ``measure="max_rel"`` judges every element by its own relative error instead, for a vector
    whose entries span orders of magnitude (a deep network's per-layer stds), where the
    norm-wise relative difference would hide the small ones.  Other shapes fail with
    infinite errors; NaN anywhere fails (NaN <= tol is false).
    """
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    if a.shape != b.shape:
        return {**UNJUDGED, "tolerance": tol, "passed": False}
    e = errors(a, b)
    t = gradient_tolerance(tol, a, b, magnitude) if magnitude is not None else tol
    return {**e, "tolerance": t, "passed": bool(e[measure] <= t)}


def compare_named(reference: dict, candidate: dict, tol: float | dict[str, float],
                  magnitudes: dict | None = None, measure: str = "rel_diff") -> dict[str, dict]:
    """Every quantity of ``reference``, in its order, judged against ``candidate``'s (``judge``).

    ``tol`` is one tolerance for every quantity, or one per quantity; ``magnitudes`` raises a
    gradient's where its terms cancel (from ``Network.gradient_magnitudes``).
    """
    magnitudes = magnitudes or {}
    return {k: judge(reference[k], candidate[k], tol[k] if isinstance(tol, dict) else tol, magnitudes.get(k), measure)
            for k in reference}


def failures(named: dict[str, dict]) -> list[str]:
    """The quantities that failed, in data-flow order."""
    return [key for key, e in named.items() if not e["passed"]]


#: In float32, a difference no larger than NOISE_FACTOR x float32's own rounding of the same run
#: (scratch float32 vs scratch float64, step by step) is rounding, whatever its relative size.
NOISE_FACTOR = 10.0

#: What a first divergence says, and the JSON's keys for it.
DIVERGENCE_KEYS = ("layer", "quantity", "pass", "function", "equation", "kind", "factor", "hint")


def first_divergence(rows) -> dict | None:
    """The first row that failed, in data-flow order, as ``{layer, quantity, pass, function,
    equation, kind, factor, hint}``; None when every row agrees.  Everything upstream agrees."""
    for row in rows:
        if not row["passed"]:
            return {k: row.get(k) for k in DIVERGENCE_KEYS}
    return None


class Drift:
    """Worst errors per quantity over a run, and the first step any of them passed tolerance.

    A quantity is judged by its drift, ||a - b|| / max over the run so far of (||a|| + ||b||):
    the lecture's relative difference, but against the largest the quantity has been, since
    the rounding of earlier steps stays in the weights when they later pass near zero (Adam
    on a batch of one swings an output layer through zero).  For a quantity that only grows
    it is the relative difference itself.  It agrees when the drift is <= tol(k) after k
    steps, or, where a float64 twin of the run gives float32's own rounding ``noise`` for it
    (the largest float32-vs-float64 difference so far), when ||a - b|| <= NOISE_FACTOR * noise.
    """

    def __init__(self, tol: Callable[[int], float]):
        self.tol = tol  # the tolerance after k steps: tol(k)
        self.worst: dict[str, dict] = {}
        self.scale: dict[str, float] = {}
        self.first_step: int | None = None
        self.first_keys: list[str] = []

    def update(self, step: int, reference: dict, candidate: dict, noise: dict | None = None) -> None:
        late = []
        for key in reference:
            a, b = np.asarray(reference[key], float), np.asarray(candidate[key], float)
            e = errors(a, b)
            e["abs_diff"] = float(np.linalg.norm(a - b))
            self.scale[key] = max(self.scale.get(key, 0.0), float(np.linalg.norm(a) + np.linalg.norm(b)))
            e["drift"] = e["abs_diff"] / self.scale[key] if self.scale[key] > 0 else 0.0
            if noise is not None:
                e["float32_noise"] = noise[key]
            if key not in self.worst or e["drift"] > self.worst[key]["drift"]:
                self.worst[key] = e | {"step": step}
            within_noise = noise is not None and e["abs_diff"] <= NOISE_FACTOR * noise[key]
            if not e["drift"] <= self.tol(step) and not within_noise:
                late.append(key)
        if late and self.first_step is None:
            self.first_step, self.first_keys = step, late

    def report(self) -> dict:
        return {"worst": self.worst, "first_drift_step": self.first_step, "first_drift_keys": self.first_keys,
                "passed": self.first_step is None}


# --- running a command ----------------------------------------------------------------------------

class BadInput(ValueError):
    """A user's flag, file or data that a command cannot take: one line and exit 2.  Raised by
    ``prepare``, or inside ``as_bad_input()`` while a command loads what it was given; any
    other error of a run is a failure to see, with its traceback."""


@contextlib.contextmanager
def as_bad_input():
    """``with as_bad_input():`` a ValueError raised in the block (loading a model file, reading
    data, checking a flag against what was loaded) is the user's input: ``BadInput``."""
    try:
        yield
    except BadInput:
        raise
    except ValueError as e:
        raise BadInput(str(e)) from e


@dataclass
class Outcome:
    """What a command's run gives the runner: its verdict, what it prints, and its reports.

    ``results`` are the JSON's keys beside the ones every report has (``compare.report.json_report``);
    ``html`` writes the page to the path it is given.  The exit code is 0 when ``passed``, else 1.
    """
    passed: bool
    config: object
    lines: list[str] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    html: Callable[[str], None] | None = None


def run_command(prog: str, build_parser, argv, execute, prepare=None) -> int:
    """Run one ``python -m compare.X``: parse ``argv``, then

    1. refuse bad input: argparse's own errors, an existing ``--json``/``--html`` without
       ``--overwrite``, then ``prepare(args, parser)`` (which may call ``parser.error`` or
       raise ``ValueError``), all before TensorFlow is imported: one line, exit 2;
    2. import TensorFlow and pick ``--device`` where the command has the flag (exit 2 if
       TensorFlow lacks it), else import TensorFlow quietly;
    3. ``execute(prepared, args, device_name)`` under that device; a ``BadInput`` from it (what it
       raises inside ``as_bad_input()`` while it loads what it was given) is one line, exit 2,
       nothing written; any other exception is a bug to see, with its traceback;
    4. print its lines, write ``--json`` and ``--html``, exit 0 when it agrees, else 1.
    """
    from compare.cli import check_output, chosen_device
    from compare.report import die, json_report, write_json
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    check_output(args, parser)
    try:
        prepared = prepare(args, parser) if prepare is not None else args
    except ValueError as e:
        return die(prog, str(e))
    if hasattr(args, "device"):
        device_name = chosen_device(args, parser)
    else:
        from keras_ref.quiet import tensorflow
        tensorflow(verbose=getattr(args, "verbose", False))
        device_name = "/device:CPU:0"
    from keras_ref.devices import placed
    try:
        with placed(device_name):
            outcome = execute(prepared, args, device_name)
    except BadInput as e:
        return die(prog, str(e))
    elapsed = time.perf_counter() - started
    for line in outcome.lines:
        print(line)
    sys.stdout.flush()
    if getattr(args, "json", None):
        write_json(args.json, json_report(prog, outcome.passed, outcome.config, elapsed, device_name,
                                          **outcome.results))
    if getattr(args, "html", None) and outcome.html is not None:
        outcome.html(args.html)
    return 0 if outcome.passed else 1
