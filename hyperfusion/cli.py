"""``python -m hyperfusion``: predict from the command line, or list models and weights.

Exit status 0 on success; 2 with one line on stderr (no traceback) on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from hyperfusion.errors import HyperFusionError, InvalidEHRError

TASK_CHOICES = ("ad", "brain-age", "both")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m hyperfusion",
        description="HyperFusion Studio command line (research and teaching tool, "
        "not a medical device).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("predict", help="predict brain age and CN / MCI / AD")
    p.add_argument("--mri", required=True, type=Path, help="NIfTI file (.nii/.nii.gz)")
    p.add_argument("--ehr", type=Path, help="JSON object of EHR fields")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set one EHR field (repeatable; 'unknown' clears it)",
    )
    p.add_argument("--task", choices=TASK_CHOICES, default="both")
    p.add_argument("--model", default="hyperfusion", help="registry name (see info)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    i = sub.add_parser("info", help="list models, weights and the device")
    i.add_argument("--device", choices=("cpu", "cuda"), default=None)
    i.add_argument("--json", action="store_true")
    return parser


def read_ehr(path: Path | None, assignments: list[str]) -> dict[str, Any]:
    """The EHR record from ``--ehr`` and ``--set`` (later settings win)."""
    from hyperfusion.data.ehr import parse_assignment, validate_ehr

    record: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise InvalidEHRError(f"Cannot read {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise InvalidEHRError(
                f"{path} is not valid JSON ({exc}); accepted: an object such as "
                '{"AGE": 72, "PTGENDER": "Female"}'
            ) from exc
        if not isinstance(data, dict):
            raise InvalidEHRError(
                f"{path} holds a JSON {type(data).__name__}; accepted: an object of "
                "EHR fields"
            )
        record.update(data)
    for text in assignments:
        name, value = parse_assignment(text)
        record[name] = value
    return validate_ehr(record, require=False)


def _predict(args: argparse.Namespace) -> dict[str, Any]:
    from hyperfusion.data.mri import load_mri

    record = read_ehr(args.ehr, args.set)
    image = load_mri(args.mri)  # fails fast, before the models load

    from hyperfusion.engine import BRAIN_AGE, Engine
    from hyperfusion.models.registry import MODEL_NAMES, get_spec

    engine = Engine(device=args.device)
    ad_model = args.model if args.task != BRAIN_AGE else "hyperfusion"
    ba_model = args.model if args.task == BRAIN_AGE else "hyperfusion"
    if args.task == "both" and args.model not in MODEL_NAMES[BRAIN_AGE]:
        ba_model = "hyperfusion"
    get_spec("ad", ad_model) if args.task != BRAIN_AGE else get_spec(
        BRAIN_AGE, ba_model
    )
    prepared = engine.prepare(image)
    result = engine.predict(prepared, record, ad_model, ba_model).to_dict()
    if args.task == "ad":
        for key in ("brain_age", "brain_age_sd", "brain_age_gap"):
            result.pop(key)
        result["models"].pop(BRAIN_AGE)
        result["ensemble_size"].pop(BRAIN_AGE)
    elif args.task == BRAIN_AGE:
        for key in ("diagnosis", "probabilities", "probabilities_sd"):
            result.pop(key)
        result["models"].pop("ad")
        result["ensemble_size"].pop("ad")
    result["task"] = args.task
    result["ehr"] = record
    if not result["trained"]:
        result["warning"] = "UNTRAINED weights: these numbers are meaningless"
    return result


def _format_prediction(result: dict[str, Any]) -> str:
    lines = []
    if not result["trained"]:
        lines.append("WARNING: UNTRAINED weights: these numbers are meaningless.")
    if "brain_age" in result:
        gap = result["brain_age_gap"]
        gap_text = "" if gap is None else f"  (gap {gap:+.1f} years vs entered age)"
        lines.append(
            f"Brain age: {result['brain_age']:.1f} ± {result['brain_age_sd']:.1f} "
            f"years{gap_text}"
        )
    if "probabilities" in result:
        probs = result["probabilities"]
        sds = result["probabilities_sd"]
        parts = [f"{k} {v:.1%} ± {sds[k]:.1%}" for k, v in probs.items()]
        lines.append(f"Diagnosis: {result['diagnosis']}  ({', '.join(parts)})")
    models = ", ".join(f"{t}: {m}" for t, m in result["models"].items())
    lines.append(f"Models: {models}; device: {result['device']}")
    lines += [f"QC warning: {w}" for w in result["qc_warnings"]]
    lines.append("Research and teaching tool, not a medical device.")
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> dict[str, Any]:
    from hyperfusion.engine import Engine
    from hyperfusion.models.checkpoint import WEIGHTS_DIR, find_cards, read_card
    from hyperfusion.models.registry import MODEL_NAMES, REGISTRY

    engine = Engine(device=args.device)
    models = []
    for task, names in MODEL_NAMES.items():
        for name in names:
            cards = [read_card(p) for p in find_cards(WEIGHTS_DIR, task, name)]
            models.append(
                {
                    "task": task,
                    "model": name,
                    "label": REGISTRY[(task, name)].label,
                    "seeds": [c["seed"] for c in cards],
                    "trained": bool(cards),
                    "trained_on": cards[0]["trained_on"].get("description")
                    if cards
                    else "UNTRAINED placeholder (random weights)",
                }
            )
    return {
        "device": engine.device_label,
        "weights_dir": str(WEIGHTS_DIR),
        "models": models,
    }


def _format_info(info: dict[str, Any]) -> str:
    lines = [f"Device: {info['device']}", f"Weights: {info['weights_dir']}"]
    for m in info["models"]:
        seeds = ",".join(map(str, m["seeds"])) or "-"
        state = "trained" if m["trained"] else "UNTRAINED"
        lines.append(f"  {m['task']:<10} {m['model']:<13} {state:<9} seeds {seeds}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "predict":
            result = _predict(args)
            text = _format_prediction(result)
        else:
            result = _info(args)
            text = _format_info(result)
    except HyperFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the input needs more memory than is available", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else text)
    return 0
