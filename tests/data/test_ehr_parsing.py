"""EHR parsing: raw values, records, data frames and CSV files to validated records."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hyperfusion.data.ehr_parsing import (
    parse_assignment,
    parse_diagnosis,
    parse_value,
    read_ehr_csv,
    records_from_dataframe,
    validate_ehr,
)
from hyperfusion.data.ehr_schema import FIELDS
from hyperfusion.errors import CohortError, InvalidEHRError
from tests.data.conftest import hand_frame


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("AGE", 72, 72.0),
        ("AGE", "72", 72.0),
        ("AGE", " 72.5 ", 72.5),
        ("AGE", np.float32(72.5), 72.5),
        ("APOE4", "2", 2.0),
        ("APOE4", 1.0, 1.0),
        ("ABETA", ">1700", 1700.0),
        ("ABETA", " >1700 ", 1700.0),
        ("PTAU", "<8", 8.0),
        ("TAU", ">=1300", 1300.0),
        ("PTGENDER", "Female", "Female"),
        ("PTGENDER", "f", "Female"),
        ("PTGENDER", " MALE ", "Male"),
        ("PTGENDER", "m", "Male"),
        ("ABETA", None, None),
        ("ABETA", "", None),
        ("ABETA", "unknown", None),
        ("ABETA", " Unknown ", None),
        ("ABETA", float("nan"), None),
        ("ABETA", np.nan, None),
        ("ABETA", pd.NA, None),
        ("PTGENDER", "unknown", None),
    ],
)
def test_parse_value_accepts(field, raw, expected):
    assert parse_value(field, raw) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: parse_value("AGE", 250),
            "AGE = 250 years is out of range; accepted: a number in 18–100 years",
        ),
        (
            lambda: parse_value("ABETA", "abc"),
            "ABETA = 'abc' is not a number; accepted: a number in 200–1700 pg/mL or "
            "'unknown'",
        ),
        (
            lambda: parse_value("ABETA", "<150"),
            "ABETA = 150 pg/mL is out of range; accepted: a number in 200–1700 pg/mL "
            "or 'unknown'",
        ),
        (
            lambda: parse_value("AGE", ">90"),
            "AGE = '>90' is not a number; accepted: a number in 18–100 years",
        ),
        (
            lambda: parse_value("AGE", True),
            "AGE = True is not a number; accepted: a number in 18–100 years",
        ),
        (
            lambda: parse_value("AGE", "inf"),
            "AGE = 'inf' is not a finite number; accepted: a number in 18–100 years",
        ),
        (
            lambda: parse_value("APOE4", 1.5),
            "APOE4 = 1.5 is not a whole number; accepted: an integer in 0–2 alleles "
            "or 'unknown'",
        ),
        (
            lambda: parse_value("APOE4", 3),
            "APOE4 = 3 alleles is out of range; accepted: an integer in 0–2 alleles "
            "or 'unknown'",
        ),
        (
            lambda: parse_value("MMSE", "29.5"),
            "MMSE = 29.5 is not a whole number; accepted: an integer in 0–30 points "
            "or 'unknown'",
        ),
        (
            lambda: parse_value("PTGENDER", 1),
            "PTGENDER = 1 is ambiguous; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: parse_value("PTGENDER", 0),
            "PTGENDER = 0 is ambiguous; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: parse_value("PTGENDER", "X"),
            "PTGENDER = 'X' is not a sex; accepted: Female or Male (also F, M; any "
            "case)",
        ),
        (
            lambda: validate_ehr({"AGEE": 70, "PTGENDER": "F"}),
            "Unknown field 'AGEE'; accepted fields: AGE, PTGENDER, PTEDUCAT, APOE4, "
            "ABETA, PTAU, TAU, FDG, AV45, MMSE (did you mean 'AGE'?)",
        ),
        (
            lambda: validate_ehr({"PTGENDER": "F", "ABETA": 500}),
            "AGE is required; accepted: a number in 18–100 years",
        ),
        (
            lambda: validate_ehr({"AGE": 70, "PTGENDER": "unknown"}),
            "PTGENDER is required; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: validate_ehr({"AGE": 70, "age": 71, "PTGENDER": "F"}),
            "AGE is given twice (as 'AGE' and 'age'); accepted: each field once",
        ),
        (
            lambda: parse_assignment("AGE72"),
            "--set 'AGE72' has no '='; accepted: FIELD=VALUE such as AGE=72 or "
            "ABETA=unknown",
        ),
        (
            lambda: parse_assignment("PTAU=lots"),
            "PTAU = 'lots' is not a number; accepted: a number in 8–120 pg/mL or "
            "'unknown'",
        ),
    ],
)
def test_errors_are_one_line_saying_what_is_wrong_and_what_is_accepted(call, message):
    with pytest.raises(InvalidEHRError) as info:
        call()
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_unknown_field_without_a_close_match_gives_no_hint():
    with pytest.raises(InvalidEHRError, match="accepted fields: AGE") as info:
        validate_ehr({"SHOE_SIZE": 42})
    assert "did you mean" not in str(info.value)


def test_validate_returns_every_field_with_none_for_unknown():
    record = validate_ehr({"age": "72", " ptgender ": "m", "ABETA": ">1700"})
    assert record == {
        "AGE": 72.0, "PTGENDER": "Male", "PTEDUCAT": None, "APOE4": None,
        "ABETA": 1700.0, "PTAU": None, "TAU": None, "FDG": None, "AV45": None,
        "MMSE": None,
    }  # fmt: skip
    assert list(record) == [f.name for f in FIELDS]
    assert validate_ehr({}, require=False) == dict.fromkeys(record)


def test_parse_assignment_reads_field_and_value():
    assert parse_assignment("ABETA=>1700") == ("ABETA", 1700.0)
    assert parse_assignment("ptgender=f") == ("PTGENDER", "Female")
    assert parse_assignment("FDG=unknown") == ("FDG", None)
    assert parse_assignment("FDG=") == ("FDG", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("CN", "CN"), ("mci", "MCI"), ("AD", "AD"), ("Dementia", "AD"), ("", None)],
)
def test_parse_diagnosis(raw, expected):
    assert parse_diagnosis(raw) == expected


def test_records_from_dataframe_reads_pandas_nan_as_unknown():
    df = hand_frame()
    df.loc[1, "ABETA"] = np.nan
    records = records_from_dataframe(df)
    assert len(records) == 4
    assert records[1]["ABETA"] is None and records[0]["ABETA"] == 400.0
    assert records[1]["PTGENDER"] == "Male"


def test_records_from_dataframe_names_row_and_ptid_of_a_bad_value():
    df = hand_frame().astype({"AGE": object})
    df.loc[1, "AGE"] = "x"
    with pytest.raises(InvalidEHRError) as info:
        records_from_dataframe(df)
    assert str(info.value) == (
        "row 2 (PTID S2): AGE = 'x' is not a number; accepted: a number in 18–100 years"
    )


def write(tmp_path, text: str):
    path = tmp_path / "csv"
    path.write_text(text)
    return path


def test_read_ehr_csv_parses_censored_values_blanks_and_adni_dementia(tmp_path):
    path = write(
        tmp_path,
        "PTID,AGE,PTGENDER,PTEDUCAT,APOE4,ABETA,PTAU,TAU,FDG,AV45,MMSE,DX,VISCODE\n"
        "002_S_0295,84.8,Male,18,1,>1700,<8,,1.3,,28,CN,bl\n"
        "002_S_0413,76.3,F,16,,512,24.1,260,,1.21,,Dementia,bl\n"
        "002_S_0619,77.5,female,12,2,unknown,30,300,1.1,1.4,22,,bl\n",
    )
    df = read_ehr_csv(path)
    assert list(df.columns) == ["PTID", *[f.name for f in FIELDS], "DX"]
    assert df["PTID"].tolist() == ["002_S_0295", "002_S_0413", "002_S_0619"]
    assert df["ABETA"].iloc[0] == 1700.0 and df["PTAU"].iloc[0] == 8.0
    assert math.isnan(df["TAU"].iloc[0]) and math.isnan(df["ABETA"].iloc[2])
    assert df["PTGENDER"].tolist() == ["Male", "Female", "Female"]
    assert df["DX"].tolist() == ["CN", "AD", None]
    assert df["AGE"].dtype == np.float64 and df["AV45"].dtype == np.float64


def test_read_ehr_csv_without_optional_columns_reads_them_as_unknown(tmp_path):
    df = read_ehr_csv(write(tmp_path, "PTID,AGE,PTGENDER\nA,70,M\n"))
    assert df["ABETA"].isna().all() and df["DX"].tolist() == [None]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "PTID,AGE,PTGENDER\n002_S_0295,80,M\n002_S_0413,x,F\n",
            "row 2 (PTID 002_S_0413): AGE = 'x' is not a number; accepted: a number "
            "in 18–100 years",
        ),
        (
            "PTID,AGE,PTGENDER,ABETA\nA,80,M,>1700\nB,70,F,12345\n",
            "row 2 (PTID B): ABETA = 12345 pg/mL is out of range; accepted: a number "
            "in 200–1700 pg/mL or 'unknown'",
        ),
        (
            "PTID,AGE,PTGENDER\nA,80,\n",
            "row 1 (PTID A): PTGENDER is required; accepted: Female or Male (also F, "
            "M; any case)",
        ),
        (
            "PTID,AGE,PTGENDER,DX\nA,80,M,EMCI\n",
            "row 1 (PTID A): DX = 'EMCI' is not a diagnosis; accepted: CN, MCI, AD "
            "(or ADNI's 'Dementia') or empty",
        ),
        (
            "PTID,AGE,PTGENDER\nA,80,M\nA,81,M\n",
            "row 2 (PTID A): PTID repeats row 1; accepted: one row per subject (e.g. "
            "the baseline visit)",
        ),
    ],
)
def test_read_ehr_csv_names_row_and_column_of_a_bad_value(tmp_path, text, message):
    with pytest.raises(InvalidEHRError) as info:
        read_ehr_csv(write(tmp_path, text))
    assert str(info.value) == message


def test_read_ehr_csv_refuses_missing_columns_and_files(tmp_path):
    with pytest.raises(CohortError, match="has no column PTGENDER; accepted"):
        read_ehr_csv(write(tmp_path, "PTID,AGE\nA,70\n"))
    with pytest.raises(CohortError, match="does not exist"):
        read_ehr_csv(tmp_path / "absent.csv")
