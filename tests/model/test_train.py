import json

import pytest
import torch

from helpers.config import Config
from helpers.model import checkpoints, train

VOLATILE = ("train_seconds", "train_samples_per_second", "seconds")


def _stable(metrics):
    def strip(row):
        return {k: v for k, v in row.items() if k not in VOLATILE}

    return {**strip(metrics), "history": [strip(row) for row in metrics["history"]]}


@pytest.mark.parametrize("kind", ["classical", "hybrid"])
def test_identical_seeds_give_identical_metrics(smoke_cfg, kind):
    first = train.train(smoke_cfg, kind)
    second = train.train(smoke_cfg, kind)
    assert _stable(first.metrics) == _stable(second.metrics)
    other = train.train(Config(**{**smoke_cfg.to_dict(), "seed": 1}), kind)
    assert _stable(other.metrics)["history"] != _stable(first.metrics)["history"]


def test_training_writes_the_contracted_artifacts(smoke_cfg):
    run = train.train(smoke_cfg, "hybrid")
    directory = smoke_cfg.artifacts_path / "hybrid"
    metrics = json.loads((directory / "metrics.json").read_text())
    for key in ("val_accuracy", "val_loss", "history", "config", "train_seconds"):
        assert key in metrics
    assert metrics["config"] == smoke_cfg.to_dict()
    assert len(metrics["history"]) == smoke_cfg.epochs
    assert metrics["val_accuracy"] == pytest.approx(run.metrics["val_accuracy"])
    checkpoint = checkpoints.load_checkpoint(directory / "checkpoint.pt", smoke_cfg, "hybrid")
    assert checkpoint["versions"]["qiskit"]
    trajectory = torch.load(directory / "trajectory.pt")
    points = smoke_cfg.epochs * train.TRAJECTORY_POINTS_PER_EPOCH + 1
    assert trajectory["vectors"].shape == (points, run.metrics["n_parameters"])
    assert trajectory["epochs"][0] == 0 and trajectory["epochs"][-1] == smoke_cfg.epochs
    assert torch.all(trajectory["epochs"].diff() > 0)
    # the checkpoint holds the best epoch: reloading it reproduces the reported accuracy
    head, _ = checkpoints.load_trained_head(smoke_cfg, "hybrid")
    _, accuracy, _ = train.evaluate(head, run.features.val, run.features.val_labels)
    assert accuracy == pytest.approx(metrics["val_accuracy"])


def test_smoke_training_learns_the_synthetic_task(smoke_cfg):
    for kind in ("classical", "hybrid"):
        assert train.train(smoke_cfg, kind).metrics["val_accuracy"] > 0.8, kind
