"""What every ``python -m compare.X`` command shares: its parser, argument types and flags."""
from __future__ import annotations

import argparse
import os

from keras_ref.cli import Parser, chosen_device, count, list_of, positive_float, positive_int  # noqa: F401  (re-exported)
from scratch.keras_compat import QUIRKS


def add_device_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto",
                   help="where TensorFlow runs Keras: auto (the first GPU, else the CPU), cpu, gpu, cpu:N, gpu:N")
    p.add_argument("--log-placement", action="store_true",
                   help="turn on TensorFlow's device placement log (and show its start-up log)")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up and C++ log lines")


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


def command_parser(prog: str, doc: str) -> Parser:
    """A command's parser: its name, its docstring's first paragraph, and every flag's default in --help."""
    return Parser(prog=prog, description=doc.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def add_output_arguments(p: argparse.ArgumentParser, detail: str | None = None, html: str | None = None) -> None:
    """--json and --overwrite; --detail and --html where the command says what they show."""
    if detail:
        p.add_argument("--detail", action="store_true", help=detail)
    if html:
        p.add_argument("--html", metavar="PATH", default=None,
                       help=f"write one self-contained HTML page: {html} (an existing file is kept unless --overwrite)")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json or --html file")


def check_new_file(path: str, flag: str, overwrite: bool, parser) -> None:
    """A file a command will write: its folder must be writable, and an earlier one is kept unless asked."""
    if os.path.isdir(path):
        parser.error(f"{flag} {path} is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        parser.error(f"{flag} {path}: folder {folder} does not exist or cannot be written")
    if os.path.exists(path) and not overwrite:
        parser.error(f"{path} exists; pass --overwrite to replace it")


def check_output(args, parser) -> None:
    """Refuse to replace an earlier report (--json, and --html where the command has it) unless asked."""
    if args.json:
        check_new_file(args.json, "--json", args.overwrite, parser)
    if getattr(args, "html", None):
        check_new_file(args.html, "--html", args.overwrite, parser)


def describe_quirks(reproduced: frozenset) -> str:
    if reproduced == frozenset(QUIRKS):
        return "keras_compat on"
    if not reproduced:
        return "keras_compat off"
    return "keras_compat without " + ",".join(q for q in QUIRKS if q not in reproduced)
