"""The EHR schema: the ADNIMERGE fields and the names of the tabular vector."""

from __future__ import annotations

import pytest

from hyperfusion.data.ehr_schema import (
    AD_FEATURES,
    BRAIN_AGE_FEATURES,
    FIELD_BY_NAME,
    FIELDS,
    INPUT_FIELDS,
    feature_field,
)


def test_schema_lists_the_adnimerge_columns_with_mmse_as_context_only():
    assert [f.name for f in FIELDS] == [
        "AGE", "PTGENDER", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45",
        "MMSE",
    ]  # fmt: skip
    assert FIELD_BY_NAME["MMSE"].role == "context"
    assert "MMSE" not in [f.name for f in INPUT_FIELDS]
    assert len(INPUT_FIELDS) == 9
    assert [f.name for f in FIELDS if f.required] == ["AGE", "PTGENDER"]
    assert FIELD_BY_NAME["PTGENDER"].choices == ("Female", "Male")
    abeta = FIELD_BY_NAME["ABETA"]
    assert (abeta.low, abeta.high, abeta.unit) == (200, 1700, "pg/mL")
    assert FIELD_BY_NAME["APOE4"].integer and FIELD_BY_NAME["MMSE"].integer
    assert all(f.description.endswith(".") for f in FIELDS)


def test_feature_order_is_the_papers():
    assert AD_FEATURES == (
        "AGE", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45",
        "PTGENDER_Female", "PTGENDER_Male",
        "APOE4_missing", "ABETA_missing", "PTAU_missing", "TAU_missing",
        "FDG_missing", "AV45_missing",
    )  # fmt: skip
    assert BRAIN_AGE_FEATURES == ("PTGENDER_Female", "PTGENDER_Male")


@pytest.mark.parametrize(
    ("feature", "field"),
    [("AGE", "AGE"), ("ABETA_missing", "ABETA"), ("PTGENDER_Female", "PTGENDER")],
)
def test_feature_field_names_the_field_a_vector_entry_belongs_to(feature, field):
    assert feature_field(feature) == field
    assert {feature_field(name) for name in AD_FEATURES} <= set(FIELD_BY_NAME)
