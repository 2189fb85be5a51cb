"""Training runs end to end on tiny cohorts: checkpoints, resumption, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperfusion.cli import main as cli_main
from hyperfusion.cli import train as train_cli
from hyperfusion.config import NET_CONFIGS
from hyperfusion.models.checkpoint import load_checkpoint
from hyperfusion.models.registry import MODEL_NAMES, build_model
from hyperfusion.train import loop, run
from hyperfusion.train.data import SplitData, image_batch, predict
from hyperfusion.train.distributed import DistInfo
from hyperfusion.train.loop import FitState, fit, read_fit_state
from hyperfusion.train.run import (
    RunSpec,
    all_runs,
    build_inputs,
    evaluate_checkpoint,
    prepare_cohort,
    train_run,
)
from tests.tolerances import assert_far, assert_within, network_atol
from tests.train.tiny_cohort import (
    TINY_AD,
    TINY_BRAIN_AGE,
    TINY_TRAIN,
    train_cli_args,
)


def _spec(cohort: Path, root: Path, task="ad", name="hyperfusion", **kw) -> RunSpec:
    net = TINY_AD if task == "ad" else TINY_BRAIN_AGE
    return RunSpec(
        task,
        name,
        cohort,
        out=root / "weights",
        runs_dir=root / "runs",
        net=net,
        train=TINY_TRAIN,
        progress=False,
        **kw,
    )


def main(argv: list[str]) -> int:
    """``python -m hyperfusion train ARGV``."""
    return cli_main(["train", *argv])


@pytest.fixture(scope="module")
def trained_ad(tiny_ad_cohort, tmp_path_factory) -> tuple[RunSpec, dict]:
    """A tiny HyperFusion-AD trained for two epochs (shared: do not modify)."""
    spec = _spec(tiny_ad_cohort, tmp_path_factory.mktemp("trained"))
    return spec, train_run(spec)


def test_a_run_ships_a_card_with_split_data_and_reference(trained_ad):
    spec, card = trained_ad
    assert spec.stem.with_suffix(".safetensors").is_file()
    on = card["trained_on"]
    assert on["n_train"] + on["n_val"] + on["n_test"] == on["n_subjects"] == 16
    assert on["split_seed"] == 0 and len(on["test_ptids_sha256"]) == 64
    assert set(card["metrics"]) == {"val", "test"}
    assert card["training"]["epochs_run"] == 2 and card["training"]["time_s"] > 0
    ref = card["reference_record"]
    assert ref["PTGENDER"] in ("Female", "Male") and ref["APOE4"] in (0.0, 1.0, 2.0)
    assert ref["MMSE"] == round(ref["MMSE"])
    assert (spec.run_dir / "split.csv").is_file()
    assert (spec.run_dir / "last.pt").is_file()


def test_stored_test_metrics_come_from_the_float16_checkpoint(trained_ad):
    spec, card = trained_ad
    ckpt = load_checkpoint(spec.stem.with_suffix(".json"))
    df, split = prepare_cohort("ad", spec.cohort, 0)
    from hyperfusion.data.datasets import cohort_arrays

    images = cohort_arrays(df, "ad", TINY_AD.grid, spec.cache, progress=False)
    assert evaluate_checkpoint(ckpt, df, split, images) == card["metrics"]
    weights = ckpt.model.state_dict()
    assert all(
        torch.equal(v, v.half().float())
        for v in weights.values()
        if v.is_floating_point()
    )


def test_rerunning_a_finished_run_does_not_train_again(trained_ad, monkeypatch):
    spec, card = trained_ad

    def boom(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(run, "fit", boom)
    assert train_run(spec) == card


def test_resuming_an_interrupted_run_equals_an_uninterrupted_one(
    tiny_ad_cohort, tmp_path, monkeypatch
):
    spec = _spec(tiny_ad_cohort, tmp_path, name="image-only")
    df, split = prepare_cohort("ad", tiny_ad_cohort, 0)
    from hyperfusion.data.ehr_preprocessing import EHRPreprocessor

    pre = EHRPreprocessor().fit(df[(split == "train").to_numpy()])
    data = build_inputs(spec, df, split, pre, DistInfo())
    cfg = replace(TINY_TRAIN, epochs=3)

    def train(run_dir):
        torch.manual_seed(0)
        model = build_model("ad", "image-only", TINY_AD)
        return fit(
            model,
            "ad",
            data["train"],
            data["val"],
            cfg,
            seed=0,
            run_dir=run_dir,
            progress=False,
        )

    straight, _ = train(tmp_path / "a")
    calls = {"n": 0}
    real_predict = loop.predict

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # during epoch 2's validation
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(loop, "predict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b")
    assert read_fit_state(tmp_path / "b").epoch == 1
    monkeypatch.setattr(loop, "predict", real_predict)
    resumed, state = train(tmp_path / "b")
    assert state.epoch == 3 and len(state.history) == 3
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), key


def test_hyperfusion_starts_from_the_pretrained_tabular_embedding(
    tiny_ad_cohort, tmp_path, monkeypatch
):
    spec = _spec(tiny_ad_cohort, tmp_path)
    seen = {}
    real_build = run.build_model

    def build(task, name, cfg, embed_var=1.0):
        seen["embed_var"] = embed_var
        return real_build(task, name, cfg, embed_var=embed_var)

    def pretrained(spec, data, info):
        model = build_model("ad", "tabular-only", TINY_AD)
        for p in model.embedding.parameters():
            p.data.fill_(0.125)
        return model.embedding.state_dict()

    def fake_fit(model, *args, **kwargs):
        seen["weight"] = model.embedding[0].weight.detach().clone()
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "build_model", build)
    monkeypatch.setattr(run, "_pretrained_embedding", pretrained)
    monkeypatch.setattr(run, "fit", fake_fit)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec)
    assert torch.all(seen["weight"] == 0.125)
    df, split = prepare_cohort("ad", tiny_ad_cohort, 0)
    from hyperfusion.data.ehr_preprocessing import EHRPreprocessor

    pre = EHRPreprocessor().fit(df[(split == "train").to_numpy()])
    assert seen["embed_var"] == pytest.approx(pre.embedding_variance_)


def test_the_real_pretraining_changes_the_embedding(tiny_ad_cohort, tmp_path):
    spec = _spec(tiny_ad_cohort, tmp_path)
    df, split = prepare_cohort("ad", tiny_ad_cohort, 0)
    from hyperfusion.data.ehr_preprocessing import EHRPreprocessor

    pre = EHRPreprocessor().fit(df[(split == "train").to_numpy()])
    data = build_inputs(spec, df, split, pre, DistInfo())
    state = run._pretrained_embedding(spec, data, DistInfo())
    torch.manual_seed(0)
    fresh = build_model("ad", "tabular-only", TINY_AD).embedding.state_dict()
    assert not torch.equal(state["0.weight"], fresh["0.weight"])


def test_brain_age_offset_is_the_mean_training_age(tiny_brain_age_cohort, tmp_path):
    spec = _spec(tiny_brain_age_cohort, tmp_path, task="brain-age")
    card = train_run(replace(spec, train=replace(TINY_TRAIN, epochs=1)))
    df, split = prepare_cohort("brain-age", tiny_brain_age_cohort, 0)
    mean_age = df["AGE"][(split == "train").to_numpy()].mean()
    ckpt = load_checkpoint(spec.stem.with_suffix(".json"))
    assert float(ckpt.model.age_offset) == pytest.approx(mean_age, abs=0.05)
    assert card["metrics"]["test"]["mae"] >= 0


def test_prediction_averages_the_logits_of_both_hemispheres():
    torch.manual_seed(0)
    model = build_model("ad", "image-only", TINY_AD).eval()
    images = np.random.default_rng(0).standard_normal((3, 2, 8, 12, 12))
    data = SplitData(
        images.astype(np.float16),
        np.zeros((3, 16), np.float32),
        np.zeros(3, np.int64),
        ("a", "b", "c"),
    )
    out = predict(model, data, torch.device("cpu"))
    with torch.no_grad():
        x = torch.from_numpy(images.astype(np.float16).astype(np.float32))
        right = model(x[:, :1], None)
        left = model(x[:, 1:], None)
    # predict batches the views its own way: float32 in another order, compared to
    # the logits' scale (a logit near 0 carries the rounding of larger terms).
    expected = ((right + left) / 2).numpy()
    assert_within(out, expected, network_atol(expected), what="averaged logits")
    assert_far(out, right.numpy(), network_atol(expected), what="one hemisphere only")


def test_training_batches_take_the_chosen_hemisphere_per_subject():
    images = np.arange(3 * 2).reshape(3, 2, 1, 1, 1).astype(np.float16)
    data = SplitData(
        images, np.zeros((3, 16), np.float32), np.zeros(3, np.int64), ("a", "b", "c")
    )
    batch = image_batch(data, np.array([2, 0]), torch.device("cpu"), np.array([1, 0]))
    assert batch.shape == (2, 1, 1, 1, 1)
    assert batch.flatten().tolist() == [5.0, 0.0]


def test_all_runs_put_the_compared_models_first():
    runs = all_runs()
    assert len(runs) == 3 * (len(MODEL_NAMES["ad"]) + len(MODEL_NAMES["brain-age"]))
    first = {(t, n) for t, n, _ in runs[:15]}
    assert first == {
        ("ad", "hyperfusion"),
        ("ad", "image-only"),
        ("ad", "tabular-only"),
        ("brain-age", "hyperfusion"),
        ("brain-age", "image-only"),
    }


def test_cli_trains_then_skips(tiny_ad_cohort, tmp_path, capsys):
    args = train_cli_args(tiny_ad_cohort, tmp_path, "tabular-only", 1)
    assert main(args) == 0
    card = json.loads((tmp_path / "w" / "ad" / "tabular-only-seed0.json").read_text())
    assert card["training"]["epochs_run"] == 1
    assert "test balanced accuracy" in capsys.readouterr().out
    assert main(args) == 0
    assert "skip ad/tabular-only seed 0: finished" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "ad", "--model", "hyperfusion"], "missing --cohort"),
        (["--task", "ad", "--model", "hyperfuse", "--cohort", "."], "did you mean"),
        (["--task", "ad", "--model", "film", "--cohort", "/no/such"], "does not exist"),
        (["--all"], "--all needs --cohort-ad"),
    ],
)
def test_cli_user_errors_exit_2_with_one_line(args, message, tmp_path, capsys):
    argv = [*args, "--out", str(tmp_path / "w"), "--runs-dir", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("resolution", "ad_voxel_mm", "ad_features"), [("demo", 3.0, 8), ("paper", 1.0, 16)]
)
def test_cli_resolution_picks_the_networks_of_every_run(
    resolution,
    ad_voxel_mm,
    ad_features,
    tiny_ad_cohort,
    tiny_brain_age_cohort,
    monkeypatch,
    tmp_path,
):
    planned: list[RunSpec] = []

    def plan_only(spec: RunSpec) -> bool:  # "finished": nothing trains
        planned.append(spec)
        return True

    monkeypatch.setattr(train_cli, "is_finished", plan_only)
    argv = ["--all", "--cohort-ad", str(tiny_ad_cohort), "--seeds", "0"]
    argv += ["--cohort-brain-age", str(tiny_brain_age_cohort)]
    argv += ["--resolution", resolution, "--out", str(tmp_path / "w")]
    argv += ["--runs-dir", str(tmp_path / "r")]
    assert main(argv) == 0
    nets = {spec.task: spec.net_config for spec in planned}
    # The paper's AD input is a 1 mm crop with 16 initial features (Duenias et al.).
    assert nets["ad"].grid.voxel_mm == ad_voxel_mm
    assert nets["ad"].init_features == ad_features
    assert nets["brain-age"] == NET_CONFIGS[resolution]["brain-age"]
    assert len(planned) == len(all_runs((0,), ("ad", "brain-age")))


def test_fit_state_round_trips(tmp_path):
    assert read_fit_state(tmp_path) is None
    assert FitState().epoch == 0


def test_per_model_overrides_change_only_their_model(monkeypatch):
    overrides = {("ad", "tabular-only"): {"epochs": 100, "patience": 25}}
    monkeypatch.setattr(run, "MODEL_TRAIN_OVERRIDES", overrides)
    tab = run.default_train_config("ad", "tabular-only")
    assert (tab.epochs, tab.patience) == (100, 25)
    assert run.default_train_config("ad", "image-only") == run.TRAIN_DEFAULTS["ad"]
    spec = RunSpec("ad", "tabular-only", Path("."), out=Path("."), seed=2)
    assert spec.train_config.patience == 25 and spec.train_config.seed == 2


def test_cosine_schedule_halves_at_midpoint_and_decays_to_near_zero():
    cfg = replace(TINY_TRAIN, lr=1e-3, epochs=10, lr_schedule="cosine")
    lrs = [loop.epoch_lr(cfg, e) for e in range(10)]
    assert lrs[0] == pytest.approx(1e-3)
    assert lrs[5] == pytest.approx(0.5e-3)  # cos(pi/2) = 0
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lrs[-1] < 0.03e-3
    constant = replace(cfg, lr_schedule="constant")
    assert {loop.epoch_lr(constant, e) for e in range(10)} == {1e-3}
    with pytest.raises(ValueError, match="accepted: 'constant', 'cosine'"):
        loop.epoch_lr(replace(cfg, lr_schedule="step"), 0)


def test_conditioning_embeddings_get_their_own_learning_rate():
    cfg = replace(TINY_TRAIN, embedding_lr_scale=10.0)
    model = build_model("brain-age", "hyperfusion", TINY_BRAIN_AGE)
    groups = loop.param_groups(model, cfg)
    assert [g["lr_scale"] for g in groups] == [1.0, 10.0]
    special = {id(p) for p in groups[1]["params"]}
    assert special == {id(p) for p in model.embeddings.parameters()}
    n_all = sum(1 for _ in model.parameters())
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == n_all
    # A model without conditioning embeddings keeps one group.
    plain = build_model("brain-age", "image-only", TINY_BRAIN_AGE)
    assert [g["lr_scale"] for g in loop.param_groups(plain, cfg)] == [1.0]


def test_resuming_a_checkpoint_saved_without_lr_scales_keeps_the_code_scales(
    tiny_brain_age_cohort, tmp_path, monkeypatch
):
    spec = _spec(tiny_brain_age_cohort, tmp_path, name="hyperfusion", task="brain-age")
    df, split = prepare_cohort("brain-age", tiny_brain_age_cohort, 0)
    from hyperfusion.data.ehr_preprocessing import EHRPreprocessor

    pre = EHRPreprocessor().fit(df[(split == "train").to_numpy()])
    data = build_inputs(spec, df, split, pre, DistInfo())
    cfg = replace(TINY_TRAIN, epochs=1, embedding_lr_scale=30.0)
    model = build_model("brain-age", "hyperfusion", TINY_BRAIN_AGE)
    fit(
        model,
        "brain-age",
        data["train"],
        data["val"],
        cfg,
        seed=0,
        run_dir=tmp_path / "r",
        progress=False,
    )
    # An older last.pt: its optimizer groups know nothing of lr_scale.
    last = tmp_path / "r" / loop.LAST_FILE
    saved = torch.load(last, weights_only=False)
    for group in saved["optimizer"]["param_groups"]:
        del group["lr_scale"]
    saved["state"]["finished"] = False
    torch.save(saved, last)
    seen = []
    real_adam = torch.optim.Adam

    class Spy(real_adam):
        def step(self, *args, **kwargs):
            seen.append([g["lr"] for g in self.param_groups])
            return super().step(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", Spy)
    _, state = fit(
        model,
        "brain-age",
        data["train"],
        data["val"],
        replace(cfg, epochs=2),
        seed=0,
        run_dir=tmp_path / "r",
        progress=False,
    )
    assert state.epoch == 2 and seen
    base, emb = seen[0]
    assert emb == pytest.approx(30.0 * base)
