"""The EHR schema as data: the ADNIMERGE fields and the names of the tabular vector.

An EHR record is a plain ``dict[str, float | str | None]`` keyed by ADNIMERGE column
name, with ``None`` for "unknown". The schema is one table (:data:`FIELDS`) that the
UI, the CLI, the validator and the preprocessor all read; the feature tuples name the
entries of the paper's 16-value vector (:data:`AD_FEATURES`) and its parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EHRValue = float | str | None
EHRRecord = dict[str, EHRValue]
# How an unknown value reads: in a link, in a table, in an emptied box.
UNKNOWN = "unknown"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass(frozen=True)
class EHRField:
    """One ADNIMERGE column: how to label, bound, edit and explain it.

    Attributes:
        name: ADNIMERGE column name, the record key.
        label: short human label for widgets and plots.
        unit: unit shown after values ("" when unitless).
        description: one sentence for clinicians, including what high or low means.
        kind: ``"number"`` or ``"category"`` (then ``choices`` lists the values).
        low: smallest plausible value (numbers only).
        high: largest plausible value (numbers only).
        step: increment for UI number widgets.
        integer: whether only whole numbers are accepted.
        choices: the accepted category values.
        required: whether "unknown" is refused.
        role: ``"input"`` (a model input) or ``"context"`` (shown, never a model input).
        censorable: whether ADNI's censored strings (``">1700"``, ``"<8"``) occur.
    """

    name: str
    label: str
    unit: str
    description: str
    kind: Literal["number", "category"] = "number"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False
    role: Literal["input", "context"] = "input"
    censorable: bool = False

    @property
    def accepted(self) -> str:
        """What this field accepts, in words, for error messages and help texts.

        >>> FIELD_BY_NAME["AGE"].accepted
        'a number in 18–100 years'
        """
        if self.kind == "category":
            short = ", ".join(choice[0] for choice in self.choices)
            text = f"{' or '.join(self.choices)} (also {short}; any case)"
        else:
            what = "an integer" if self.integer else "a number"
            unit = f" {self.unit}" if self.unit else ""
            text = f"{what} in {_fmt(self.low)}–{_fmt(self.high)}{unit}"
        return text if self.required else f"{text} or 'unknown'"


# Ranges are plausibility bounds, not reference ranges. The CSF bounds are the
# measuring ranges of the Roche Elecsys assays that ADNI reports (values outside are
# censored as ">1700" or "<8"); AGE, PTEDUCAT, FDG and AV45 bounds are approximate.
FIELDS: tuple[EHRField, ...] = (
    EHRField(
        "AGE", "Age", "years",
        "Age at the visit; older age raises the prior risk of MCI and Alzheimer's "
        "disease and also shrinks the brain on its own.",
        low=18, high=100, step=1, required=True,  # approximate adult range
    ),
    EHRField(
        "PTGENDER", "Sex", "",
        "Sex as recorded in ADNI; women carry a somewhat higher lifetime risk of "
        "Alzheimer's disease and differ in head size and brain anatomy.",
        kind="category", choices=("Female", "Male"), required=True,
    ),
    EHRField(
        "PTEDUCAT", "Education", "years",
        "Years of formal education; more education adds cognitive reserve, which "
        "delays symptoms for the same amount of pathology.",
        low=0, high=30, step=1,  # approximate
    ),
    EHRField(
        "APOE4", "APOE4 alleles", "alleles",
        "Number of APOE ε4 alleles (0, 1 or 2); each allele raises the risk of "
        "Alzheimer's disease and lowers the age of onset.",
        low=0, high=2, step=1, integer=True,
    ),
    EHRField(
        "ABETA", "CSF amyloid-β 1-42", "pg/mL",
        "CSF amyloid-β 1-42; low values indicate amyloid plaques in the brain, the "
        "earliest hallmark of Alzheimer's disease.",
        low=200, high=1700, step=10, censorable=True,  # Elecsys censoring bounds
    ),
    EHRField(
        "PTAU", "CSF p-tau181", "pg/mL",
        "CSF tau phosphorylated at threonine 181; high values indicate "
        "neurofibrillary tangles, the tau pathology specific to Alzheimer's disease.",
        low=8, high=120, step=1, censorable=True,  # Elecsys measuring range
    ),
    EHRField(
        "TAU", "CSF total tau", "pg/mL",
        "CSF total tau; high values indicate ongoing neuronal injury "
        "(neurodegeneration) of any cause.",
        low=80, high=1300, step=10, censorable=True,  # Elecsys measuring range
    ),
    EHRField(
        "FDG", "FDG PET", "SUVR",
        "Glucose metabolism on FDG PET in regions typical of Alzheimer's disease; "
        "low values indicate synaptic dysfunction and neurodegeneration.",
        low=0.6, high=2.0, step=0.01,  # approximate
    ),
    EHRField(
        "AV45", "Amyloid PET (AV45)", "SUVR",
        "Cortical florbetapir (AV45) amyloid PET uptake; high values (above about "
        "1.11) indicate amyloid plaques.",
        low=0.7, high=2.5, step=0.01,  # approximate
    ),
    EHRField(
        "MMSE", "MMSE", "points",
        "Mini-Mental State Examination out of 30, lower meaning worse cognition; "
        "context only, never a model input, because it helps define the diagnosis.",
        low=0, high=30, step=1, integer=True, role="context",
    ),
)  # fmt: skip
FIELD_BY_NAME: dict[str, EHRField] = {f.name: f for f in FIELDS}
INPUT_FIELDS: tuple[EHRField, ...] = tuple(f for f in FIELDS if f.role == "input")

# The numeric inputs (imputed, then z-scored), sex, and the fields that get a flag.
NUMERIC_FEATURES: tuple[str, ...] = (
    "AGE", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45",
)  # fmt: skip
FLAGGED_FEATURES: tuple[str, ...] = ("APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45")
AD_FEATURES: tuple[str, ...] = (
    *NUMERIC_FEATURES,
    "PTGENDER_Female",
    "PTGENDER_Male",
    *(f"{name}_missing" for name in FLAGGED_FEATURES),
)
BRAIN_AGE_FEATURES: tuple[str, ...] = ("PTGENDER_Female", "PTGENDER_Male")
# Columns the imputer sees: the numeric inputs, then sex coded Female 0 / Male 1.
IMPUTER_COLUMNS: tuple[str, ...] = (*NUMERIC_FEATURES, "PTGENDER")


def feature_field(feature: str) -> str:
    """The EHR field a vector entry belongs to (``"ABETA_missing"`` -> ``"ABETA"``).

    >>> feature_field("PTGENDER_Male")
    'PTGENDER'
    """
    for suffix in ("_missing", "_Female", "_Male"):
        if feature.endswith(suffix):
            return feature[: -len(suffix)]
    return feature


__all__ = [
    "UNKNOWN",
    "AD_FEATURES",
    "BRAIN_AGE_FEATURES",
    "FIELDS",
    "FIELD_BY_NAME",
    "FLAGGED_FEATURES",
    "IMPUTER_COLUMNS",
    "INPUT_FIELDS",
    "NUMERIC_FEATURES",
    "EHRField",
    "EHRRecord",
    "EHRValue",
    "feature_field",
]
