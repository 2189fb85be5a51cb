"""EHR preprocessing: the 16-value vector, its imputation replay, the sex one-hot."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from hyperfusion.data.ehr_parsing import records_from_dataframe, validate_ehr
from hyperfusion.data.ehr_preprocessing import (
    EHRPreprocessor,
    LinearImputerReplay,
    ehr_matrix,
    make_iterative_imputer,
    sex_onehot,
)
from hyperfusion.data.ehr_schema import AD_FEATURES, FIELD_BY_NAME
from hyperfusion.errors import InvalidEHRError, WeightsError
from tests.data.conftest import hand_frame

NUMERIC = ("AGE", "PTEDUCAT", "APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45")


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
    onehot = sex_onehot(record)
    assert onehot.dtype == np.float32 and onehot.shape == (2,)
    np.testing.assert_array_equal(onehot, expected)


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


def test_feature_names_out_are_the_papers_features():
    assert EHRPreprocessor().feature_names_out() == AD_FEATURES


def test_transform_before_fit_is_refused():
    with pytest.raises(NotFittedError, match="not fitted"):
        EHRPreprocessor().transform(hand_frame())
    with pytest.raises(NotFittedError):
        EHRPreprocessor().to_json()


def test_z_scores_of_a_hand_made_frame():
    pre = EHRPreprocessor().fit(hand_frame())
    out = pre.transform(hand_frame())
    assert out.dtype == np.float32 and out.shape == (4, 16)
    np.testing.assert_allclose(out, hand_expected(), rtol=1e-6, atol=1e-6)
    first = records_from_dataframe(hand_frame())[0]
    np.testing.assert_allclose(
        pre.transform_one(first), hand_expected()[0], rtol=1e-6, atol=1e-6
    )
    expected_var = np.mean(np.var(hand_expected(), axis=1))
    assert pre.embedding_variance_ == pytest.approx(expected_var, rel=1e-6)
    assert pre.n_train_ == 4


def test_fit_learns_from_the_training_split_only():
    train = hand_frame()
    test = hand_frame().assign(AGE=[20.0, 21.0, 22.0, 23.0], ABETA=[300.0] * 4)
    pre = EHRPreprocessor().fit(train)
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
    pre = EHRPreprocessor().fit(random_frame(200, np.random.default_rng(1)))
    raw_record = {"AGE": 70, "APOE4": None, "ABETA": "unknown", "PTAU": 20, "TAU": "",
                  "FDG": 1.2}  # fmt: skip
    record = validate_ehr(raw_record, require=False)
    vector = pre.transform_one(record)
    assert vector.shape == (16,) and vector.dtype == np.float32
    flags = dict(zip(AD_FEATURES[10:], vector[10:].tolist(), strict=True))
    assert flags == {
        "APOE4_missing": 1.0, "ABETA_missing": 1.0, "PTAU_missing": 0.0,
        "TAU_missing": 1.0, "FDG_missing": 0.0, "AV45_missing": 1.0,
    }  # fmt: skip
    np.testing.assert_array_equal(vector[8:10], [0.5, 0.5])
    assert np.isfinite(vector).all()
    # Imputed values stay inside each field's plausible range.
    raw = vector[:8] * pre.scales_ + pre.means_
    for name, value in zip(NUMERIC, raw, strict=True):
        field = FIELD_BY_NAME[name]
        assert field.low - 1e-3 <= value <= field.high + 1e-3


def test_a_constant_training_column_scales_by_one():
    train = hand_frame().assign(AV45=1.2)
    pre = EHRPreprocessor().fit(train)
    assert pre.scales_[7] == 1.0
    np.testing.assert_array_equal(pre.transform(train)[:, 7], 0.0)


def test_a_column_never_seen_in_training_is_zero_and_flagged():
    pre = EHRPreprocessor().fit(hand_frame().assign(ABETA=np.nan))
    train_out = pre.transform(hand_frame().assign(ABETA=np.nan))
    np.testing.assert_array_equal(train_out[:, 3], 0.0)
    np.testing.assert_array_equal(train_out[:, 11], 1.0)  # ABETA_missing
    vector = pre.transform_one(validate_ehr({"AGE": 70, "PTGENDER": "F", "ABETA": 500}))
    assert vector[3] == 0.0 and vector[11] == 0.0


def test_records_and_frames_give_the_same_vectors():
    df = random_frame(30, np.random.default_rng(2))
    pre = EHRPreprocessor().fit(df)
    records = records_from_dataframe(df)
    np.testing.assert_array_equal(pre.transform(df), pre.transform(records))
    np.testing.assert_allclose(
        pre.transform_one(records[3]), pre.transform(df)[3], rtol=1e-6, atol=1e-7
    )


def test_a_frame_is_validated_at_fit_and_transform():
    # A frame comes from a file, so it is validated; records are used as they are.
    bad = hand_frame().astype({"AGE": object})
    bad.loc[1, "AGE"] = "x"
    message = re.escape("row 2 (PTID S2): AGE = 'x' is not a number")
    with pytest.raises(InvalidEHRError, match=message):
        EHRPreprocessor().fit(bad)
    with pytest.raises(InvalidEHRError, match=message):
        EHRPreprocessor().fit(hand_frame()).transform(bad)


def test_json_round_trip_reproduces_transform_exactly():
    rng = np.random.default_rng(3)
    pre = EHRPreprocessor(max_iter=5).fit(random_frame(150, rng))
    held_out = random_frame(40, rng)
    state = json.loads(json.dumps(pre.to_json()))
    again = EHRPreprocessor.from_json(state)
    np.testing.assert_array_equal(again.transform(held_out), pre.transform(held_out))
    one = records_from_dataframe(held_out)[0]
    np.testing.assert_array_equal(again.transform_one(one), pre.transform_one(one))
    assert again.max_iter == 5 and again.n_train_ == 150
    assert again.embedding_variance_ == pre.embedding_variance_
    np.testing.assert_array_equal(again.means_, pre.means_)


def test_from_json_refuses_a_corrupt_state():
    state = EHRPreprocessor().fit(hand_frame()).to_json()
    with pytest.raises(WeightsError, match="EHR preprocessor is invalid"):
        EHRPreprocessor.from_json({k: v for k, v in state.items() if k != "means"})
    with pytest.raises(WeightsError):
        EHRPreprocessor.from_json(state | {"feature_names": ["AGE"]})
    with pytest.raises(WeightsError, match="wrong shapes"):
        EHRPreprocessor.from_json(state | {"means": [0.0]})


def test_fit_needs_two_rows():
    with pytest.raises(InvalidEHRError, match="has 1 row"):
        EHRPreprocessor().fit(hand_frame().iloc[:1])


# --- the imputation replay ------------------------------------------------------------


def test_replay_of_hand_set_steps():
    replay = LinearImputerReplay.from_json(
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
    train = ehr_matrix(records_from_dataframe(train_df))
    test_df = random_frame(60, rng)
    test_df.loc[::7, "PTGENDER"] = np.nan
    test = ehr_matrix(records_from_dataframe(test_df))
    imputer = make_iterative_imputer(max_iter=10, random_state=0)
    imputer.fit(train)
    replay = LinearImputerReplay.from_sklearn(imputer)
    expected = imputer.transform(test)
    np.testing.assert_allclose(replay.transform(test), expected, rtol=1e-6)
    for i in range(5):  # single rows take the plain-Python path
        np.testing.assert_allclose(
            replay.transform(test[i : i + 1]), expected[i : i + 1], rtol=1e-6
        )
    # The preprocessor fits the same imputer, then z-scores its output.
    pre = EHRPreprocessor().fit(train_df)
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
    replay = LinearImputerReplay.from_sklearn(imputer)
    restored = LinearImputerReplay.from_json(json.loads(json.dumps(replay.to_json())))
    np.testing.assert_allclose(
        restored.transform(test), imputer.transform(test), rtol=1e-6
    )
