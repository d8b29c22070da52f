"""What invalidates what: every cache and checkpoint key is a hash of the fields that change the
artifact (``Config``'s ``affects`` metadata), resolved to what they mean for it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.config import WEIGHT_PRESETS, Config
from helpers.declare import QUANTUM_MODELS


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A user circuit's model by content, registered by helpers.model.heads (a higher floor, which
# builds circuits) when it is imported; every module that trains or loads a head imports it.
circuit_digest: Callable[[Config, str], str] | None = None


def resolved(cfg: Config, name: str, artifact: str = "features") -> Any:
    """What a field means for an artifact: the data folder as an absolute path (nothing for
    generated data), weights files by their content hash, and the seed, which carves the
    validation split for every model but changes the features only where it makes them
    (synthetic data, random weights)."""
    if name == "data_dir":
        return "generated" if cfg.dataset == "synthetic" else str(cfg.data_path.resolve())
    if name == "weights" and cfg.weights not in WEIGHT_PRESETS:
        path = Path(cfg.weights_source)
        return f"file:{_file_digest(path)}" if path.is_file() else f"missing:{path}"
    if name == "circuit" and ":" in cfg.circuit and artifact in QUANTUM_MODELS and circuit_digest:
        return circuit_digest(cfg, artifact)  # a user circuit, by what its builder gives
    if name == "seed" and artifact == "features":
        return cfg.seed if cfg.dataset == "synthetic" or cfg.weights == "none" else None
    return getattr(cfg, name)


# The version of the training code (helpers.model.train, heads, the quantum layer): part of every
# head's fingerprint, so raise it when a change of that code changes what training gives.
TRAINING_VERSION = 2  # 2: the fast simulator fuses one-qubit rotation chains (rounding)


def describe(cfg: Config, artifact: str) -> dict[str, Any]:
    """The resolved values of every field that changes ``artifact`` (and, for a trained head,
    the training code's version)."""
    found = {name: resolved(cfg, name, artifact) for name in Config.fields_affecting(artifact)}
    return found if artifact == "features" else {**found, "training_version": TRAINING_VERSION}


def fingerprint(cfg: Config, artifact: str, **extra: Any) -> str:
    """The one cache and checkpoint key: a hash of :func:`describe` and any ``extra`` details
    (a split, a sample count, trained weights, ...)."""
    text = json.dumps({**describe(cfg, artifact), **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
