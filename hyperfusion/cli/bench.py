"""``python -m hyperfusion bench``: latency and memory of the shipped models here and,
with ``--browser``, of the app in Chromium."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from hyperfusion.errors import HyperFusionError


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _session_counts(text: str) -> tuple[int, ...]:
    """``"8,30"`` -> ``(8, 30)``; ``"0"`` or ``""``: no loaded run."""
    try:
        counts = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        counts = (-1,)
    if any(n < 0 for n in counts):
        raise argparse.ArgumentTypeError(
            f"must be session counts separated by commas (8,30), got {text!r}"
        )
    return tuple(n for n in counts if n > 0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument(
        "--readme",
        action="store_true",
        help="rewrite README.md's performance block from this run (needs --json: "
        "the README links the file)",
    )
    p.add_argument("--repeats", type=_positive, default=20, help="timed runs (20)")
    p.add_argument("--sweep-size", type=_positive, default=64, help="values (64)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    web = p.add_argument_group(
        "browser run",
        "the app served by `streamlit run app.py` and driven in /usr/bin/chromium",
    )
    runs = web.add_mutually_exclusive_group()
    runs.add_argument("--browser", action="store_true", help="add the browser run")
    runs.add_argument(
        "--browser-only", action="store_true", help="the browser run alone"
    )
    web.add_argument("--edits", type=_positive, default=20, help="timed edits (20)")
    web.add_argument(
        "--sessions", type=_positive, default=6, help="concurrent sessions (6)"
    )
    web.add_argument(
        "--page-rounds", type=_positive, default=3, help="visits of each page (3)"
    )
    web.add_argument(
        "--cold-starts", type=_positive, default=3, help="fresh servers (3)"
    )
    web.add_argument(
        "--scrub-drags", type=_positive, default=5, help="slider drags (5)"
    )
    web.add_argument(
        "--load-sessions",
        type=_session_counts,
        default=(8, 30),
        help="loaded runs: sessions at once on one server, each count a run "
        "(8,30; 0: none)",
    )
    web.add_argument(
        "--load-edits", type=_positive, default=5, help="edits per loaded session (5)"
    )
    web.add_argument("--chromium", default="/usr/bin/chromium", help="the browser")


def _finite(value: Any) -> Any:
    """NaN and infinities as JSON ``null`` (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    """Run every stage, print the table and write ``--json``."""
    from hyperfusion.bench import BenchConfig, format_table
    from hyperfusion.bench import run as run_bench

    browser = None
    if args.browser or args.browser_only:
        from hyperfusion.bench_browser import BrowserConfig

        browser = BrowserConfig(
            edits=args.edits,
            sessions=args.sessions,
            page_rounds=args.page_rounds,
            cold_starts=args.cold_starts,
            scrub_drags=args.scrub_drags,
            chromium=args.chromium,
            load_sessions=args.load_sessions,
            load_edits=args.load_edits,
        )
    if args.readme and args.json is None:
        raise HyperFusionError("--readme needs --json FILE (the README links it)")
    config = BenchConfig(args.repeats, args.sweep_size, args.device)
    result = run_bench(config, browser=browser, engine=not args.browser_only)
    print(format_table(result))
    if args.json is not None:
        report = _finite(result.to_json())
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
        if args.readme:
            from hyperfusion.bench_report import README_FILE, update_readme

            update_readme(report, args.json.as_posix(), README_FILE)
    return 0
