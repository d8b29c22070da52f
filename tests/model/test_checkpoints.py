"""Checkpoints: configuration checks with the differing fields named, the run's saved config."""

import json
import shutil
from functools import partial

import pytest

from helpers.config import Config
from helpers.declare import trainer
from helpers.fingerprints import describe
from helpers.io import save_torch
from helpers.model import checkpoints, train


def test_checkpoint_from_other_configuration_names_the_fields(smoke_cfg):
    train.train(smoke_cfg, "hybrid")
    other = Config(**{**smoke_cfg.to_dict(), "q_depth": 2, "n_qubits": 3})
    with pytest.raises(
        checkpoints.CheckpointMismatchError,
        match=r"n_qubits: checkpoint 4, requested 3"
        r".*q_depth: checkpoint 5, requested 2",
    ):
        checkpoints.load_trained_head(other, "hybrid")
    with pytest.raises(FileNotFoundError, match="run 01_classical first"):
        checkpoints.load_trained_head(smoke_cfg, "classical")


def test_training_saves_the_run_configuration_later_notebooks_continue(smoke_cfg):
    train.train(smoke_cfg, "classical")
    saved = json.loads((smoke_cfg.artifacts_path / "config.json").read_text())
    assert saved == smoke_cfg.to_dict()
    continued = Config.for_notebook({"artifacts_dir": smoke_cfg.artifacts_dir, "q_depth": 2})
    assert continued == Config(**{**smoke_cfg.to_dict(), "q_depth": 2})


def test_a_different_weights_file_is_a_different_model(smoke_cfg, tmp_path):
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    trained = Config(**{**smoke_cfg.to_dict(), "weights": str(first)})
    checkpoint = {
        "kind": "classical",
        "model": describe(trained, "classical"),
        "state_dicts": dict.fromkeys(trained.seeds),
    }
    path = tmp_path / "checkpoint.pt"
    save_torch(checkpoint, path)
    assert checkpoints.load_checkpoint(path, trained, "classical") == checkpoint
    other = Config(**{**smoke_cfg.to_dict(), "weights": str(second)})
    with pytest.raises(checkpoints.CheckpointMismatchError, match="weights: checkpoint 'file:"):
        checkpoints.load_checkpoint(path, other, "classical")


def test_missing_metrics_and_trajectory(smoke_cfg):
    assert checkpoints.read_metrics(smoke_cfg, "hybrid") is None
    with pytest.raises(FileNotFoundError, match="run 02_hybrid_train first"):
        checkpoints.load_trajectory(smoke_cfg, "hybrid", 0)


@pytest.mark.parametrize(
    "kind, name, read",
    [
        ("classical", "checkpoint.pt", checkpoints.load_trained_head),
        ("hybrid", "checkpoint.pt", checkpoints.load_trained_head),
        ("hybrid", "trajectory.pt", partial(checkpoints.load_trajectory, seed=0)),
        ("product", "checkpoint.pt", checkpoints.load_trained_head),
        ("classical", "metrics.json", checkpoints.read_metrics),
    ],
)
def test_truncated_artifact_names_the_file_and_the_notebook_to_rerun(
    trained_smoke_cfg, tmp_path, kind, name, read
):
    shutil.copytree(trained_smoke_cfg.artifacts_path, tmp_path / "artifacts")
    cfg = Config(**{**trained_smoke_cfg.to_dict(), "artifacts_dir": str(tmp_path / "artifacts")})
    path = checkpoints.run_dir(cfg, kind) / name
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(checkpoints.CorruptArtifactError) as info:
        read(cfg, kind)
    message = str(info.value)
    notebook = trainer(kind).notebook
    assert message.startswith(f"{path} cannot be read (")
    assert f"Rerun {notebook} " in message and "helpers.pipeline" in message
    assert "\n" not in message
