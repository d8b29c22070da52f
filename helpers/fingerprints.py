"""What invalidates what: every cache and checkpoint key is a hash of the fields that change the
artifact (``Config``'s ``affects`` metadata), resolved to what they mean for it."""

from __future__ import annotations

import hashlib
import json
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


def _circuit_digest(cfg: Config, kind: str) -> str:
    """A user circuit's model by content: its gates, parameters and observables, so an edited
    builder, or a depth that changes what it builds, never loads another circuit's head."""
    from helpers.model.heads import model_circuit  # heads build on the configuration

    try:
        spec = model_circuit(kind, cfg)
    except ValueError as exc:  # said in preflight; the key only has to differ
        return f"unbuildable:{exc}"
    gates = [
        (item.operation.name, [spec.circuit.find_bit(q).index for q in item.qubits],
         [str(angle) for angle in item.operation.params])
        for item in spec.circuit.data
    ]  # fmt: skip
    described = {
        "gates": gates,
        "inputs": [p.name for p in spec.inputs],
        "weights": [p.name for p in spec.weights],
        "observables": [str(o) for o in spec.observables],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


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
    if name == "circuit" and ":" in cfg.circuit and artifact in QUANTUM_MODELS:
        return _circuit_digest(cfg, artifact)  # a user circuit, by what its builder gives
    if name == "seed" and artifact == "features":
        return cfg.seed if cfg.dataset == "synthetic" or cfg.weights == "none" else None
    return getattr(cfg, name)


# The version of the training code (helpers.model.train, heads, the quantum layer): part of every
# head's fingerprint, so raise it when a change of that code changes what training gives.
TRAINING_VERSION = 1


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
