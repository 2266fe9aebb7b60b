"""The renderings of a comparison (``compare.core``): weight names, failure lines, the table and the JSON report."""
from __future__ import annotations

import json
import platform
import sys

import numpy as np

from keras_ref.cli import Table  # noqa: F401  (re-exported)


def weight_names(n_layers: int, prefix: str = "") -> list[str]:
    """``[W1, b1, W2, b2, ...]`` with ``prefix`` (``d`` for gradients), in get_weights() order."""
    return [f"{prefix}{p}{layer}" for layer in range(1, n_layers + 1) for p in ("W", "b")]


def describe_failure(key: str, e: dict, sides: str) -> str:
    return (f"{key}: max abs {e['max_abs']:.3g}, max rel {e['max_rel']:.3g}, "
            f"rel diff {e['rel_diff']:.3g} ({sides})")


def versions() -> dict[str, str]:
    """The versions a report depends on."""
    import keras
    import tensorflow as tf
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
    }


def json_report(command: str, passed: bool, config, elapsed: float, device_name: str, **results) -> dict:
    """The JSON every command writes: its verdict, config, seed, device, versions, time and results."""
    def plain(v):
        return sorted(v) if isinstance(v, frozenset) else list(v) if isinstance(v, tuple) else v
    return {"command": command, "passed": passed, "config": {k: plain(v) for k, v in vars(config).items()},
            "seed": config.seed, "device": device_name, "versions": versions(), "elapsed_s": elapsed, **results}


def write_json(path: str, report: dict) -> None:
    """The report as JSON, without the keys that start with "_" (arrays kept for the HTML page)."""
    def public(v):
        if isinstance(v, dict):
            return {k: public(x) for k, x in v.items() if not str(k).startswith("_")}
        if isinstance(v, list):
            return [public(x) for x in v]
        return v
    with open(path, "w") as f:
        json.dump(public(report), f, indent=2)
        f.write("\n")


def die(prog: str, message: str) -> int:
    """A one-line error on stderr, exit code 2 (bad input), as argparse does."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2
