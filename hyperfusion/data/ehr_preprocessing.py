"""EHR preprocessing: validated records to the model's tabular input.

:class:`EHRPreprocessor` turns records into the paper's 16-value vector
(:data:`~hyperfusion.data.ehr_schema.AD_FEATURES`): iterative imputation, z-scores and
missing-value flags, fitted on the training split only and saved as JSON with the
weights. The fitted imputer is replayed in numpy by :class:`LinearImputerReplay`, and
:func:`sex_onehot` gives the brain-age network's two-value input.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.data.ehr_parsing import parse_value, records_from_dataframe
from hyperfusion.data.ehr_schema import (
    AD_FEATURES,
    FIELD_BY_NAME,
    FLAGGED_FEATURES,
    IMPUTER_COLUMNS,
    NUMERIC_FEATURES,
    EHRValue,
)
from hyperfusion.errors import InvalidEHRError, WeightsError

_FEW_ROWS = 16  # up to this many rows the imputation replay runs in plain Python

# What fit and transform take: a frame (validated here, as it comes from a file) or
# records already validated by validate_ehr (used as they are).
EHRData = pd.DataFrame | Sequence[Mapping[str, EHRValue]]


def sex_onehot(record: Mapping[str, object]) -> np.ndarray:
    """The sex one-hot ``[Female, Male]``, shape ``(2,)`` float32; unknown is 0.5/0.5.

    >>> sex_onehot({"PTGENDER": "Male"})
    array([0., 1.], dtype=float32)
    """
    sex = parse_value("PTGENDER", record.get("PTGENDER"))
    if sex is None:
        return np.array([0.5, 0.5], dtype=np.float32)
    return np.array([sex == "Female", sex == "Male"], dtype=np.float32)


def ehr_matrix(records: Sequence[Mapping[str, EHRValue]]) -> np.ndarray:
    """Validated records as the imputer's input, ``(N, 9)`` float64, NaN for unknown.

    Columns are :data:`IMPUTER_COLUMNS`: the eight numeric inputs, then sex coded
    Female 0 / Male 1.
    """
    out = np.full((len(records), len(IMPUTER_COLUMNS)), np.nan)
    for i, record in enumerate(records):
        for j, name in enumerate(NUMERIC_FEATURES):
            value = record.get(name)
            if value is not None:
                out[i, j] = value
        sex = record.get("PTGENDER")
        if sex is not None:
            out[i, -1] = 1.0 if sex == "Male" else 0.0
    return out


def make_iterative_imputer(max_iter: int = 10, random_state: int = 0) -> Any:
    """The scikit-learn ``IterativeImputer`` that :class:`EHRPreprocessor` fits.

    Median start, deterministic (no posterior sampling), default ``BayesianRidge``
    estimators, imputations clipped to each column's plausible range, and columns
    never seen in training kept (at 0) so the shape never changes.
    """
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    low = [FIELD_BY_NAME[name].low for name in NUMERIC_FEATURES] + [0.0]
    high = [FIELD_BY_NAME[name].high for name in NUMERIC_FEATURES] + [1.0]
    return IterativeImputer(
        max_iter=max_iter,
        random_state=random_state,
        initial_strategy="median",
        sample_posterior=False,
        min_value=np.asarray(low, dtype=np.float64),
        max_value=np.asarray(high, dtype=np.float64),
        keep_empty_features=True,
    )


class LinearImputerReplay:
    """A fitted ``IterativeImputer`` with linear estimators, replayed in numpy.

    Stores what ``IterativeImputer.transform`` uses: the initial fill values, the
    columns empty in training, the clip bounds and, per imputation step, the imputed
    column, its predictors and the estimator's ``coef_`` and ``intercept_``. It is JSON
    serialisable and, on one row, about 0.1 ms against scikit-learn's 10 ms.
    """

    def __init__(
        self,
        initial: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
        empty: np.ndarray,
        steps: Sequence[tuple[int, np.ndarray, np.ndarray, float]],
    ) -> None:
        self.initial = np.asarray(initial, dtype=np.float64)
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.empty = np.asarray(empty, dtype=bool)
        self.steps = [
            (int(f), np.asarray(n, dtype=np.intp), np.asarray(c, np.float64), float(b))
            for f, n, c, b in steps
        ]
        # Plain-float copies: on a few rows Python beats numpy's per-call overhead.
        self._py_steps = [
            (f, list(zip(n.tolist(), c.tolist(), strict=True)), b, *self._bounds(f))
            for f, n, c, b in self.steps
        ]

    def _bounds(self, feat: int) -> tuple[float, float]:
        return float(self.low[feat]), float(self.high[feat])

    @classmethod
    def from_sklearn(cls, imputer: Any) -> LinearImputerReplay:
        """Extract the replay from a fitted deterministic ``IterativeImputer``."""
        if imputer.sample_posterior or imputer.add_indicator:
            raise ValueError("only sample_posterior=False without indicators replays")
        if not imputer.keep_empty_features:
            raise ValueError("only keep_empty_features=True replays")
        n = imputer.n_features_in_
        if not all(hasattr(t.estimator, "coef_") for t in imputer.imputation_sequence_):
            raise ValueError("only linear estimators (coef_, intercept_) replay")
        steps = [
            (t.feat_idx, t.neighbor_feat_idx, t.estimator.coef_, t.estimator.intercept_)
            for t in imputer.imputation_sequence_
        ]
        # Private scikit-learn state (checked against transform in the tests). The
        # bounds exist only when fit ran imputation rounds; without steps they are moot.
        low = getattr(imputer, "_min_value", np.full(n, -np.inf))
        high = getattr(imputer, "_max_value", np.full(n, np.inf))
        initial = imputer.initial_imputer_.statistics_
        return cls(initial, low, high, imputer._is_empty_feature, steps)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Impute the NaNs of ``X`` ``(N, F)``; returns a new float64 array."""
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        filled = np.where(missing, self.initial, X)
        # As scikit-learn: a column empty in training is never imputed by a model.
        missing[:, self.empty] = False
        if missing.all():
            return filled
        if len(X) <= _FEW_ROWS:
            for row, row_missing in zip(filled, missing, strict=True):
                row[:] = self._replay_row(row.tolist(), row_missing.tolist())
            return filled
        rows_of = [np.flatnonzero(column) for column in missing.T]
        for feat, neighbors, coef, intercept in self.steps:
            rows = rows_of[feat]
            if rows.size:  # scikit-learn skips a column with nothing to impute
                pred = filled[rows][:, neighbors] @ coef + intercept
                pred = np.minimum(np.maximum(pred, self.low[feat]), self.high[feat])
                filled[rows, feat] = pred
        return filled

    def _replay_row(self, row: list[float], missing: list[bool]) -> list[float]:
        """The same steps on one row in plain Python (about 0.1 ms, the UI's case)."""
        for feat, terms, intercept, low, high in self._py_steps:
            if missing[feat]:
                pred = sum([row[j] * c for j, c in terms]) + intercept
                row[feat] = min(max(pred, low), high)
        return row

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready lists (floats round-trip exactly through JSON)."""

        def bound(values: np.ndarray) -> list[float | None]:
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "initial": self.initial.tolist(),
            "low": bound(self.low),
            "high": bound(self.high),
            "empty": self.empty.tolist(),
            "steps": [
                {
                    "feature": f,
                    "neighbors": n.tolist(),
                    "coef": c.tolist(),
                    "intercept": b,
                }
                for f, n, c, b in self.steps
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearImputerReplay:
        """Rebuild from :meth:`to_json` output (``None`` bounds mean unbounded)."""

        def bound(values: Sequence[float | None], default: float) -> np.ndarray:
            return np.array([default if v is None else v for v in values], float)

        steps = [
            (s["feature"], s["neighbors"], s["coef"], s["intercept"])
            for s in data["steps"]
        ]
        return cls(
            np.asarray(data["initial"], dtype=np.float64),
            bound(data["low"], -np.inf),
            bound(data["high"], np.inf),
            np.asarray(data["empty"], dtype=bool),
            steps,
        )


def _as_records(data: EHRData) -> Sequence[Mapping[str, EHRValue]]:
    """A frame's validated records, or already-validated records as they are."""
    if isinstance(data, pd.DataFrame):
        return records_from_dataframe(data)
    return data


class EHRPreprocessor:
    """Records to the paper's 16-value tabular vector (:data:`AD_FEATURES`).

    Iterative imputation (median start) of the eight numeric inputs with sex as an
    extra predictor, z-scores of the imputed values, the sex one-hot (unknown sex is
    0.5/0.5) and missing-value flags for APOE4, ABETA, PTAU, TAU, FDG and AV45. Fit on
    the training split only (the reference code also fits on the test subjects).

    Fitted attributes: ``imputer_`` (a :class:`LinearImputerReplay`), ``means_`` and
    ``scales_`` (``(8,)``, over the imputed training values; a zero spread scales by
    1; a column never observed in training is 0), ``n_train_`` and
    ``embedding_variance_``: the mean over training subjects of
    the variance (ddof 0) of each subject's transformed 16-value vector, the
    ``Var(e)`` of hyperfan-in initialisation.

    Input is validated once, at the boundary: :meth:`fit` and :meth:`transform`
    validate a DataFrame (it comes from a file) but use a sequence of records as they
    are, so records must be the output of
    :func:`~hyperfusion.data.ehr_parsing.validate_ehr`.

    Args:
        max_iter: imputation rounds at most (scikit-learn may stop earlier).
        random_state: seed handed to scikit-learn (the setup is deterministic).
    """

    def __init__(self, max_iter: int = 10, random_state: int = 0) -> None:
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, data: EHRData) -> EHRPreprocessor:
        """Learn imputation and scaling from the training split; returns ``self``.

        Args:
            data: a frame with the field columns (validated here through
                :func:`~hyperfusion.data.ehr_parsing.records_from_dataframe`, since a
                frame comes from a file), or records already validated by
                :func:`~hyperfusion.data.ehr_parsing.validate_ehr`, used as they are.
        """
        from sklearn.exceptions import ConvergenceWarning

        records = _as_records(data)
        if len(records) < 2:
            raise InvalidEHRError(
                f"the EHR training data has {len(records)} row(s); accepted: at least 2"
            )
        X = ehr_matrix(records)
        imputer = make_iterative_imputer(self.max_iter, self.random_state)
        with warnings.catch_warnings():
            # Not reaching tol within max_iter rounds is harmless and not actionable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            imputer.fit(X)
        self.imputer_ = LinearImputerReplay.from_sklearn(imputer)
        numeric = self.imputer_.transform(X)[:, : len(NUMERIC_FEATURES)]
        self.means_ = numeric.mean(axis=0)
        std = numeric.std(axis=0)
        self.scales_ = np.where(std > 0, std, 1.0)
        self.n_train_ = len(records)
        self.embedding_variance_ = float(self._transform(X).var(axis=1).mean())
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "imputer_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "this EHRPreprocessor is not fitted; call fit(train_df) or from_json()"
            )

    def transform(self, data: EHRData) -> np.ndarray:
        """The tabular vectors ``(N, 16)`` float32, columns :data:`AD_FEATURES`.

        Args:
            data: a frame (validated here) or records already validated by
                :func:`~hyperfusion.data.ehr_parsing.validate_ehr` (not validated
                again), as for :meth:`fit`.
        """
        self._check_fitted()
        return self._transform(ehr_matrix(_as_records(data)))

    def transform_one(self, record: Mapping[str, EHRValue]) -> np.ndarray:
        """One validated record's tabular vector, ``(16,)`` float32.

        ``record`` is the output of
        :func:`~hyperfusion.data.ehr_parsing.validate_ehr`; it is not validated again.
        """
        return self.transform([record])[0]

    def _transform(self, X: np.ndarray) -> np.ndarray:
        n_num = len(NUMERIC_FEATURES)
        imputed = self.imputer_.transform(X)
        out = np.empty((len(X), len(AD_FEATURES)), dtype=np.float64)
        out[:, :n_num] = (imputed[:, :n_num] - self.means_) / self.scales_
        # A column never observed in training carries no information the model saw.
        out[:, :n_num][:, self.imputer_.empty[:n_num]] = 0.0
        male = X[:, -1]
        out[:, n_num] = np.where(np.isnan(male), 0.5, 1.0 - male)
        out[:, n_num + 1] = np.where(np.isnan(male), 0.5, male)
        flagged = [NUMERIC_FEATURES.index(name) for name in FLAGGED_FEATURES]
        out[:, n_num + 2 :] = np.isnan(X[:, flagged])
        return out.astype(np.float32)

    def feature_names_out(self) -> tuple[str, ...]:
        """The names of the 16 output columns, :data:`AD_FEATURES`."""
        return AD_FEATURES

    def to_json(self) -> dict[str, Any]:
        """The parameters and fitted state as a JSON-ready dict."""
        self._check_fitted()
        return {
            "format": "hyperfusion.EHRPreprocessor",
            "version": 1,
            "params": {"max_iter": self.max_iter, "random_state": self.random_state},
            "feature_names": list(AD_FEATURES),
            "imputer_columns": list(IMPUTER_COLUMNS),
            "imputer": self.imputer_.to_json(),
            "means": self.means_.tolist(),
            "scales": self.scales_.tolist(),
            "n_train": self.n_train_,
            "embedding_variance": self.embedding_variance_,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EHRPreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_json` output.

        Raises :class:`WeightsError` when the state is not one this version wrote.
        """
        try:
            if data["format"] != "hyperfusion.EHRPreprocessor" or data["version"] != 1:
                raise ValueError("unknown format or version")
            if (
                tuple(data["feature_names"]) != AD_FEATURES
                or tuple(data["imputer_columns"]) != IMPUTER_COLUMNS
            ):
                raise ValueError("different features")
            pre = cls(**data["params"])
            pre.imputer_ = LinearImputerReplay.from_json(data["imputer"])
            pre.means_ = np.asarray(data["means"], dtype=np.float64)
            pre.scales_ = np.asarray(data["scales"], dtype=np.float64)
            pre.n_train_ = int(data["n_train"])
            pre.embedding_variance_ = float(data["embedding_variance"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(
                f"the saved EHR preprocessor is invalid ({exc}); accepted: the output "
                "of EHRPreprocessor.to_json() from this version"
            ) from exc
        n = len(NUMERIC_FEATURES)
        if pre.means_.shape != (n,) or pre.imputer_.initial.shape != (n + 1,):
            raise WeightsError(
                "the saved EHR preprocessor has the wrong shapes; accepted: the "
                "output of EHRPreprocessor.to_json() from this version"
            )
        return pre


__all__ = [
    "EHRData",
    "EHRPreprocessor",
    "LinearImputerReplay",
    "ehr_matrix",
    "make_iterative_imputer",
    "sex_onehot",
]
