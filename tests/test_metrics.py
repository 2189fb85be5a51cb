"""Metrics against values worked out by hand (and one cross-check with sklearn)."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.metrics import (
    age_bias,
    balanced_accuracy,
    binary_auc,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    macro_auc_ovr,
    macro_f1,
    mae,
    r2_score,
    regression_metrics,
    reliability_bins,
    softmax,
)

# Six subjects, three classes.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])
# Rows: true CN, MCI, AD; columns: predicted.
#   CN : [1, 1, 0]   (one right, one called MCI)
#   MCI: [0, 2, 0]
#   AD : [1, 0, 1]   (one right, one called CN)


def test_confusion_matrix_by_hand():
    assert confusion_matrix(Y_TRUE, Y_PRED).tolist() == [
        [1, 1, 0],
        [0, 2, 0],
        [1, 0, 1],
    ]


def test_balanced_accuracy_by_hand():
    # Recalls: CN 1/2, MCI 2/2, AD 1/2 -> mean 2/3.
    assert balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)


def test_balanced_accuracy_ignores_absent_classes():
    # Only CN present: recall 1/2.
    assert balanced_accuracy(np.array([0, 0]), np.array([0, 2])) == 0.5


def test_macro_f1_by_hand():
    # CN: TP 1, FP 1, FN 1 -> 2/(2+1+1) = 1/2.  MCI: TP 2, FP 1, FN 0 -> 4/5.
    # AD: TP 1, FP 0, FN 1 -> 2/3.  Mean (1/2 + 4/5 + 2/3) / 3 = 59/90.
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(59 / 90)


def test_binary_auc_by_hand_with_a_tie():
    # Positives score 0.8 and 0.4; negatives 0.4 and 0.1. Pairs (pos, neg):
    # (0.8, 0.4) 1, (0.8, 0.1) 1, (0.4, 0.4) tie 1/2, (0.4, 0.1) 1 -> 3.5 / 4.
    auc = binary_auc(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.4, 0.1]))
    assert auc == 0.875
    assert np.isnan(binary_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_macro_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=40)
    probs = rng.dirichlet(np.ones(3), size=40)
    probs[:, 0] = np.round(probs[:, 0], 1)  # ties
    probs /= probs.sum(axis=1, keepdims=True)
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert macro_auc_ovr(y, probs) == pytest.approx(expected, abs=1e-12)


def test_ece_by_hand():
    # Confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.5 (right).
    # 15 bins of width 1/15: 0.9 -> bin 13, 0.6 -> bin 8, 0.5 -> bin 7.
    # Bin 13: accuracy 1/2, confidence 0.9 -> |0.5 - 0.9| = 0.4, weight 2/4.
    # Bin 8: |1 - 0.6| = 0.4, weight 1/4.  Bin 7: |1 - 0.5| = 0.5, weight 1/4.
    # ECE = 0.2 + 0.1 + 0.125 = 0.425.
    probs = np.array(
        [[0.9, 0.05, 0.05], [0.9, 0.1, 0.0], [0.2, 0.6, 0.2], [0.25, 0.25, 0.5]]
    )
    y = np.array([0, 1, 1, 2])
    assert expected_calibration_error(y, probs) == pytest.approx(0.425)


def test_ece_is_zero_for_a_calibrated_bin():
    # Four predictions at confidence 0.75 of which three are right.
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(np.array([0, 0, 0, 1]), probs) == 0.0


def test_reliability_bins_by_hand():
    # The four subjects of test_ece_by_hand: bins 7, 8 and 13 of 15.
    probs = np.array(
        [[0.9, 0.05, 0.05], [0.9, 0.1, 0.0], [0.2, 0.6, 0.2], [0.25, 0.25, 0.5]]
    )
    bins = reliability_bins(np.array([0, 1, 1, 2]), probs)
    assert [b["count"] for b in bins] == [1, 1, 2]
    assert [b["accuracy"] for b in bins] == [1.0, 1.0, 0.5]
    assert [b["confidence"] for b in bins] == pytest.approx([0.5, 0.6, 0.9])
    assert (bins[0]["lower"], bins[0]["upper"]) == pytest.approx((7 / 15, 8 / 15))
    assert bins[2]["lower"] < 0.9 <= bins[2]["upper"]


def test_reliability_bins_weighted_gap_is_the_ece(rng):
    # An identity, not a reimplementation: the count-weighted mean distance of the
    # bins from the diagonal is the ECE, for any predictions and bin count.
    logits = rng.normal(scale=2.0, size=(500, 3))
    y = rng.integers(0, 3, size=500)
    probs = softmax(logits)
    for n_bins in (1, 5, 15, 40):
        bins = reliability_bins(y, probs, n_bins)
        assert sum(b["count"] for b in bins) == len(y)
        gap = sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins)
        assert gap / len(y) == pytest.approx(
            expected_calibration_error(y, probs, n_bins), abs=1e-12
        )
        assert all(b["lower"] < b["confidence"] <= b["upper"] for b in bins)


def test_classification_metrics_from_logits():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    out = classification_metrics(np.array([0, 1, 1]), logits)
    # Predictions 0, 1, 2: recalls CN 1, MCI 1/2 -> 0.75.
    assert out["balanced_accuracy"] == 0.75
    assert out["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert out["n"] == 3 and out["accuracy"] == pytest.approx(0.666667)


def test_regression_metrics_by_hand():
    true = np.array([20.0, 40.0, 60.0, 80.0])
    pred = np.array([30.0, 40.0, 50.0, 70.0])
    # Errors +10, 0, -10, -10: MAE 7.5.
    assert mae(true, pred) == 7.5
    # SS_res = 100 + 0 + 100 + 100 = 300; SS_tot = 900 + 100 + 100 + 900 = 2000.
    assert r2_score(true, pred) == pytest.approx(1 - 300 / 2000)
    # Error vs age: dx = -30, -10, 10, 30; de = 12.5, 2.5, -7.5, -7.5.
    # Sxy = -375 - 25 - 75 - 225 = -700; Sxx = 2000 -> slope -0.35.
    # See = 156.25 + 6.25 + 56.25 + 56.25 = 275 -> corr -700 / sqrt(2000 * 275).
    slope, corr = age_bias(true, pred)
    assert slope == pytest.approx(-0.35)
    assert corr == pytest.approx(-700 / np.sqrt(2000 * 275))
    out = regression_metrics(true, pred)
    assert out["mae"] == 7.5 and out["mean_error"] == -2.5 and out["n"] == 4
