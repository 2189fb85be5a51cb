"""``python -m hyperfusion <command>``: the one command line of HyperFusion Studio.

Commands: ``predict``, ``explain`` and ``info`` (the shipped models), ``synth`` (a
synthetic cohort), ``train``, ``evaluate`` and ``bench``. Each lives in its own
module of this package with ``add_arguments(parser)`` and ``run(args) -> int``; this
module builds the parser tree and turns any
:class:`~hyperfusion.errors.HyperFusionError` into one line on stderr and exit
status 2 (no traceback). The module entry points of earlier versions (``python -m
hyperfusion.train`` ...) call :func:`main` with their command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from hyperfusion.errors import HyperFusionError

# Command name -> (module in this package, one-line help). A command's module is
# imported only when that command runs (or for the full --help), so that ``predict``
# does not pay for training code.
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("predict", "predict brain age and CN / MCI / AD"),
    "info": ("info", "list models, weights and the device"),
    "synth": ("synth", "generate a SYNTHETIC cohort (images, EHR, ground truth)"),
    "train": ("train", "train HyperFusion and the baselines on a cohort folder"),
    "evaluate": ("evaluate", "evaluate the shipped weights; write metrics.json"),
    "explain": ("explain", "a map of one output (CN / MCI / AD / brain age) as NIfTI"),
    "bench": ("bench", "measure model latency and memory on this machine"),
}


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def _module(command: str):
    return importlib.import_module(f"hyperfusion.cli.{COMMANDS[command][0]}")


def build_parser(
    command: str | None = None, argv: list[str] | None = None
) -> argparse.ArgumentParser:
    """The parser of every command, or of one command alone (``command``), as
    ``python -m hyperfusion.<command>`` uses it.

    Given the ``argv`` it will parse, only the named command's options are loaded.
    """
    if command is not None:
        parser = OneLineParser(
            prog=f"python -m hyperfusion.{command}", description=COMMANDS[command][1]
        )
        _module(command).add_arguments(parser)
        parser.set_defaults(command=command)
        return parser
    parser = OneLineParser(
        prog="python -m hyperfusion",
        description="HyperFusion Studio command line (research and teaching tool, "
        "not a medical device).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=OneLineParser
    )
    named = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if named in (None, name):
            _module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None, command: str | None = None) -> int:
    """Run a command line; returns the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        command: run this command with ``argv`` as its arguments (the module entry
            points); by default the command is ``argv``'s first word.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command, argv).parse_args(argv)
    try:
        return _module(args.command).run(args)
    except HyperFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the input needs more memory than is available", file=sys.stderr)
        return 2
