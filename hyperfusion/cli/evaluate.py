"""TEMPORARY: forwards to the module's own parser until it is mounted here."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    from hyperfusion.evaluate import main

    return main(args.rest)
