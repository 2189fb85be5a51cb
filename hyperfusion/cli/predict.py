"""``python -m hyperfusion predict``: brain age and CN / MCI / AD for one MRI + EHR.

The MRI may be a NIfTI, a DICOM folder, a zip of DICOM files or a ``.dcm`` file;
``--preprocess`` brings it into the image contract first (``auto``: only the steps
the checks say are needed; ``full``: every step; ``none``: as it is), and the JSON
says which steps ran, why, and their QC figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hyperfusion.errors import InvalidEHRError
from hyperfusion.tasks import TASK_NAMES

BOTH = "both"


def add_scan_arguments(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The scan and the EHR it is read with: ``--mri``, ``--preprocess``,
    ``--bias-correction``, ``--ehr``, ``--set`` (shared by ``predict`` and
    ``explain``)."""
    p.add_argument(
        "--mri",
        required=required,
        type=Path,
        help="NIfTI file (.nii/.nii.gz), DICOM folder, zip of DICOM files or .dcm",
    )
    p.add_argument(
        "--preprocess",
        choices=("auto", "none", "full"),
        default="auto",
        help="brain extraction and registration to MNI152: auto (only what the"
        " checks say is needed), full (always) or none (default: auto)",
    )
    p.add_argument(
        "--bias-correction", action="store_true", help="also run N4 (slower)"
    )
    p.add_argument("--ehr", type=Path, help="JSON object of EHR fields")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set one EHR field (repeatable; 'unknown' clears it)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    add_scan_arguments(p)
    p.add_argument("--task", choices=(*TASK_NAMES, BOTH), default=BOTH)
    p.add_argument("--model", default="hyperfusion", help="registry name (see info)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _refuse_constant(name: str) -> None:
    """``json.loads`` reads NaN and Infinity, which JSON does not have."""
    raise ValueError(f"{name} is not a JSON value; null means unknown")


def read_ehr(path: Path | None, assignments: list[str]) -> dict[str, Any]:
    """The EHR record from ``--ehr`` and ``--set`` (later settings win), validated."""
    from hyperfusion.data.ehr_parsing import parse_assignment, validate_ehr

    record: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text(), parse_constant=_refuse_constant)
        except OSError as exc:
            raise InvalidEHRError(
                f"Cannot read {path}: {exc.strerror}; accepted: a JSON file of EHR"
                " fields"
            ) from exc
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


def choose_models(task: str, model: str) -> dict[str, str]:
    """The model of each task: ``model`` for the chosen task (checked), and for the
    other task of ``both`` too where it is registered, else HyperFusion."""
    from hyperfusion.models.registry import MODEL_NAMES, get_spec

    chosen = TASK_NAMES if task == BOTH else (task,)
    get_spec(chosen[0], model)  # an unknown name fails here, with a hint
    return {
        t: model if t in chosen and model in MODEL_NAMES[t] else "hyperfusion"
        for t in TASK_NAMES
    }


def predict(args: argparse.Namespace) -> dict[str, Any]:
    """The prediction as a JSON-ready dict."""
    from hyperfusion.data.preprocess import preprocess_scan

    record = read_ehr(args.ehr, args.set)
    pre = preprocess_scan(  # fails fast, before the models load
        args.mri,
        args.preprocess,
        bias_correction=args.bias_correction,
        device=args.device,
    )

    from hyperfusion.engine import Engine
    from hyperfusion.tasks import AD, BRAIN_AGE

    models = choose_models(args.task, args.model)
    engine = Engine(device=args.device)
    prepared = engine.prepare(pre)
    prediction = engine.predict(
        prepared, record, models[AD.name], models[BRAIN_AGE.name]
    )
    result = prediction.to_dict(TASK_NAMES if args.task == BOTH else (args.task,))
    result["task"] = args.task
    result["ehr"] = record
    result["preprocessing"] = pre.report.to_dict()
    result["qc_warnings"] = [*result["qc_warnings"], *pre.report.warnings]
    if not result["trained"]:
        result["warning"] = "UNTRAINED weights: these numbers are meaningless"
    return result


def format_prediction(result: dict[str, Any]) -> str:
    """The prediction as lines of text."""
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
    lines += format_preprocessing(result["preprocessing"])
    lines += [f"QC warning: {w}" for w in result["qc_warnings"]]
    lines.append("Research and teaching tool, not a medical device.")
    return "\n".join(lines)


def format_preprocessing(report: dict[str, Any]) -> list[str]:
    """The preprocessing steps as lines of text (mode, then one line per step)."""
    lines = [f"Preprocessing ({report['mode']}, {report['seconds']:.1f} s):"]
    for step in report["steps"]:
        lines.append(
            f"  {step['title']}: {step['status']} ({step['seconds']:.1f} s):"
            f" {step['reason']}"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    """Predict and print (text or ``--json``)."""
    result = predict(args)
    print(json.dumps(result, indent=2) if args.json else format_prediction(result))
    return 0
