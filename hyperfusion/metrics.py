"""Evaluation metrics, in numpy, with no dependence on which classes are present.

Classification (CN / MCI / AD): balanced accuracy, macro F1, macro one-vs-rest AUC,
the confusion matrix and the top-label expected calibration error. Brain age: MAE,
R² and the regression-to-the-mean bias (slope and correlation of the error against
true age). Classes absent from ``y_true`` are left out of the macro averages, as in
scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 15
ROUND_DIGITS = 6
# Every metric the functions below return, as a table or a figure names it.
METRIC_LABELS: dict[str, str] = {
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro F1",
    "macro_auc": "Macro AUC",
    "ece": "ECE",
    "accuracy": "Accuracy",
    "mae": "MAE (years)",
    "r2": "R²",
    "bias_slope": "Bias slope",
    "bias_corr": "Bias corr.",
    "mean_error": "Mean error (years)",
}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64.

    >>> softmax(np.zeros((1, 2))).tolist()
    [[0.5, 0.5]]
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 3
) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: rows are true classes, columns predicted.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def balanced_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 3
) -> float:
    """Mean recall over the classes present in ``y_true``.

    >>> balanced_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
    0.8333333333333333
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    present = support > 0
    return float((np.diag(cm)[present] / support[present]).mean())


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 3) -> float:
    """Mean F1 over classes present in ``y_true`` or ``y_pred`` (0 where undefined).

    >>> macro_f1(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]))
    1.0
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # 2·TP + FP + FN
    present = denom > 0
    return float((2 * tp[present] / denom[present]).mean())


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and sorted_vals[stop + 1] == sorted_vals[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return ranks


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney U / (n_pos · n_neg)); NaN without both classes.

    >>> binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _ranks(np.asarray(score, dtype=np.float64))
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def macro_auc_ovr(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean one-vs-rest AUC over classes with both positives and negatives."""
    y_true = np.asarray(y_true, int)
    aucs = [
        binary_auc(y_true == k, probs[:, k])
        for k in range(probs.shape[1])
        if 0 < (y_true == k).sum() < len(y_true)
    ]
    return float(np.mean(aucs)) if aucs else float("nan")


def _confidence_bins(
    probs: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top-label binning of :func:`expected_calibration_error` and
    :func:`reliability_bins`: per row, the confidence (highest probability), its
    bin index and the top class.

    Bin ``b`` holds confidences in ``(b/n_bins, (b+1)/n_bins]``; a confidence of 0
    falls in the first bin.
    """
    conf = probs.max(axis=1)
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    return conf, bins, probs.argmax(axis=1)


def expected_calibration_error(
    y_true: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Top-label ECE: ``sum_b |B_b|/N · |accuracy(B_b) - confidence(B_b)|``.

    Confidence is the highest probability; bin ``b`` holds confidences in
    ``(b/n_bins, (b+1)/n_bins]`` (a confidence of 0 falls in the first bin).

    >>> expected_calibration_error(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
    0.45
    """
    probs = np.asarray(probs, dtype=np.float64)
    conf, bins, top = _confidence_bins(probs, n_bins)
    correct = (top == np.asarray(y_true)).astype(np.float64)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.sum() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total / len(conf))


def reliability_bins(
    y_true: np.ndarray, probs: np.ndarray, n_bins: int = ECE_BINS
) -> list[dict[str, float | int]]:
    """The reliability diagram of the top label: the non-empty bins of
    :func:`expected_calibration_error`, in order of confidence.

    Each bin: ``lower`` and ``upper`` (its edges), ``confidence`` (the mean highest
    probability inside), ``accuracy`` (the share of its rows whose top class is
    right) and ``count`` (rows). The count-weighted mean of ``|accuracy -
    confidence|`` is the ECE.

    >>> reliability_bins(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), 5)
    [{'lower': 0.6, 'upper': 0.8, 'confidence': 0.8, 'accuracy': 0.0, 'count': 1}, \
{'lower': 0.8, 'upper': 1.0, 'confidence': 0.9, 'accuracy': 1.0, 'count': 1}]
    """
    probs = np.asarray(probs, dtype=np.float64)
    conf, bins, top = _confidence_bins(probs, n_bins)
    correct = (top == np.asarray(y_true)).astype(np.float64)
    return [
        {
            "lower": int(b) / n_bins,
            "upper": (int(b) + 1) / n_bins,
            "confidence": float(conf[bins == b].mean()),
            "accuracy": float(correct[bins == b].mean()),
            "count": int((bins == b).sum()),
        }
        for b in np.unique(bins)
    ]


def classification_metrics(y_true: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """Every classification metric from true labels and logits ``(N, C)``.

    Values are rounded to :data:`ROUND_DIGITS` decimals, so that a recomputation
    from the same checkpoint reproduces them exactly.
    """
    y_true = np.asarray(y_true, int)
    probs = softmax(logits)
    pred = probs.argmax(axis=1)
    n_classes = probs.shape[1]
    values = {
        "balanced_accuracy": balanced_accuracy(y_true, pred, n_classes),
        "macro_f1": macro_f1(y_true, pred, n_classes),
        "macro_auc": macro_auc_ovr(y_true, probs),
        "ece": expected_calibration_error(y_true, probs),
        "accuracy": float((pred == y_true).mean()),
    }
    out: dict[str, Any] = {k: _round(v) for k, v in values.items()}
    out["confusion_matrix"] = confusion_matrix(y_true, pred, n_classes).tolist()
    out["n"] = len(y_true)
    return out


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error.

    >>> mae(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    1.5
    """
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (NaN if ``SS_tot`` is 0).

    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    0.5
    """
    y_true = np.asarray(y_true, float)
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    ss_res = float(((y_true - np.asarray(y_pred, float)) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def age_bias(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Slope and Pearson correlation of the error ``pred - true`` against true age.

    A negative slope is the usual regression to the mean: the young are predicted
    older, the old younger.

    >>> age_bias(np.array([20.0, 40.0, 60.0]), np.array([30.0, 40.0, 50.0]))
    (-0.5, -1.0)
    """
    x = np.asarray(y_true, float)
    err = np.asarray(y_pred, float) - x
    dx, de = x - x.mean(), err - err.mean()
    sxx, see = float((dx**2).sum()), float((de**2).sum())
    if sxx == 0:
        return float("nan"), float("nan")
    slope = float((dx * de).sum() / sxx)
    corr = float((dx * de).sum() / np.sqrt(sxx * see)) if see > 0 else 0.0
    return slope, corr


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """MAE, R², bias slope and correlation (rounded like the classification ones)."""
    slope, corr = age_bias(y_true, y_pred)
    values = {
        "mae": mae(y_true, y_pred),
        "r2": r2_score(y_true, y_pred),
        "bias_slope": slope,
        "bias_corr": corr,
        "mean_error": float(np.mean(np.asarray(y_pred, float) - y_true)),
    }
    out: dict[str, Any] = {k: _round(v) for k, v in values.items()}
    out["n"] = len(y_true)
    return out


def _round(value: float) -> float | None:
    """Round for storage; NaN becomes None (JSON has no NaN)."""
    return None if not np.isfinite(value) else round(float(value), ROUND_DIGITS)


__all__ = [
    "ECE_BINS",
    "METRIC_LABELS",
    "age_bias",
    "balanced_accuracy",
    "binary_auc",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "macro_auc_ovr",
    "macro_f1",
    "mae",
    "r2_score",
    "regression_metrics",
    "reliability_bins",
    "softmax",
]
