"""EHR schema, validation, CSV reading and the 16-value tabular vector."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from hyperfusion.data import ehr
from hyperfusion.errors import CohortError, InvalidEHRError, WeightsError

NUMERIC = ("AGE", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45")


def hand_frame() -> pd.DataFrame:
    """Four complete subjects whose means and spreads are easy to compute by hand."""
    return pd.DataFrame(
        {
            "PTID": ["S1", "S2", "S3", "S4"],
            "AGE": [60.0, 70.0, 80.0, 90.0],  # mean 75, var 125
            "PTGENDER": ["Female", "Male", "Female", "Male"],
            "PTEDUCAT": [12.0, 16.0, 12.0, 16.0],  # mean 14, sd 2
            "APOE4": [0.0, 1.0, 2.0, 1.0],  # mean 1, var 0.5
            "ABETA": [400.0, 800.0, 1200.0, 1600.0],  # mean 1000, var 200000
            "PTAU": [10.0, 20.0, 30.0, 40.0],  # mean 25, var 125
            "TAU": [100.0, 200.0, 300.0, 400.0],  # mean 250, var 12500
            "FDG": [1.0, 1.2, 1.4, 1.6],  # mean 1.3, var 0.05
            "AV45": [1.0, 1.5, 1.0, 1.5],  # mean 1.25, sd 0.25
            "MMSE": [30.0, 29.0, 24.0, 20.0],
            "DX": ["CN", "CN", "MCI", "AD"],
        }
    )


def random_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Correlated ADNI-like values with ADNI-like missingness."""
    amyloid = rng.normal(size=n)
    age = rng.uniform(55, 90, n)
    df = pd.DataFrame(
        {
            "PTID": [f"{i:03d}_S_{i:04d}" for i in range(n)],
            "AGE": age,
            "PTGENDER": rng.choice(["Female", "Male"], n),
            "PTEDUCAT": rng.integers(8, 21, n).astype(float),
            "APOE4": np.clip(np.round(amyloid + rng.normal(0, 0.7, n)), 0, 2),
            "ABETA": np.clip(1000 - 300 * amyloid + rng.normal(0, 100, n), 200, 1700),
            "PTAU": np.clip(25 + 8 * amyloid + rng.normal(0, 4, n), 8, 120),
            "TAU": np.clip(250 + 80 * amyloid + rng.normal(0, 40, n), 80, 1300),
            "FDG": np.clip(1.5 - 0.004 * age + rng.normal(0, 0.08, n), 0.6, 2.0),
            "AV45": np.clip(1.2 + 0.2 * amyloid + rng.normal(0, 0.05, n), 0.7, 2.5),
        }
    )
    for column, p in [("APOE4", 0.1), ("ABETA", 0.5), ("FDG", 0.4), ("AV45", 0.5)]:
        df.loc[rng.random(n) < p, column] = np.nan
    csf_missing = rng.random(n) < 0.5  # CSF is missing together, as in ADNI
    df.loc[csf_missing, ["PTAU", "TAU"]] = np.nan
    df.loc[rng.random(n) < 0.05, "PTEDUCAT"] = np.nan
    return df


# --- schema -----------------------------------------------------------------------


def test_schema_lists_the_adnimerge_columns_with_mmse_as_context_only():
    assert [f.name for f in ehr.FIELDS] == [
        "AGE", "PTGENDER", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45",
        "MMSE",
    ]  # fmt: skip
    assert ehr.FIELD_BY_NAME["MMSE"].role == "context"
    assert "MMSE" not in [f.name for f in ehr.INPUT_FIELDS]
    assert len(ehr.INPUT_FIELDS) == 9
    assert [f.name for f in ehr.FIELDS if f.required] == ["AGE", "PTGENDER"]
    assert ehr.FIELD_BY_NAME["PTGENDER"].choices == ("Female", "Male")
    abeta = ehr.FIELD_BY_NAME["ABETA"]
    assert (abeta.low, abeta.high, abeta.unit) == (200, 1700, "pg/mL")
    assert ehr.FIELD_BY_NAME["APOE4"].integer and ehr.FIELD_BY_NAME["MMSE"].integer
    assert all(f.description.endswith(".") for f in ehr.FIELDS)


def test_feature_order_is_the_papers():
    assert ehr.AD_FEATURES == (
        "AGE", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45",
        "PTGENDER_Female", "PTGENDER_Male",
        "APOE4_missing", "ABETA_missing", "PTAU_missing", "TAU_missing",
        "FDG_missing", "AV45_missing",
    )  # fmt: skip
    assert ehr.BRAIN_AGE_FEATURES == ("PTGENDER_Female", "PTGENDER_Male")
    assert ehr.EHRPreprocessor().feature_names_out() == ehr.AD_FEATURES


# --- parsing ----------------------------------------------------------------------


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
    assert ehr.parse_value(field, raw) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: ehr.parse_value("AGE", 250),
            "AGE = 250 years is out of range; accepted: a number in 18–100 years",
        ),
        (
            lambda: ehr.parse_value("ABETA", "abc"),
            "ABETA = 'abc' is not a number; accepted: a number in 200–1700 pg/mL or "
            "'unknown'",
        ),
        (
            lambda: ehr.parse_value("ABETA", "<150"),
            "ABETA = 150 pg/mL is out of range; accepted: a number in 200–1700 pg/mL "
            "or 'unknown'",
        ),
        (
            lambda: ehr.parse_value("AGE", ">90"),
            "AGE = '>90' is not a number; accepted: a number in 18–100 years",
        ),
        (
            lambda: ehr.parse_value("AGE", True),
            "AGE = True is not a number; accepted: a number in 18–100 years",
        ),
        (
            lambda: ehr.parse_value("AGE", "inf"),
            "AGE = 'inf' is not a finite number; accepted: a number in 18–100 years",
        ),
        (
            lambda: ehr.parse_value("APOE4", 1.5),
            "APOE4 = 1.5 is not a whole number; accepted: an integer in 0–2 alleles "
            "or 'unknown'",
        ),
        (
            lambda: ehr.parse_value("APOE4", 3),
            "APOE4 = 3 alleles is out of range; accepted: an integer in 0–2 alleles "
            "or 'unknown'",
        ),
        (
            lambda: ehr.parse_value("MMSE", "29.5"),
            "MMSE = 29.5 is not a whole number; accepted: an integer in 0–30 points "
            "or 'unknown'",
        ),
        (
            lambda: ehr.parse_value("PTGENDER", 1),
            "PTGENDER = 1 is ambiguous; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: ehr.parse_value("PTGENDER", 0),
            "PTGENDER = 0 is ambiguous; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: ehr.parse_value("PTGENDER", "X"),
            "PTGENDER = 'X' is not a sex; accepted: Female or Male (also F, M; any "
            "case)",
        ),
        (
            lambda: ehr.validate_ehr({"AGEE": 70, "PTGENDER": "F"}),
            "Unknown field 'AGEE'; accepted fields: AGE, PTGENDER, PTEDUCAT, APOE4, "
            "ABETA, PTAU, TAU, FDG, AV45, MMSE (did you mean 'AGE'?)",
        ),
        (
            lambda: ehr.validate_ehr({"PTGENDER": "F", "ABETA": 500}),
            "AGE is required; accepted: a number in 18–100 years",
        ),
        (
            lambda: ehr.validate_ehr({"AGE": 70, "PTGENDER": "unknown"}),
            "PTGENDER is required; accepted: Female or Male (also F, M; any case)",
        ),
        (
            lambda: ehr.validate_ehr({"AGE": 70, "age": 71, "PTGENDER": "F"}),
            "AGE is given twice (as 'AGE' and 'age'); accepted: each field once",
        ),
        (
            lambda: ehr.parse_assignment("AGE72"),
            "--set 'AGE72' has no '='; accepted: FIELD=VALUE such as AGE=72 or "
            "ABETA=unknown",
        ),
        (
            lambda: ehr.parse_assignment("PTAU=lots"),
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
        ehr.validate_ehr({"SHOE_SIZE": 42})
    assert "did you mean" not in str(info.value)


def test_validate_returns_every_field_with_none_for_unknown():
    record = ehr.validate_ehr({"age": "72", " ptgender ": "m", "ABETA": ">1700"})
    assert record == {
        "AGE": 72.0, "PTGENDER": "Male", "PTEDUCAT": None, "APOE4": None,
        "ABETA": 1700.0, "PTAU": None, "TAU": None, "FDG": None, "AV45": None,
        "MMSE": None,
    }  # fmt: skip
    assert list(record) == [f.name for f in ehr.FIELDS]
    assert ehr.validate_ehr({}, require=False) == dict.fromkeys(record)


def test_parse_assignment_reads_field_and_value():
    assert ehr.parse_assignment("ABETA=>1700") == ("ABETA", 1700.0)
    assert ehr.parse_assignment("ptgender=f") == ("PTGENDER", "Female")
    assert ehr.parse_assignment("FDG=unknown") == ("FDG", None)
    assert ehr.parse_assignment("FDG=") == ("FDG", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("CN", "CN"), ("mci", "MCI"), ("AD", "AD"), ("Dementia", "AD"), ("", None)],
)
def test_parse_diagnosis(raw, expected):
    assert ehr.parse_diagnosis(raw) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"PTGENDER": "Female"}, [1.0, 0.0]),
        ({"PTGENDER": "M"}, [0.0, 1.0]),
        ({"PTGENDER": None}, [0.5, 0.5]),
        ({}, [0.5, 0.5]),
    ],
)
def test_sex_onehot(record, expected):
    onehot = ehr.sex_onehot(record)
    assert onehot.dtype == np.float32 and onehot.shape == (2,)
    np.testing.assert_array_equal(onehot, expected)


# --- data frames and CSV ------------------------------------------------------------


def test_records_from_dataframe_reads_pandas_nan_as_unknown():
    df = hand_frame()
    df.loc[1, "ABETA"] = np.nan
    records = ehr.records_from_dataframe(df)
    assert len(records) == 4
    assert records[1]["ABETA"] is None and records[0]["ABETA"] == 400.0
    assert records[1]["PTGENDER"] == "Male"


def test_records_from_dataframe_names_row_and_ptid_of_a_bad_value():
    df = hand_frame().astype({"AGE": object})
    df.loc[1, "AGE"] = "x"
    with pytest.raises(InvalidEHRError) as info:
        ehr.records_from_dataframe(df)
    assert str(info.value) == (
        "row 2 (PTID S2): AGE = 'x' is not a number; accepted: a number in 18–100 years"
    )


def write(tmp_path, text: str):
    path = tmp_path / "ehr.csv"
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
    df = ehr.read_ehr_csv(path)
    assert list(df.columns) == ["PTID", *[f.name for f in ehr.FIELDS], "DX"]
    assert df["PTID"].tolist() == ["002_S_0295", "002_S_0413", "002_S_0619"]
    assert df["ABETA"].iloc[0] == 1700.0 and df["PTAU"].iloc[0] == 8.0
    assert math.isnan(df["TAU"].iloc[0]) and math.isnan(df["ABETA"].iloc[2])
    assert df["PTGENDER"].tolist() == ["Male", "Female", "Female"]
    assert df["DX"].tolist() == ["CN", "AD", None]
    assert df["AGE"].dtype == np.float64 and df["AV45"].dtype == np.float64


def test_read_ehr_csv_without_optional_columns_reads_them_as_unknown(tmp_path):
    df = ehr.read_ehr_csv(write(tmp_path, "PTID,AGE,PTGENDER\nA,70,M\n"))
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
        ehr.read_ehr_csv(write(tmp_path, text))
    assert str(info.value) == message


def test_read_ehr_csv_refuses_missing_columns_and_files(tmp_path):
    with pytest.raises(CohortError, match="has no column PTGENDER; accepted"):
        ehr.read_ehr_csv(write(tmp_path, "PTID,AGE\nA,70\n"))
    with pytest.raises(CohortError, match="does not exist"):
        ehr.read_ehr_csv(tmp_path / "absent.csv")


# --- preprocessor -------------------------------------------------------------------


def hand_expected() -> np.ndarray:
    """The hand frame's vectors: z = (x - mean) / sd with the sds noted above."""
    a = 15 / math.sqrt(125)  # AGE, PTAU (and ABETA, TAU, FDG: 3/sqrt(5)) at the ends
    b = 5 / math.sqrt(125)
    r = math.sqrt(2)  # APOE4: 1 / sqrt(0.5)
    z = [
        # AGE  EDUC APOE4 ABETA PTAU TAU  FDG  AV45  F  M
        [-a, -1.0, -r, -a, -a, -a, -a, -1.0, 1, 0],
        [-b, 1.0, 0.0, -b, -b, -b, -b, 1.0, 0, 1],
        [b, -1.0, r, b, b, b, b, -1.0, 1, 0],
        [a, 1.0, 0.0, a, a, a, a, 1.0, 0, 1],
    ]
    return np.hstack([np.array(z), np.zeros((4, 6))])


def test_transform_before_fit_is_refused():
    with pytest.raises(NotFittedError, match="not fitted"):
        ehr.EHRPreprocessor().transform(hand_frame())
    with pytest.raises(NotFittedError):
        ehr.EHRPreprocessor().to_json()


def test_z_scores_of_a_hand_made_frame():
    pre = ehr.EHRPreprocessor().fit(hand_frame())
    out = pre.transform(hand_frame())
    assert out.dtype == np.float32 and out.shape == (4, 16)
    np.testing.assert_allclose(out, hand_expected(), rtol=1e-6, atol=1e-6)
    first = ehr.records_from_dataframe(hand_frame())[0]
    np.testing.assert_allclose(
        pre.transform_one(first), hand_expected()[0], rtol=1e-6, atol=1e-6
    )
    expected_var = np.mean(np.var(hand_expected(), axis=1))
    assert pre.embedding_variance_ == pytest.approx(expected_var, rel=1e-6)
    assert pre.n_train_ == 4


def test_fit_learns_from_the_training_split_only():
    train = hand_frame()
    test = hand_frame().assign(AGE=[20.0, 21.0, 22.0, 23.0], ABETA=[300.0] * 4)
    pre = ehr.EHRPreprocessor().fit(train)
    pre.transform(test)
    np.testing.assert_allclose(
        pre.means_, [75.0, 14.0, 1.0, 1000.0, 25.0, 250.0, 1.3, 1.25], rtol=1e-12
    )
    np.testing.assert_allclose(
        pre.scales_,
        [125**0.5, 2.0, 0.5**0.5, 200000**0.5, 125**0.5, 12500**0.5, 0.05**0.5, 0.25],
        rtol=1e-12,
    )
    # The test subjects are scaled by the training statistics: (20 - 75) / sqrt(125).
    assert pre.transform(test)[0, 0] == pytest.approx(-55 / 125**0.5, rel=1e-6)
    assert pre.transform(test)[0, 3] == pytest.approx(-700 / 200000**0.5, rel=1e-6)


def test_missing_flags_and_unknown_sex():
    pre = ehr.EHRPreprocessor().fit(random_frame(200, np.random.default_rng(1)))
    record = {"AGE": 70, "APOE4": None, "ABETA": "unknown", "PTAU": 20, "TAU": "",
              "FDG": 1.2}  # fmt: skip
    vector = pre.transform_one(record)
    assert vector.shape == (16,) and vector.dtype == np.float32
    flags = dict(zip(ehr.AD_FEATURES[10:], vector[10:].tolist(), strict=True))
    assert flags == {
        "APOE4_missing": 1.0, "ABETA_missing": 1.0, "PTAU_missing": 0.0,
        "TAU_missing": 1.0, "FDG_missing": 0.0, "AV45_missing": 1.0,
    }  # fmt: skip
    np.testing.assert_array_equal(vector[8:10], [0.5, 0.5])
    assert np.isfinite(vector).all()
    # Imputed values stay inside each field's plausible range.
    raw = vector[:8] * pre.scales_ + pre.means_
    for name, value in zip(NUMERIC, raw, strict=True):
        field = ehr.FIELD_BY_NAME[name]
        assert field.low - 1e-3 <= value <= field.high + 1e-3


def test_a_constant_training_column_scales_by_one():
    train = hand_frame().assign(AV45=1.2)
    pre = ehr.EHRPreprocessor().fit(train)
    assert pre.scales_[7] == 1.0
    np.testing.assert_array_equal(pre.transform(train)[:, 7], 0.0)


def test_a_column_never_seen_in_training_is_zero_and_flagged():
    pre = ehr.EHRPreprocessor().fit(hand_frame().assign(ABETA=np.nan))
    train_out = pre.transform(hand_frame().assign(ABETA=np.nan))
    np.testing.assert_array_equal(train_out[:, 3], 0.0)
    np.testing.assert_array_equal(train_out[:, 11], 1.0)  # ABETA_missing
    vector = pre.transform_one({"AGE": 70, "PTGENDER": "F", "ABETA": 500})
    assert vector[3] == 0.0 and vector[11] == 0.0


def test_records_and_frames_give_the_same_vectors():
    df = random_frame(30, np.random.default_rng(2))
    pre = ehr.EHRPreprocessor().fit(df)
    records = ehr.records_from_dataframe(df)
    np.testing.assert_array_equal(pre.transform(df), pre.transform(records))
    np.testing.assert_allclose(
        pre.transform_one(records[3]), pre.transform(df)[3], rtol=1e-6, atol=1e-7
    )


def test_json_round_trip_reproduces_transform_exactly():
    rng = np.random.default_rng(3)
    pre = ehr.EHRPreprocessor(max_iter=5).fit(random_frame(150, rng))
    held_out = random_frame(40, rng)
    state = json.loads(json.dumps(pre.to_json()))
    again = ehr.EHRPreprocessor.from_json(state)
    np.testing.assert_array_equal(again.transform(held_out), pre.transform(held_out))
    one = ehr.records_from_dataframe(held_out)[0]
    np.testing.assert_array_equal(again.transform_one(one), pre.transform_one(one))
    assert again.max_iter == 5 and again.n_train_ == 150
    assert again.embedding_variance_ == pre.embedding_variance_
    np.testing.assert_array_equal(again.means_, pre.means_)


def test_from_json_refuses_a_corrupt_state():
    state = ehr.EHRPreprocessor().fit(hand_frame()).to_json()
    with pytest.raises(WeightsError, match="EHR preprocessor is invalid"):
        ehr.EHRPreprocessor.from_json({k: v for k, v in state.items() if k != "means"})
    with pytest.raises(WeightsError):
        ehr.EHRPreprocessor.from_json(state | {"feature_names": ["AGE"]})
    with pytest.raises(WeightsError, match="wrong shapes"):
        ehr.EHRPreprocessor.from_json(state | {"means": [0.0]})


def test_fit_needs_two_rows():
    with pytest.raises(InvalidEHRError, match="has 1 row"):
        ehr.EHRPreprocessor().fit(hand_frame().iloc[:1])


# --- the imputation replay ------------------------------------------------------------


def test_replay_of_hand_set_steps():
    replay = ehr.LinearImputerReplay.from_json(
        {
            "initial": [1.0, 2.0],
            "low": [None, None],
            "high": [4.0, None],
            "empty": [False, False],
            "steps": [
                {"feature": 0, "neighbors": [1], "coef": [2.0], "intercept": 1.0},
                {"feature": 1, "neighbors": [0], "coef": [0.5], "intercept": 0.0},
            ],
        }
    )
    X = np.array([[np.nan, 1.0], [np.nan, np.nan], [3.0, np.nan], [3.0, 5.0]])
    # Row 0: 2*1 + 1 = 3. Row 1: from the medians, 2*2 + 1 = 5 clipped to 4, then
    # 0.5*4 = 2. Row 2: 0.5*3 = 1.5. Row 3: nothing missing.
    expected = np.array([[3.0, 1.0], [4.0, 2.0], [3.0, 1.5], [3.0, 5.0]])
    np.testing.assert_array_equal(replay.transform(X), expected)
    # Many rows take the vectorised path; it must agree.
    many = np.tile(X, (10, 1))
    np.testing.assert_array_equal(replay.transform(many), np.tile(expected, (10, 1)))
    # Everything missing: the initial values only (as scikit-learn).
    np.testing.assert_array_equal(replay.transform([[np.nan, np.nan]]), [[1.0, 2.0]])


QUIET = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@QUIET
def test_replay_equals_sklearn_on_held_out_data():
    rng = np.random.default_rng(4)
    train_df = random_frame(300, rng)
    train = ehr.ehr_matrix(ehr.records_from_dataframe(train_df))
    test_df = random_frame(60, rng)
    test_df.loc[::7, "PTGENDER"] = np.nan
    test = ehr.ehr_matrix(ehr.records_from_dataframe(test_df))
    imputer = ehr.make_iterative_imputer(max_iter=10, random_state=0)
    imputer.fit(train)
    replay = ehr.LinearImputerReplay.from_sklearn(imputer)
    expected = imputer.transform(test)
    np.testing.assert_allclose(replay.transform(test), expected, rtol=1e-6)
    for i in range(5):  # single rows take the plain-Python path
        np.testing.assert_allclose(
            replay.transform(test[i : i + 1]), expected[i : i + 1], rtol=1e-6
        )
    # The preprocessor fits the same imputer, then z-scores its output.
    pre = ehr.EHRPreprocessor().fit(train_df)
    np.testing.assert_allclose(
        pre.transform(test_df)[:, :8] * pre.scales_ + pre.means_,
        expected[:, :8],
        rtol=1e-5,  # float32 output
        atol=1e-6,
    )


@QUIET
def test_replay_equals_sklearn_with_an_empty_training_column():
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    rng = np.random.default_rng(5)
    train = rng.normal(size=(80, 4))
    train[:, 1] += train[:, 0]
    train[rng.random((80, 4)) < 0.3] = np.nan
    train[:, 3] = np.nan  # never observed in training
    test = rng.normal(size=(30, 4))
    test[rng.random((30, 4)) < 0.3] = np.nan
    imputer = IterativeImputer(
        max_iter=6, keep_empty_features=True, min_value=-1.0, max_value=1.0, tol=0
    )
    imputer.fit(train)
    replay = ehr.LinearImputerReplay.from_sklearn(imputer)
    restored = ehr.LinearImputerReplay.from_json(
        json.loads(json.dumps(replay.to_json()))
    )
    np.testing.assert_allclose(
        restored.transform(test), imputer.transform(test), rtol=1e-6
    )
