"""What every ``python -m compare.X`` command shares: its parser, argument types and flags."""
from __future__ import annotations

import argparse
import os

import numpy as np

from scratch.keras_compat import QUIRKS


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: 'compare.X: error: ...', exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def list_of(kind: str, valid=None, convert=str, noun="value"):
    """An argument type for 'a,b,c' (or 'a b c'), repeats dropped; 'all' stands for every valid value."""
    def parse(text: str):
        items = [t for t in text.replace(",", " ").split() if t]
        if not items:
            raise argparse.ArgumentTypeError(f"empty {kind} list")
        if valid is not None and items == ["all"]:
            return tuple(valid)
        out = []
        for t in items:
            try:
                value = convert(t)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{kind} {t!r} is not an {noun}" if noun[0] in "aeiou"
                                                 else f"{kind} {t!r} is not a {noun}")
            if valid is not None and value not in valid:
                raise argparse.ArgumentTypeError(f"unknown {kind} {t!r}; valid: {', '.join(valid)}")
            if value not in out:
                out.append(value)
        return tuple(out)
    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def count(text: str) -> int:
    """An integer >= 0 (epochs, steps, seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def add_device_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto",
                   help="where TensorFlow runs Keras: auto (the first GPU, else the CPU), cpu, gpu, cpu:N, gpu:N")
    p.add_argument("--log-placement", action="store_true", help="turn on TensorFlow's device placement log")


def chosen_device(args, parser) -> str:
    """The TensorFlow device name for --device (one-line error and exit 2 if TensorFlow lacks it)."""
    from keras_ref.devices import log_placement, resolve_device
    try:
        name = resolve_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    if args.log_placement:
        log_placement(True)
    return name


def add_compat_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-keras-compat", dest="keras_compat", action="store_false",
                   help="scratch reproduces none of Keras's quirks (scratch/keras_compat.py), "
                        "to measure what they cost")
    p.add_argument("--drop-quirk", dest="dropped_quirks", action="append", default=[], choices=QUIRKS,
                   metavar="NAME", help=f"leave out one quirk (repeatable): {', '.join(QUIRKS)}")


def config_from(args, config_class, **overrides):
    """The command's Config dataclass from its parsed arguments (what it does not know is left out)."""
    fields = {k: v for k, v in vars(args).items() if k in config_class.__dataclass_fields__}
    return fields | {"keras_compat": quirks(args)} | overrides


def quirks(args) -> frozenset:
    """The quirks the scratch side reproduces, from --no-keras-compat and --drop-quirk."""
    return frozenset(QUIRKS) - set(args.dropped_quirks) if args.keras_compat else frozenset()


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")


def check_output(args, parser) -> None:
    """Refuse to replace an earlier report unless asked."""
    if not args.json:
        return
    if os.path.isdir(args.json):
        parser.error(f"--json {args.json} is a directory")
    folder = os.path.dirname(os.path.abspath(args.json))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        parser.error(f"--json {args.json}: folder {folder} does not exist or cannot be written")
    if os.path.exists(args.json) and not args.overwrite:
        parser.error(f"{args.json} exists; pass --overwrite to replace it")


def describe_quirks(reproduced: frozenset) -> str:
    if reproduced == frozenset(QUIRKS):
        return "keras_compat on"
    if not reproduced:
        return "keras_compat off"
    return "keras_compat without " + ",".join(q for q in QUIRKS if q not in reproduced)
