"""Training heads on cached features and evaluating them.

:func:`train` writes the artifacts described in :mod:`helpers.model.checkpoints`.
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
from tqdm.auto import tqdm

from helpers.config import Config, set_seed
from helpers.io import save_json, save_torch
from helpers.model.backbone import Features, cached_features
from helpers.model.checkpoints import library_versions, run_dir, save_checkpoint, save_run_config
from helpers.model.heads import build_head


@torch.no_grad()
def evaluate(
    head: nn.Module, features: torch.Tensor, labels: torch.Tensor, batch_size: int = 4096
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and logits of ``head`` on features (eval mode)."""
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
class TrainingRun:
    """A trained head (best validation state loaded) and what was written about it."""

    kind: str
    head: nn.Module
    metrics: dict[str, Any]
    features: Features
    directory: Path


TRAJECTORY_POINTS_PER_EPOCH = 10  # parameter snapshots per epoch (for PCA landscape directions)


def fit(
    head: nn.Module, features: Features, cfg: Config, desc: str = "training"
) -> tuple[
    list[dict[str, float]], dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor], float
]:
    """Adam + StepLR + cross-entropy on cached features, keeping the best validation state.

    Returns the per-epoch history, the best state dict, the parameter trajectory (vectors
    ``(K, n_params)`` and their positions in epochs ``(K,)``: the start, then
    :data:`TRAJECTORY_POINTS_PER_EPOCH` snapshots per epoch) and the training time in seconds.
    """
    generator = torch.Generator().manual_seed(cfg.seed)
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
    for epoch in tqdm(range(1, cfg.epochs + 1), desc=desc, leave=False):
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


def train(cfg: Config, kind: str, features: Features | None = None) -> TrainingRun:
    """Train a ``kind`` head on cached features and write its artifacts; never reads old ones."""
    directory = run_dir(cfg, kind)
    features = features if features is not None else cached_features(cfg)
    set_seed(cfg.seed)
    head = build_head(kind, cfg)
    history, best_state, trajectory, seconds = fit(head, features, cfg, desc=f"{kind} head")
    head.load_state_dict(best_state)
    val_loss, val_accuracy, _ = evaluate(head, features.val, features.val_labels)
    best_epoch = max(history, key=lambda row: (row["val_accuracy"], -row["val_loss"]))["epoch"]
    metrics = {
        "kind": kind,
        "head": cfg.classical_head if kind == "classical" else "dressed_quantum",
        "backend": cfg.backend if kind == "hybrid" else None,
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "best_epoch": best_epoch,
        "history": history,
        "config": cfg.to_dict(),
        "train_seconds": seconds,
        "train_samples_per_second": cfg.epochs * len(features.train) / seconds,
        "n_train": len(features.train),
        "n_val": len(features.val),
        "n_parameters": sum(p.numel() for p in head.parameters()),
        "versions": library_versions(),
    }
    save_checkpoint(directory / "checkpoint.pt", head, cfg, kind, metrics)
    save_torch(
        {
            "vectors": trajectory[0],
            "epochs": trajectory[1],
            "names": [name for name, _ in head.named_parameters()],
            "shapes": [tuple(p.shape) for p in head.parameters()],
        },
        directory / "trajectory.pt",
    )
    save_json(metrics, directory / "metrics.json")
    save_run_config(cfg)
    return TrainingRun(kind, head, metrics, features, directory)
