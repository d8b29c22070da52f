"""What training leaves on disk, and reading it back with configuration checks.

A run's artifacts (the design's contract): ``<artifacts_dir>/config.json`` (the run's
configuration, which later notebooks continue from), and per model ``<artifacts_dir>/<kind>/``
(kind: hybrid, classical, product) with ``checkpoint.pt`` (the best validation state of every
seed's head), ``metrics.json`` (``val_accuracy``, ``val_loss``, ``test_accuracy``, ``test_loss``
as mean and ``_se`` over seeds, ``per_seed`` rows, ``history``, ``config``, ``train_seconds``,
...) and ``trajectory.pt`` (each seed's parameters during training). Reading a missing or
damaged artifact raises an error that says which notebook rewrites it.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from helpers.config import MODELS, RUN_CONFIG, Config
from helpers.declare import trainer
from helpers.fingerprints import describe
from helpers.io import error_summary, save_json, save_torch
from helpers.model.backbone import load_backbone
from helpers.model.heads import TransferModel, build_head

# The libraries whose versions a checkpoint and the report record (one list for both).
LIBRARIES = (
    "torch", "torchvision", "numpy", "qiskit", "qiskit-machine-learning", "qiskit-aer",
    "qiskit-ibm-runtime", "captum", "scikit-learn", "umap-learn", "papermill", "nbconvert",
    "sphinx-revealjs",
)  # fmt: skip


class CheckpointMismatchError(ValueError):
    """A checkpoint was trained with another configuration than the one asked for."""


class CorruptArtifactError(ValueError):
    """A training artifact exists but cannot be read (e.g. cut short by a full disk or a copy)."""


def library_versions(packages: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Python's and the given packages' versions ("not installed" when absent)."""
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def run_dir(cfg: Config, kind: str) -> Path:
    if kind not in MODELS:
        raise ValueError(f"kind={kind!r} is unknown; use one of {MODELS}.")
    return cfg.artifacts_path / kind


def save_run_config(cfg: Config) -> Path:
    """Write ``<artifacts_dir>/config.json``: the configuration later notebooks continue."""
    return save_json(cfg.to_dict(), cfg.artifacts_path / RUN_CONFIG)


def save_checkpoint(
    path: Path, heads: dict[int, nn.Module], cfg: Config, kind: str, metrics: dict[str, Any]
) -> Path:
    """Write every seed's head state with the configuration and library versions, atomically."""
    return save_torch(
        {
            "kind": kind,
            "state_dicts": {seed: head.state_dict() for seed, head in heads.items()},
            "config": cfg.to_dict(),
            "model": describe(cfg, kind),
            "val_accuracy": metrics["val_accuracy"],
            "val_loss": metrics["val_loss"],
            "versions": library_versions(),
        },
        path,
    )


def _missing(kind: str, path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"no {kind} {path.name} at {path.parent}: run {trainer(kind).notebook} first "
        "with the same parameters (or `python -m helpers.pipeline`)."
    )


def _read(kind: str, path: Path, load: Callable[[Path], Any]) -> dict[str, Any]:
    """``load(path)``, which must give a dict; a missing or unreadable file raises a clear error."""
    if not path.is_file():
        raise _missing(kind, path)
    try:
        content = load(path)
        if not isinstance(content, dict):
            raise TypeError(f"holds a {type(content).__name__}, not a dict")
    except Exception as exc:
        raise CorruptArtifactError(
            f"{path} cannot be read ({error_summary(exc)}); it may be damaged or cut short. "
            f"Rerun {trainer(kind).notebook} with the same parameters (or "
            "`python -m helpers.pipeline`) to write it again."
        ) from None  # the message says it all; the raw error stays in __context__
    return content


def load_checkpoint(path: Path, cfg: Config, kind: str) -> dict[str, Any]:
    """Read a checkpoint and check it was made for ``cfg``'s model; raise a clear error if not."""
    checkpoint = _read(kind, path, lambda p: torch.load(p, map_location="cpu", weights_only=False))
    if checkpoint.get("kind") != kind:
        raise CheckpointMismatchError(
            f"{path} holds a {checkpoint.get('kind')!r} head, not a {kind!r} one."
        )
    # "model" holds what the weights meant when saved; older checkpoints only have their config
    saved = checkpoint.get("model") or describe(Config.from_namespace(checkpoint["config"]), kind)
    # a checkpoint from before a field shaped heads does not record it: it cannot be compared
    asked = {name: value for name, value in describe(cfg, kind).items() if name in saved}
    differing = {name: (saved[name], value) for name, value in asked.items()}
    differing = {name: pair for name, pair in differing.items() if pair[0] != pair[1]}
    trained = list(checkpoint.get("state_dicts", {}))
    if not set(cfg.seeds) <= set(trained):  # a checkpoint may hold more seeds than asked for
        differing["seeds"] = (trained, list(cfg.seeds))
    if differing:
        details = "; ".join(
            f"{name}: checkpoint {old!r}, requested {new!r}"
            for name, (old, new) in differing.items()
        )
        raise CheckpointMismatchError(
            f"{path} was trained with another configuration ({details}). Retrain with these "
            "parameters, or set them to the checkpoint's values."
        )
    return checkpoint


def read_metrics(cfg: Config, kind: str) -> dict[str, Any] | None:
    """The ``metrics.json`` of a trained head, or None when that head was not trained yet.

    Args:
        cfg: The run's configuration (its ``artifacts_dir``).
        kind: The model kind: ``"hybrid"``, ``"classical"`` or ``"product"``.

    Returns:
        The metrics (accuracies and losses as mean and ``_se`` over seeds, ``per_seed``,
        ``history``, ...), or None.

    Example:
        >>> metrics = read_metrics(cfg, "classical")  # doctest: +SKIP
        >>> history = metrics["history"] if metrics is not None else None  # doctest: +SKIP
    """
    path = run_dir(cfg, kind) / "metrics.json"
    return _read(kind, path, lambda p: json.loads(p.read_text())) if path.is_file() else None


def load_trajectory(cfg: Config, kind: str, seed: int) -> dict[str, Any]:
    """The parameter snapshots training saved for one seed (``vectors``, ``epochs``, ``names``,
    ``shapes``).

    Args:
        cfg: The run's configuration (its ``artifacts_dir``).
        kind: The model kind: ``"hybrid"``, ``"classical"`` or ``"product"``.
        seed: The training seed.

    Returns:
        ``vectors`` ``(K, P)`` (one flattened parameter snapshot per row, the first the initial
        parameters), ``epochs`` ``(K,)``, and the parameters' ``names`` and ``shapes``.

    Example:
        >>> trajectory = load_trajectory(cfg, "hybrid", cfg.seeds[0])  # doctest: +SKIP
    """
    path = run_dir(cfg, kind) / "trajectory.pt"
    stored = _read(kind, path, lambda p: torch.load(p, map_location="cpu", weights_only=True))
    if seed not in stored.get("seeds", {}):
        raise CheckpointMismatchError(
            f"{path} holds no trajectory of seed {seed}: rerun {trainer(kind).notebook}."
        )
    return {**stored["seeds"][seed], "names": stored["names"], "shapes": stored["shapes"]}


def load_trained_heads(cfg: Config, kind: str) -> dict[int, nn.Module]:
    """Every seed's trained head of ``kind`` from ``cfg.artifacts_dir``, in eval mode.

    Args:
        cfg: The run's configuration; the checkpoint must match it (:func:`load_checkpoint`).
        kind: The model kind: ``"hybrid"``, ``"classical"`` or ``"product"``.

    Returns:
        The heads (512-dimensional features to logits), keyed by seed for every ``cfg.seeds``.

    Example:
        >>> heads = load_trained_heads(cfg, "hybrid")  # doctest: +SKIP
        >>> head = heads[cfg.seeds[0]]  # doctest: +SKIP
    """
    checkpoint = load_checkpoint(run_dir(cfg, kind) / "checkpoint.pt", cfg, kind)
    heads = {}
    for seed in cfg.seeds:
        heads[seed] = build_head(kind, cfg)
        heads[seed].load_state_dict(checkpoint["state_dicts"][seed])
        heads[seed].eval()
    return heads


def load_trained_head(
    cfg: Config, kind: str, seed: int | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """One seed's trained head of ``kind`` (default: the first seed) and the model's metrics."""
    heads = load_trained_heads(cfg, kind)
    return heads[cfg.seeds[0] if seed is None else seed], read_metrics(cfg, kind) or {}


def load_models_by_seed(
    cfg: Config, backbone: nn.Module | None = None
) -> dict[int, dict[str, TransferModel]]:
    """Every model of ``cfg.models`` for every seed on one frozen backbone (images -> logits),
    keyed [seed][kind], in eval mode."""
    backbone = backbone if backbone is not None else load_backbone(cfg.weights_source, cfg.seed)
    heads = {kind: load_trained_heads(cfg, kind) for kind in cfg.models}
    return {
        seed: {kind: TransferModel(backbone, heads[kind][seed]).eval() for kind in cfg.models}
        for seed in cfg.seeds
    }


def load_trained_models(
    cfg: Config, backbone: nn.Module | None = None, seed: int | None = None
) -> dict[str, TransferModel]:
    """The models of ``cfg.models`` trained from one seed (default: the first), keyed by kind."""
    seed = cfg.seeds[0] if seed is None else seed
    return load_models_by_seed(Config(**{**cfg.to_dict(), "seeds": [seed]}), backbone)[seed]
