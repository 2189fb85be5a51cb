"""How the tasks' outputs are named and read on screen, asked of the task objects:
a class reads as itself and as a probability, a regression output by its task's
title and in its task's unit."""

from __future__ import annotations

from typing import Any

from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS
from hyperfusion.tasks import TASKS, Task, task_of_target

TARGETS: tuple[str, ...] = tuple(t for task in TASKS.values() for t in task.targets)


def target_label(target: str) -> str:
    """What a user reads for an output: ``"AD"``, or ``"Brain age"``."""
    task = task_of_target(target)
    return target if target in task.classes else task.short_title


def output_name(target: str) -> str:
    """The quantity an explanation of ``target`` explains: ``"P(AD)"`` or
    ``"brain age"``."""
    task = task_of_target(target)
    return f"P({target})" if target in task.classes else task.short_title.lower()


def change_unit(task: Task) -> tuple[str, float]:
    """How a change of a task's output reads, ``(unit, scale)``: probabilities in
    percentage points (× 100), values in the task's own unit."""
    return ("percentage points", 100.0) if task.classes else (task.unit, 1.0)


def output_value(prediction: Any, target: str) -> float:
    """The value of ``target`` in a :class:`~hyperfusion.prediction.Prediction`."""
    if target in task_of_target(target).classes:
        return prediction.probabilities[target]
    return prediction.brain_age


def default_target(task: Task, prediction: Any | None) -> str:
    """The output a task's map shows unless asked: the predicted class (the last
    class while there is no prediction), or the task's one output."""
    if not task.classes:
        return task.targets[0]
    return prediction.diagnosis if prediction is not None else task.classes[-1]


def inputs_note(task: Task) -> str:
    """A sentence naming the EHR fields a task's model reads, when that is not all
    of them (empty otherwise)."""
    if set(task.ehr_fields) >= {f.name for f in INPUT_FIELDS}:
        return ""
    names = ", ".join(FIELD_BY_NAME[n].label.lower() for n in task.ehr_fields)
    return f"The {task.short_title.lower()} model sees only {names} (and the MRI)."
