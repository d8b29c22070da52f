"""Trained heads shared between runs: ``<cache_dir>/heads/<kind>-<key>/``.

The key is the training fingerprint (:func:`helpers.fingerprints.fingerprint` of every field
that shapes the head, with the seeds), so two runs that differ only in what an analysis reads
(a sweep over ``saliency_images``, say) train each head once: :func:`helpers.model.train.train`
copies a cached entry into the run instead of training again, and stores what it trains.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch

from helpers.config import Config
from helpers.fingerprints import fingerprint
from helpers.io import atomic_write, error_summary, record_computed, save_json, save_torch
from helpers.model.checkpoints import run_dir

# what training writes into <artifacts_dir>/<kind>/; the checkpoint last, as it vouches for the rest
HEAD_FILES = ("trajectory.pt", "metrics.json", "checkpoint.pt")


def cached_heads_path(cfg: Config, kind: str) -> Path:
    """The cache entry (a folder) of ``kind``'s heads trained as ``cfg`` says, for its seeds."""
    key = fingerprint(cfg, kind, seeds=list(cfg.seeds))
    return cfg.cache_path / "heads" / f"{kind}-{key}"


def _copy(source: Path, target: Path) -> None:
    with source.open("rb") as handle:
        atomic_write(target, lambda out: shutil.copyfileobj(handle, out))


def store_heads(cfg: Config, kind: str) -> Path:
    """Copy the run's trained ``kind`` heads (:data:`HEAD_FILES`) into their cache entry."""
    entry = cached_heads_path(cfg, kind)
    for name in HEAD_FILES:
        _copy(run_dir(cfg, kind) / name, entry / name)
    return entry


def restore_heads(cfg: Config, kind: str) -> bool:
    """Copy the cached ``kind`` heads for ``cfg`` into the run, with this run's configuration in
    their metrics and checkpoint; False when the cache holds none (an unreadable entry is
    discarded with a warning)."""
    entry = cached_heads_path(cfg, kind)
    if not (entry / HEAD_FILES[-1]).is_file():
        return False
    try:
        metrics = json.loads((entry / "metrics.json").read_text())
        checkpoint = torch.load(entry / "checkpoint.pt", map_location="cpu", weights_only=False)
    except Exception as exc:  # damaged or cut short: train again
        warnings.warn(
            f"discarding the unreadable cached heads {entry} ({error_summary(exc)}); "
            "they are trained again.",
            stacklevel=2,
        )
        shutil.rmtree(entry, ignore_errors=True)
        return False
    target = run_dir(cfg, kind)
    _copy(entry / "trajectory.pt", target / "trajectory.pt")
    save_json(
        {**metrics, "config": cfg.to_dict(), "reused_from": str(entry)}, target / "metrics.json"
    )
    save_torch({**checkpoint, "config": cfg.to_dict()}, target / "checkpoint.pt")
    record_computed(
        cfg.cache_path, "heads reused", run=str(cfg.artifacts_path), kind=kind, entry=entry.name
    )
    return True
