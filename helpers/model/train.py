"""Training heads on cached features, once per seed, and evaluating them.

:func:`train` trains one model (a kind of head) for every seed in ``cfg.seeds`` and writes the
artifacts described in :mod:`helpers.model.checkpoints`. The best epoch is selected on the
validation split; the test split is evaluated once, after selection.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from helpers.config import Config, set_seed
from helpers.estimates import mean_and_error
from helpers.fingerprints import describe
from helpers.io import exclusive, record_computed, save_json, save_torch
from helpers.model.backbone import Features, cached_features
from helpers.model.checkpoints import (
    CheckpointMismatchError,
    CorruptArtifactError,
    library_versions,
    load_checkpoint,
    load_trained_heads,
    read_metrics,
    run_dir,
    save_checkpoint,
    save_run_config,
)
from helpers.model.head_cache import cached_heads_path, restore_heads, store_heads
from helpers.model.heads import build_head
from helpers.progress import progress


@torch.no_grad()
def evaluate(
    head: nn.Module, features: torch.Tensor, labels: torch.Tensor, batch_size: int = 4096
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and logits of ``head`` on features (eval mode).

    Args:
        head: The head (or any model) to evaluate; its training mode is restored afterwards.
        features: Its inputs ``(N, 512)`` (cached backbone features).
        labels: Their class indices ``(N,)``.
        batch_size: Inputs per forward pass.

    Returns:
        The mean cross-entropy loss (nats), the accuracy (fraction correct) and the logits
        ``(N, C)``.

    Example:
        >>> head = nn.Linear(512, 2)
        >>> _ = nn.init.zeros_(head.weight), nn.init.zeros_(head.bias)
        >>> labels = torch.zeros(8, dtype=torch.long)
        >>> loss, accuracy, logits = evaluate(head, torch.randn(8, 512), labels)
        >>> round(loss, 4), accuracy, tuple(logits.shape)
        (0.6931, 1.0, (8, 2))
    """
    was_training = head.training
    head.eval()
    logits = torch.cat(
        [head(features[i : i + batch_size]) for i in range(0, len(features), batch_size)]
    )
    head.train(was_training)
    loss = nn.functional.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return loss, accuracy, logits


@dataclasses.dataclass
class TrainingResult:
    """One model trained for every seed: the heads (best validation state loaded) by seed, and
    what was written about them (``metrics``: per seed and mean ± SE over seeds)."""

    kind: str
    heads: dict[int, nn.Module]
    metrics: dict[str, Any]
    features: Features
    directory: Path

    @property
    def head(self) -> nn.Module:
        """The first seed's head (the one figures show)."""
        return next(iter(self.heads.values()))


TRAJECTORY_POINTS_PER_EPOCH = 10  # parameter snapshots per epoch (for PCA landscape directions)


def fit(
    head: nn.Module, features: Features, cfg: Config, seed: int, desc: str = "training"
) -> tuple[
    list[dict[str, float]], dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor], float
]:
    """Adam + StepLR + cross-entropy on cached features, keeping the best validation state.

    Returns the per-epoch history, the best state dict, the parameter trajectory (vectors
    ``(K, n_params)`` and their positions in epochs ``(K,)``: the start, then
    :data:`TRAJECTORY_POINTS_PER_EPOCH` snapshots per epoch) and the training time in seconds.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=cfg.lr_step, gamma=cfg.lr_gamma
    )
    loss_fn = nn.CrossEntropyLoss()
    n_train = len(features.train)
    history: list[dict[str, float]] = []
    trajectory = [parameters_to_vector(head.parameters()).detach().clone()]
    positions = [0.0]
    n_steps = math.ceil(n_train / cfg.batch_size)
    snapshot_steps = {
        math.ceil(k * n_steps / TRAJECTORY_POINTS_PER_EPOCH)
        for k in range(1, TRAJECTORY_POINTS_PER_EPOCH + 1)
    }
    best_state, best_key = copy.deepcopy(head.state_dict()), (-1.0, float("inf"))
    start = time.perf_counter()
    for epoch in progress(range(1, cfg.epochs + 1), desc=desc):
        epoch_start = time.perf_counter()
        head.train()
        order = torch.randperm(n_train, generator=generator)
        total_loss, correct = 0.0, 0
        for step, first in enumerate(range(0, n_train, cfg.batch_size), start=1):
            batch = order[first : first + cfg.batch_size]
            logits = head(features.train[batch])
            loss = loss_fn(logits, features.train_labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            correct += (logits.argmax(1) == features.train_labels[batch]).sum().item()
            if step in snapshot_steps:
                trajectory.append(parameters_to_vector(head.parameters()).detach().clone())
                positions.append(epoch - 1 + step / n_steps)
        scheduler.step()
        val_loss, val_accuracy, _ = evaluate(head, features.val, features.val_labels)
        history.append(
            {
                "epoch": epoch,
                "train_loss": total_loss / n_train,
                "train_accuracy": correct / n_train,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "seconds": time.perf_counter() - epoch_start,
            }
        )
        if (val_accuracy, -val_loss) > (best_key[0], -best_key[1]):
            best_key, best_state = (val_accuracy, val_loss), copy.deepcopy(head.state_dict())
    seconds = time.perf_counter() - start
    return history, best_state, (torch.stack(trajectory), torch.tensor(positions)), seconds


def _train_seed(
    cfg: Config, kind: str, seed: int, features: Features
) -> tuple[nn.Module, dict[str, Any], dict[str, torch.Tensor]]:
    """One head trained from ``seed`` (initialisation and batch order): the head, its metrics and
    its parameter trajectory."""
    set_seed(seed)
    head = build_head(kind, cfg)
    history, best_state, trajectory, seconds = fit(
        head, features, cfg, seed, desc=f"{kind} head, seed {seed}"
    )
    head.load_state_dict(best_state)
    val_loss, val_accuracy, _ = evaluate(head, features.val, features.val_labels)
    test_loss, test_accuracy, _ = evaluate(head, features.test, features.test_labels)
    best_epoch = max(history, key=lambda row: (row["val_accuracy"], -row["val_loss"]))["epoch"]
    metrics = {
        "seed": seed,
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "best_epoch": best_epoch,
        "history": history,
        "train_seconds": seconds,
    }
    return head, metrics, {"vectors": trajectory[0], "epochs": trajectory[1]}


def _over_seeds(per_seed: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and standard error over seeds of every split's accuracy and loss."""
    summary = {}
    for name in ("val_accuracy", "val_loss", "test_accuracy", "test_loss"):
        summary[name], summary[f"{name}_se"] = mean_and_error([row[name] for row in per_seed])
    return summary


def trained_before(cfg: Config, kind: str) -> dict[int, nn.Module] | None:
    """The heads of ``kind`` the run holds if they were trained for exactly ``cfg.seeds`` with
    every field that shapes a head as in ``cfg`` (:func:`helpers.fingerprints.describe`, the
    training fingerprint), else None. A checkpoint from before a field was recorded, or one that
    cannot be read, is trained again."""
    path = run_dir(cfg, kind) / "checkpoint.pt"
    if not path.is_file():
        return None
    try:
        metrics = read_metrics(cfg, kind)
        checkpoint = load_checkpoint(path, cfg, kind)
    except (CheckpointMismatchError, CorruptArtifactError):
        return None
    if metrics is None or metrics.get("seeds") != list(cfg.seeds):
        return None
    recorded = Config.from_namespace(metrics.get("config", {}))
    if checkpoint.get("model") != describe(cfg, kind) or describe(recorded, kind) != describe(
        cfg, kind
    ):
        return None  # e.g. the metrics of another training, cut short before its checkpoint
    return load_trained_heads(cfg, kind)


def train(cfg: Config, kind: str, features: Features | None = None) -> TrainingResult:
    """Train a ``kind`` head once per seed in ``cfg.seeds`` on cached features and write its
    artifacts, unless the run already holds heads trained with exactly this configuration
    (:func:`trained_before`, the training fingerprint) or the head cache does
    (:mod:`helpers.model.head_cache`, shared by runs on one ``cache_dir``): then those are read
    back. Runs asking for the same heads at once train them once (the entry's lock); what was
    trained or reused is logged in ``<cache_dir>/computed.jsonl``.

    Args:
        cfg: The run's configuration (head, epochs, learning rate, seeds, ``artifacts_dir``).
        kind: The model kind: ``"hybrid"``, ``"classical"`` or ``"product"``.
        features: The cached backbone features; None reads them (:func:`cached_features`).

    Returns:
        The :class:`TrainingResult`: every seed's head (best validation state) and the
        metrics written to ``<artifacts_dir>/<kind>/metrics.json``.

    Example:
        >>> trained = train(cfg, "hybrid", session.features)  # doctest: +SKIP
        >>> trained.metrics["test_accuracy"], trained.head  # doctest: +SKIP
    """
    directory = run_dir(cfg, kind)
    features = features if features is not None else cached_features(cfg)
    with exclusive(cached_heads_path(cfg, kind)):
        heads = trained_before(cfg, kind)
        if heads is None and restore_heads(cfg, kind):
            heads = trained_before(cfg, kind)
        if heads is not None:
            save_run_config(cfg)
            return TrainingResult(kind, heads, read_metrics(cfg, kind), features, directory)
        result = _train_heads(cfg, kind, features, directory)
        entry = store_heads(cfg, kind)
    seconds = result.metrics["train_seconds"]
    record_computed(
        cfg.cache_path,
        "heads trained",
        run=str(cfg.artifacts_path),
        kind=kind,
        entry=entry.name,
        seconds=seconds,
    )
    return result


def _train_heads(cfg: Config, kind: str, features: Features, directory: Path) -> TrainingResult:
    """Train every seed's ``kind`` head and write its artifacts into ``directory``."""
    heads, per_seed, trajectories = {}, [], {}
    for seed in cfg.seeds:
        heads[seed], metrics, trajectories[seed] = _train_seed(cfg, kind, seed, features)
        per_seed.append(metrics)
    head = heads[cfg.seeds[0]]
    seconds = sum(row["train_seconds"] for row in per_seed)
    metrics = {
        "kind": kind,
        "head": cfg.classical_head if kind == "classical" else "dressed_quantum",
        "q_depth": None if kind == "classical" else 0 if kind == "product" else cfg.q_depth,
        "circuit": None if kind == "classical" else head.q_layer.spec.name,
        "backend": None if kind == "classical" else cfg.backend,
        "seeds": list(cfg.seeds),
        "unit": "seeds",
        **_over_seeds(per_seed),
        "history": per_seed[0]["history"],
        "per_seed": per_seed,
        "config": cfg.to_dict(),
        "train_seconds": seconds,
        "train_samples_per_second": len(cfg.seeds) * cfg.epochs * len(features.train) / seconds,
        "n_train": len(features.train),
        "n_val": len(features.val),
        "n_test": len(features.test),
        "n_parameters": sum(p.numel() for p in head.parameters()),
        "versions": library_versions(),
    }
    save_torch(
        {
            "seeds": trajectories,
            "names": [name for name, _ in head.named_parameters()],
            "shapes": [tuple(p.shape) for p in head.parameters()],
        },
        directory / "trajectory.pt",
    )
    save_json(metrics, directory / "metrics.json")
    # last: a checkpoint that matches the configuration vouches for the files written before it
    save_checkpoint(directory / "checkpoint.pt", heads, cfg, kind, metrics)
    save_run_config(cfg)
    return TrainingResult(kind, heads, metrics, features, directory)
