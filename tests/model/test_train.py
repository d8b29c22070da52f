import json

import numpy as np
import pytest
import torch

from helpers.config import Config
from helpers.io import read_computed
from helpers.model import checkpoints, head_cache, train

VOLATILE = ("train_seconds", "train_samples_per_second", "seconds")


def _stable(metrics):
    def strip(row):
        if isinstance(row, list):
            return [strip(item) for item in row]
        if isinstance(row, dict):
            return {k: strip(v) for k, v in row.items() if k not in VOLATILE}
        return row

    return strip(metrics)


@pytest.mark.parametrize("kind", ["classical", "hybrid", "product"])
def test_identical_seeds_give_identical_models_and_other_seeds_other_ones(smoke_cfg, kind):
    cfg = Config(**{**smoke_cfg.to_dict(), "seeds": [4, 7]})
    first = train.train(cfg, kind)
    again = {"artifacts_dir": f"{cfg.artifacts_dir}_again", "cache_dir": f"{cfg.cache_dir}_again"}
    elsewhere = Config(**{**cfg.to_dict(), **again})
    second = train.train(elsewhere, kind)  # trained again: no checkpoint there, nor cached heads
    assert {**_stable(first.metrics), "config": None} == {**_stable(second.metrics), "config": None}
    for seed in (4, 7):
        for a, b in zip(
            first.heads[seed].parameters(), second.heads[seed].parameters(), strict=True
        ):
            assert torch.equal(a, b)
    differs = [
        not torch.equal(a, b)
        for a, b in zip(first.heads[4].parameters(), first.heads[7].parameters(), strict=True)
    ]
    assert any(differs)
    rows = first.metrics["per_seed"]
    assert [row["seed"] for row in rows] == [4, 7] and rows[0]["history"] != rows[1]["history"]


def test_training_writes_the_contracted_artifacts(smoke_cfg):
    run = train.train(smoke_cfg, "hybrid")
    directory = smoke_cfg.artifacts_path / "hybrid"
    metrics = json.loads((directory / "metrics.json").read_text())
    for key in ("val_accuracy", "val_loss", "history", "config", "train_seconds"):
        assert key in metrics
    assert metrics["config"] == smoke_cfg.to_dict()
    assert len(metrics["history"]) == smoke_cfg.epochs
    assert metrics["val_accuracy"] == pytest.approx(run.metrics["val_accuracy"])
    per_seed = metrics["per_seed"]
    assert [row["seed"] for row in per_seed] == smoke_cfg.seeds and metrics["unit"] == "seeds"
    accuracies = [row["test_accuracy"] for row in per_seed]
    assert metrics["test_accuracy"] == pytest.approx(np.mean(accuracies))
    assert metrics["test_accuracy_se"] == pytest.approx(
        np.std(accuracies, ddof=1) / np.sqrt(len(accuracies))
    )
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (460, 52, 128)
    checkpoint = checkpoints.load_checkpoint(directory / "checkpoint.pt", smoke_cfg, "hybrid")
    assert checkpoint["versions"]["qiskit"] and list(checkpoint["state_dicts"]) == smoke_cfg.seeds
    for seed in smoke_cfg.seeds:
        trajectory = checkpoints.load_trajectory(smoke_cfg, "hybrid", seed)
        points = smoke_cfg.epochs * train.TRAJECTORY_POINTS_PER_EPOCH + 1
        assert trajectory["vectors"].shape == (points, run.metrics["n_parameters"])
        assert trajectory["epochs"][0] == 0 and trajectory["epochs"][-1] == smoke_cfg.epochs
        assert torch.all(trajectory["epochs"].diff() > 0)
    # the checkpoint holds each seed's best epoch: reloading reproduces the reported accuracies
    features = run.features
    for row, (seed, head) in zip(
        per_seed, checkpoints.load_trained_heads(smoke_cfg, "hybrid").items(), strict=True
    ):
        assert row["seed"] == seed
        _, val_accuracy, _ = train.evaluate(head, features.val, features.val_labels)
        _, test_accuracy, _ = train.evaluate(head, features.test, features.test_labels)
        assert (val_accuracy, test_accuracy) == pytest.approx(
            (row["val_accuracy"], row["test_accuracy"])
        )


def test_smoke_training_learns_the_synthetic_task(smoke_cfg):
    for kind in ("classical", "hybrid", "product"):
        metrics = train.train(smoke_cfg, kind).metrics
        assert metrics["val_accuracy"] > 0.8 and metrics["test_accuracy"] > 0.8, kind


def test_the_product_control_is_the_dressed_head_at_depth_zero(smoke_cfg):
    run = train.train(Config(**{**smoke_cfg.to_dict(), "seeds": [0]}), "product")
    head = run.head
    assert head.q_layer.q_depth == 0 and head.q_layer.weight.numel() == 0
    angles = torch.linspace(-1.5, 1.5, 8).view(2, 4)
    torch.testing.assert_close(head.q_layer(angles), -torch.sin(angles), atol=1e-6, rtol=0)
    assert run.metrics["q_depth"] == 0


def test_heads_are_reused_exactly_when_nothing_that_shapes_them_changed(smoke_cfg, monkeypatch):
    first = train.train(smoke_cfg, "hybrid")
    trained = []
    original = train._train_seed
    monkeypatch.setattr(train, "_train_seed", lambda *a: trained.append(a) or original(*a))
    again = train.train(Config(**{**smoke_cfg.to_dict(), "saliency_images": 4}), "hybrid")
    assert trained == [] and _stable(again.metrics) == _stable(first.metrics)
    for seed in smoke_cfg.seeds:
        for a, b in zip(
            first.heads[seed].parameters(), again.heads[seed].parameters(), strict=True
        ):
            assert torch.equal(a, b)
    train.train(Config(**{**smoke_cfg.to_dict(), "lr": 0.01}), "hybrid")  # shapes the head
    assert len(trained) == len(smoke_cfg.seeds)


def test_another_run_on_the_same_cache_reuses_the_heads_and_says_so(smoke_cfg, monkeypatch):
    first = train.train(smoke_cfg, "classical")
    trained = []
    monkeypatch.setattr(train, "_train_seed", lambda *a: trained.append(a))
    other = Config(**{**smoke_cfg.to_dict(), "artifacts_dir": f"{smoke_cfg.artifacts_dir}_2"})
    again = train.train(other, "classical")  # another run folder, the same cache: not trained
    assert trained == []
    assert {**_stable(again.metrics), "config": None, "reused_from": None} == {
        **_stable(first.metrics),
        "config": None,
        "reused_from": None,
    }
    written = json.loads((other.artifacts_path / "classical" / "metrics.json").read_text())
    assert written["config"] == other.to_dict()  # this run's configuration, not the first's
    assert written["reused_from"] == str(head_cache.cached_heads_path(smoke_cfg, "classical"))
    for seed in smoke_cfg.seeds:
        for a, b in zip(
            first.heads[seed].parameters(), again.heads[seed].parameters(), strict=True
        ):
            assert torch.equal(a, b)
    assert train.trained_before(other, "classical") is not None
    logged = [(line["what"], line.get("kind")) for line in read_computed(smoke_cfg.cache_path)]
    logged = [entry for entry in logged if entry[0] != "features"]
    assert logged == [("heads trained", "classical"), ("heads reused", "classical")]


def test_a_damaged_cached_head_is_discarded_and_trained_again(smoke_cfg):
    train.train(smoke_cfg, "classical")
    entry = head_cache.cached_heads_path(smoke_cfg, "classical")
    (entry / "checkpoint.pt").write_bytes(b"cut short")
    other = Config(**{**smoke_cfg.to_dict(), "artifacts_dir": f"{smoke_cfg.artifacts_dir}_2"})
    with pytest.warns(UserWarning, match="discarding the unreadable cached heads"):
        again = train.train(other, "classical")
    assert "reused_from" not in again.metrics
    assert (entry / "checkpoint.pt").stat().st_size > 100  # stored again
