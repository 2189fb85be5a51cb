"""The model card's data: metrics.json read through the schema, cohort, training,
contract."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from torch import nn

from hyperfusion.config import AD_DEMO, BRAIN_AGE_DEMO
from hyperfusion.data import qc
from hyperfusion.errors import WeightsError
from hyperfusion.evaluate.schema import Check, Cohort
from hyperfusion.modelcard import card, compare, measured
from hyperfusion.models.registry import MODEL_NAMES
from tests.metrics_example import cam_summary, example_metrics, model_result

CM = [[40, 8, 2], [6, 50, 9], [1, 4, 15]]
METRICS = example_metrics(
    {
        "ad": {
            "film": model_result(
                {"balanced_accuracy": (0.68, 0.02), "macro_f1": (0.65, 0.01)},
                confusion=CM,
            ),
            "hyperfusion": model_result(
                {"balanced_accuracy": (0.71, 0.015), "ece": (0.05, 0.004)},
                n_seeds=2,
                reliability=[(0.5, 0.45, 10), (0.9, 0.86, 30)],
                cams=cam_summary(1.04, 3.8),
            ),
            "my-new-net": model_result({"balanced_accuracy": (0.5, 0.1)}, 1),
        },
        "brain-age": {
            "image-only": model_result({"mae": (5.1, 0.3), "bias_slope": (-0.2, 0.1)})
        },
    },
    cohorts={
        "ad": Cohort(description="SYNTHETIC cohort (seed 1)", n_test=300),
        "brain-age": Cohort(description="SYNTHETIC ageing cohort", n_test=200),
    },
    acceptance=[
        Check("AD: +5 points", 6.5, "points", True),
        Check(
            "Brain age: HyperFusion MAE < image-only MAE", 1.25, "years better", False
        ),
    ],
)


# metrics.json ----------------------------------------------------------------------


def test_missing_metrics_file_means_no_trained_weights(tmp_path, monkeypatch):
    assert measured.load_metrics(tmp_path / "metrics.json") is None
    monkeypatch.setattr(measured, "METRICS_PATH", tmp_path / "absent.json")
    assert measured.load_metrics() is None  # the default is read at call time
    assert measured.NO_METRICS.startswith("Not measured yet")
    assert "weights/metrics.json" in measured.NO_METRICS


def test_metrics_file_round_trips(tmp_path):
    path = tmp_path / "metrics.json"
    METRICS.write(path)
    assert measured.load_metrics(path) == METRICS


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_unreadable_metrics_file_raises_a_weights_error(tmp_path, text):
    path = tmp_path / "metrics.json"
    path.write_text(text)
    with pytest.raises(WeightsError, match="metrics.json"):
        measured.load_metrics(path)


def test_a_misspelt_key_is_refused_not_read_as_not_measured(tmp_path):
    # Regression: six spellings per key were accepted, and a seventh silently
    # showed "—" as if nothing had been measured.
    data = METRICS.to_json()
    ece = data["models"]["ad"]["hyperfusion"]["aggregate"]["ece"]
    ece["std"] = ece.pop("sd")
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        WeightsError, match=r"hyperfusion\.aggregate\.ece\.sd is missing"
    ):
        measured.load_metrics(path)


def test_metrics_table_follows_the_registry_order_and_keeps_unknown_models():
    table = measured.metrics_table(METRICS, "ad")
    assert list(table["model"]) == ["hyperfusion", "film", "my-new-net"]
    assert list(table["label"]) == ["HyperFusion", "FiLM", "my-new-net"]
    film = table.set_index("model").loc["film"]
    assert film["balanced_accuracy"] == 0.68 and film["n_seeds"] == 3
    assert np.isnan(film["macro_auc"]) and film["macro_f1_sd"] == 0.01
    text = measured.format_metrics_table(table, "ad").set_index("model")
    assert text.loc["HyperFusion", "Balanced accuracy"] == "0.710 ± 0.015"
    assert text.loc["FiLM", "Macro F1"] == "0.650 ± 0.010"
    assert text.loc["FiLM", "Macro AUC"] == "—"
    assert text.loc["FiLM", "seeds"] == "3" and text.loc["HyperFusion", "seeds"] == "2"
    brain = measured.format_metrics_table(
        measured.metrics_table(METRICS, "brain-age"), "brain-age"
    )
    assert brain.loc[0, "MAE (years)"] == "5.10 ± 0.30"  # the task's two decimals
    assert list(brain.columns) == [
        "model",
        "seeds",
        "MAE (years)",
        "R²",
        "Bias slope",
        "Bias corr.",
    ]


def test_metrics_table_is_empty_but_shaped_without_metrics():
    table = measured.metrics_table(None, "brain-age")
    assert table.empty and {"mae", "mae_sd", "r2"} <= set(table.columns)


def test_confusion_matrix_is_pooled_over_seeds_or_absent():
    matrix, classes = measured.confusion_matrix(METRICS, "film")
    np.testing.assert_array_equal(matrix, 3 * np.array(CM))  # three seeds
    assert classes == ("CN", "MCI", "AD")
    assert measured.confusion_matrix(METRICS, "hyperfusion") is None
    assert measured.confusion_matrix(METRICS, "daft") is None  # not evaluated
    assert measured.confusion_matrix(None, "film") is None
    square = example_metrics(
        {"ad": {"x": model_result({}, confusion=[[1, 2], [3, 4]])}}
    )
    assert measured.confusion_matrix(square, "x") is None  # not three classes


def test_reliability_bins_come_from_the_pooled_seeds():
    bins = measured.reliability_bins(METRICS, "hyperfusion")
    assert list(bins.columns) == ["confidence", "accuracy", "count"]
    assert list(bins["confidence"]) == [0.5, 0.9]
    assert list(bins["count"]) == [10, 30]
    assert measured.reliability_bins(METRICS, "film") is None
    assert measured.reliability_bins(None, "film") is None
    curves = measured.reliability_curves(METRICS, ["film", "hyperfusion"])
    assert list(curves) == ["HyperFusion"]  # labelled; FiLM recorded no bins


def test_localisation_of_both_maps_is_read():
    assert measured.gradcam_localisation(METRICS) == 1.04
    assert measured.gradcam_localisation(METRICS, "hirescam") == 3.8
    assert measured.gradcam_localisation(example_metrics({})) is None
    assert measured.gradcam_localisation(None) is None


def test_the_evaluation_cohorts_are_read():
    cohort = card.cohort_table(METRICS).set_index("item")
    assert card.cohort_note(METRICS).startswith("SYNTHETIC data")
    assert card.cohort_note(None) is None
    assert cohort.loc["Test subjects", "CN / MCI / AD diagnosis"] == "300"
    assert cohort.loc["Cohort", "Brain age"] == "SYNTHETIC ageing cohort"


def test_acceptance_checks_are_listed_with_units():
    table = measured.acceptance_table(METRICS)
    assert list(table["value"]) == ["6.5 points", "1.25 years better"]
    assert list(table["passed"]) == [True, False]
    assert measured.acceptance_table(None).empty


# Cohort and training ---------------------------------------------------------------


def test_class_counts_come_from_the_cohort_on_disk(tmp_path):
    folder = tmp_path / "ad-cohort"
    folder.mkdir()
    (folder / "ehr.csv").write_text("PTID,DX\nA,CN\nB,MCI\nC,MCI\nD,AD\n")
    ad_card = {"task": "ad", "trained_on": {"cohort": "ad-cohort", "n_train": 3}}
    brain = {"task": "brain-age", "trained_on": {"cohort": "ad-cohort"}}
    counts = card.class_counts([brain, ad_card], cohorts_dir=tmp_path)
    assert counts == {"CN": 1.0, "MCI": 2.0, "AD": 1.0}  # the classification's
    gone = {"task": "ad", "trained_on": {"cohort": "elsewhere"}}
    assert card.class_counts([gone], cohorts_dir=tmp_path) is None
    assert card.class_counts([brain], cohorts_dir=tmp_path) is None
    assert sum(card.design_class_fractions().values()) == pytest.approx(1.0)


def test_cohort_table_labels_rows_in_words_without_duplicates():
    # Regression: rows read "ad: description", raw keys with a task prefix.
    cards = [
        {
            "task": "ad",
            "trained": True,
            "trained_on": {
                "cohort": "synthetic, seed 0",
                "n_train": 1000,
                "n_val": 350,  # the same number as another item: kept
                "test_ptids_sha256": "ab" * 32,
                "splits": {"train": {"CN": 350, "MCI": 480, "AD": 170}},
            },
        },
        {"task": "ad", "trained": True, "trained_on": {"n_train": 999}},  # 2nd seed
        {"task": "brain-age", "trained": True, "trained_on": {"ages": [20, 90]}},
    ]
    recorded = example_metrics({}, {"ad": Cohort(description="synthetic, seed 0")})
    table = card.cohort_table(recorded, cards).set_index("item")
    assert list(table.columns) == ["CN / MCI / AD diagnosis", "Brain age"]
    ad, brain = table["CN / MCI / AD diagnosis"], table["Brain age"]
    assert ad["Cohort"] == "synthetic, seed 0"
    assert ad["Splits / train / CN"] == "350" and ad["Validation subjects"] == "350"
    assert ad["Training subjects"] == "1000" and brain["Ages"] == "20, 90"
    assert brain["Cohort"] == "—"
    assert "Cohort folder" not in table.index  # same text as the cohort
    assert not any("sha256" in i.lower() for i in table.index)  # hashes left out
    assert not any(":" in i or "_" in i for i in table.index)  # words, not keys
    first = ["Cohort", "Training subjects", "Validation subjects"]
    assert list(table.index[:3]) == first
    assert len(card.cohort_table(None, [])) == 0


def test_untrained_placeholders_record_no_cohort():
    untrained = {
        "task": "ad",
        "trained": False,
        "trained_on": {"description": "UNTRAINED: random weights, no training data"},
    }
    assert card.cohort_table(None, [untrained]).empty  # the page hides the table
    trained = {
        "task": "brain-age",
        "trained": True,
        "trained_on": {"description": "ageing", "synthetic": True, "n_test": 5},
    }
    table = card.cohort_table(None, [untrained, trained])
    assert list(table.columns) == ["item", "Brain age"]
    assert dict(table.values) == {
        "Cohort": "ageing",
        "Synthetic data": "yes",
        "Test subjects": "5",
    }


def test_the_untrained_notice_fits_none_some_or_all_untrained():
    assert card.untrained_notice([], 3) is None
    every = card.untrained_notice([("ad", "hyperfusion"), ("brain-age", "x")], 2)
    assert every.startswith("UNTRAINED weights")
    some = card.untrained_notice(
        [("ad", "film"), ("ad", "daft"), ("brain-age", "hyperfusion")], 12
    )
    assert some.startswith("Some models still run on untrained placeholder weights")
    assert some.endswith("CN / MCI / AD diagnosis: FiLM, DAFT; Brain age: HyperFusion.")
    assert "no trained checkpoints" not in some


def trained_card(seed: int, epochs_run: int) -> dict:
    """A checkpoint card as training writes it."""
    return {
        "trained": True,
        "seed": seed,
        "n_parameters": 905755,
        "config": {"grid": {"shape": [48, 32, 24], "voxel_mm": 3.0}},
        "training": {
            "train_config": {"epochs": 30, "lr": 0.001, "class_weights": [1.1, 0.7]},
            "selection": "validation balanced accuracy",
            "epochs_run": epochs_run,
            "torch": "2.13.0",
        },
    }


def test_training_table_reads_settings_from_the_cards():
    old = {"trained": False, "seed": 0, "training": {"train_config": {"epochs": 5}}}
    table = card.training_table(
        {
            "FiLM (ad)": [trained_card(0, 12), trained_card(1, 15)],
            "Old (ad)": [old],
            "None": [],
        }
    )
    film = table.set_index("model").loc["FiLM (ad)"]
    assert film["trained"] == "yes" and film["seeds"] == "0, 1"
    assert film["parameters"] == "905,755"
    assert film["input grid"] == "48 × 32 × 24 at 3 mm"
    assert film["max epochs"] == "30" and film["learning rate"] == "0.001"
    assert film["class weights"] == "1.1, 0.7"
    assert film["epochs run"] == "12, 15"  # differs between seeds: one per seed
    assert film["model selection"] == "validation balanced accuracy"
    assert "torch" not in table.columns  # only the curated settings
    other = table.set_index("model").loc["Old (ad)"]
    assert other["trained"] == "NO" and other["max epochs"] == "5"
    assert other["learning rate"] == "—" and other["input grid"] == "—"
    assert "None" not in set(table["model"])


def test_training_table_keeps_unknown_settings_when_none_is_curated():
    odd = {"seed": 0, "training": {"optimiser": "sgd"}}
    table = card.training_table({"X": [odd]})
    assert table.loc[0, "optimiser"] == "sgd"


def test_ensemble_cards_count_parameters_of_placeholders():
    linear = SimpleNamespace(card={"seed": 0}, model=nn.Linear(3, 2))
    known = SimpleNamespace(card={"n_parameters": 7}, model=nn.Linear(3, 2))
    cards = card.ensemble_cards([linear, known])
    assert [c["n_parameters"] for c in cards] == [8, 7]
    assert "n_parameters" not in linear.card  # the checkpoint's card is untouched


# Models side by side ---------------------------------------------------------------


def prediction(cn: float, mci: float, ad: float, sd: float = 0.0) -> dict:
    probs = {"CN": cn, "MCI": mci, "AD": ad}
    return {
        "probabilities": probs,
        "probabilities_sd": dict.fromkeys(probs, sd),
        "diagnosis": max(probs, key=probs.get),
        "ensemble_size": {"ad": 3, "brain-age": 3},
    }


def test_catalogue_lists_every_registered_ad_model():
    cat = compare.model_catalogue("ad")
    assert list(cat["model"]) == list(MODEL_NAMES["ad"])
    row = cat.set_index("model").loc["tabular-only"]
    assert not row["uses image"] and row["uses EHR"]
    assert cat["description"].str.len().min() > 40


def test_predictions_table_has_one_row_per_model():
    table = compare.predictions_table(
        {
            "hyperfusion": prediction(0.2, 0.5, 0.3, 0.01),
            "daft": prediction(0.6, 0.3, 0.1),
        }
    )
    assert list(table["label"]) == ["HyperFusion", "DAFT"]
    assert list(table["diagnosis"]) == ["MCI", "CN"]
    assert list(table["stage"]) == ["hypernetwork", "intermediate (conditioning)"]
    np.testing.assert_allclose(table[["CN", "MCI", "AD"]].sum(axis=1), 1.0)
    assert table.loc[0, "MCI_sd"] == 0.01 and table.loc[0, "seeds"] == 3


def test_missing_table_measures_shift_and_uncertainty_change():
    full = {
        "film": prediction(0.6, 0.3, 0.1, 0.01),
        "concat": prediction(0.2, 0.5, 0.3),
    }
    hidden = {
        "film": prediction(0.3, 0.5, 0.2, 0.04),
        "concat": prediction(0.2, 0.5, 0.3),
    }
    table = compare.missing_table(full, hidden).set_index("label")
    assert table.loc["FiLM", "diagnosis"] == "CN → MCI"
    assert table.loc["FiLM", "shift"] == pytest.approx(0.3)  # total variation
    assert table.loc["FiLM", "Δ sd"] == pytest.approx(0.03)
    assert table.loc["FiLM", "MCI"] == 0.5  # the hidden-record probabilities
    assert table.loc["Concatenation", "shift"] == 0
    assert table.loc["Concatenation", "diagnosis"] == "MCI"


def test_with_unknown_sets_fields_to_none_without_touching_the_record():
    record = {"AGE": 70.0, "FDG": 1.2, "ABETA": 800.0}
    hidden = compare.with_unknown(record, ["FDG", "AV45"])
    assert hidden == {"AGE": 70.0, "FDG": None, "ABETA": 800.0, "AV45": None}
    assert record["FDG"] == 1.2


# The preprocessing contract --------------------------------------------------------


def test_contract_states_the_grids_and_the_qc_thresholds_in_force():
    contract = card.preprocessing_contract(AD_DEMO.grid, BRAIN_AGE_DEMO.grid)
    text = dict(zip(contract["step"], contract["contract"], strict=True))
    assert {"file", "space", "voxel size", "quality check", "intensities"} <= set(text)
    assert "48 × 32 × 24 at 3 mm" in text["AD input"]
    assert "24 × 32 × 24" in text["AD input"]  # one hemisphere
    assert "36 × 46 × 34 at 4 mm" in text["brain-age input"]
    assert f"≥ {qc.MIN_CORRELATION:g}" in text["quality check"]
    assert f"{qc.MAX_VOXEL_MM:g} mm" in text["voxel size"]
    assert "skull-stripped" in text["space"].lower() and "MNI152" in text["space"]
    assert "z-scored" in text["intensities"]
    markdown = card.contract_markdown(contract)
    assert markdown.count("\n- ") == len(contract) - 1


def test_transfer_table_has_a_row_per_group_and_the_cn_mae_beside_its_own():
    import dataclasses

    from hyperfusion.evaluate.records import Stat
    from hyperfusion.evaluate.transfer_records import Gap, Transfer
    from hyperfusion.modelcard import measured

    assert len(measured.transfer_table(None)) == 0
    transfer = Transfer(
        model="hyperfusion",
        subjects="test split",
        cn_mae=Stat(5.5, 0.2, 3),
        brain_age_test_mae=Stat(5.0, 0.1, 3),
        gap={
            "CN": Gap(-1.0, 4.0, 80),
            "MCI": Gap(2.0, 5.0, 100),
            "AD": Gap(6.5, 5, 40),
        },
        examples={},
    )
    metrics = dataclasses.replace(measured.load_metrics(), transfer=transfer)
    table = measured.transfer_table(metrics)
    assert list(table["group"]) == ["CN", "MCI", "AD"]
    assert list(table["subjects"]) == [80, 100, 40]
    assert table.loc[0, "brain-age gap"] == "-1.0 ± 4.0 y"
    assert table.loc[2, "brain-age gap"] == "+6.5 ± 5.0 y"
    assert "5.50 y" in table.loc[0, "MAE"] and "5.00 y" in table.loc[0, "MAE"]
    assert table.loc[1, "MAE"] == ""
