"""What every command shares, whichever side it runs: its parser, argument types and tables.

Framework-free on purpose: ``keras_ref.tune`` and the ``compare`` commands both use it.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: 'compare.X: error: ...', exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def list_of(kind: str, valid=None, convert=str, noun="value", repeats: bool = False):
    """An argument type for 'a,b,c' (or 'a b c'), repeats dropped unless ``repeats`` (layer sizes
    repeat: 4,6,6,1); 'all' stands for every valid value."""
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
            except argparse.ArgumentTypeError as e:
                raise argparse.ArgumentTypeError(f"{kind} {e}")
            except ValueError:
                raise argparse.ArgumentTypeError(f"{kind} {t!r} is not an {noun}" if noun[0] in "aeiou"
                                                 else f"{kind} {t!r} is not a {noun}")
            if valid is not None and value not in valid:
                raise argparse.ArgumentTypeError(f"unknown {kind} {t!r}; valid: {', '.join(valid)}")
            if repeats or value not in out:
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


def integer_at_least(minimum: int):
    """An argument type for an integer >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value
    return parse


#: An integer >= 1 (batch sizes, repeats), and one >= 0 (epochs, steps, seeds).
positive_int = integer_at_least(1)
count = integer_at_least(0)


@dataclass
class Table:
    """A plain-text table: header row, then rows, columns padded to their widest cell."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        widths = [max(len(r[i]) for r in [self.columns] + self.rows) for i in range(len(self.columns))]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
        return "\n".join([line(self.columns), line(["-" * w for w in widths])] + [line(r) for r in self.rows])


def chosen_device(args, parser, threads: int | None = None) -> str:
    """The TensorFlow device name for --device (one-line error and exit 2 if TensorFlow lacks it).

    TensorFlow is imported here, once the arguments are known to be good: quietly, unless
    --verbose or --log-placement asks for its log (``keras_ref.quiet``).  ``threads``, when
    given, is TensorFlow's intra- and inter-op thread count, set before it runs anything.
    """
    from keras_ref.quiet import tensorflow
    tf = tensorflow(verbose=args.verbose or args.log_placement)
    if threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from keras_ref.devices import log_placement, resolve_device
    try:
        name = resolve_device(args.device)
    except ValueError as e:
        parser.error(str(e))
    if args.log_placement:
        log_placement(True)
    return name
