"""What the landscape analysis keeps for the explorer: each model's trained parameters and two
landscape directions (``explore/landscape_directions.pt``, beside the grids
``landscape/<kind>_2d.npz``), read back with the loss and circuit weights at any grid point."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.analysis.landscape.directions import Parameters
from helpers.analysis.landscape.grid import Landscape
from helpers.analysis.landscape.sharpness import ANALYSIS
from helpers.analysis.results import absent, explore_path
from helpers.config import Config
from helpers.io import save_torch

DIRECTIONS_FILE = "landscape_directions.pt"


def surface_path(cfg: Config, name: str) -> Path:
    """Where the run's landscape grid ``name`` (e.g. ``"hybrid_2d"``) is saved.

    Args:
        cfg: The run's configuration (its ``artifacts_dir``).
        name: The grid's name, without extension.

    Returns:
        ``<artifacts_dir>/landscape/<name>.npz``.

    Example:
        >>> surface_path(Config(), "hybrid_2d").name
        'hybrid_2d.npz'
    """
    return cfg.artifacts_path / ANALYSIS.name / f"{name}.npz"


@dataclasses.dataclass
class LandscapePoint:
    """The loss landscape of one model at the grid point nearest (α, β)."""

    alpha: float
    beta: float
    loss: float
    accuracy: float
    circuit: np.ndarray | None  # circuit weights (layers, qubits) at the point; None: no circuit
    trained_circuit: np.ndarray | None  # the same at the trained model (α = β = 0)


def landscape_point(
    surface: Landscape, stored: Mapping[str, Any] | None, alpha: float, beta: float
) -> LandscapePoint:
    """Loss, accuracy and circuit weights at the grid point of ``surface`` nearest (α, β);
    ``stored``: the model's saved directions (:func:`save_directions`), if any."""
    i = int(np.abs(surface.alphas - alpha).argmin())
    j = int(np.abs(surface.betas - beta).argmin())
    a, b = float(surface.alphas[i]), float(surface.betas[j])
    circuit = trained = None
    for name, width in (stored or {}).get("quantum", {}).items():
        centre = stored["centre"][name]
        first, second = (d[name] for d in stored["directions"])
        moved = centre + a * first + b * second
        trained = centre.double().reshape(-1, width).numpy()
        circuit = moved.double().reshape(-1, width).numpy()
    return LandscapePoint(
        a, b, float(surface.loss[i, j]), float(surface.accuracy[i, j]), circuit, trained
    )


def save_directions(
    cfg: Config,
    centres: Mapping[str, Parameters],
    directions: Mapping[str, Sequence[Parameters]],
    quantum: Mapping[str, Mapping[str, int]],
) -> Path:
    """Write each model's trained parameters, its two landscape directions and its circuit
    weights' names and widths (:func:`~helpers.analysis.landscape.quantum_parameters`).

    Args:
        cfg: The run's configuration (where to write).
        centres: Each model's trained parameters θ by name, by model kind.
        directions: Each model's two directions (δ, η), shaped like its centre, by kind.
        quantum: Each model's circuit-weight names and layer widths, by kind.

    Returns:
        The written file, ``<artifacts_dir>/explore/landscape_directions.pt``.

    Example:
        >>> save_directions(cfg, centres, directions, quantum)  # doctest: +SKIP
    """
    stored = {
        kind: {
            "centre": dict(centres[kind]),
            "directions": [dict(d) for d in directions[kind]],
            "quantum": dict(quantum[kind]),
        }
        for kind in centres
    }
    return save_torch(stored, explore_path(cfg) / DIRECTIONS_FILE)


def load_landscapes(
    cfg: Config, kinds: Sequence[str]
) -> tuple[dict[str, Landscape], dict[str, dict[str, Any]], list[str]]:
    """The 2-D landscapes of models ``kinds`` and their directions, and a line for each absent
    file."""
    landscapes, gone = {}, []
    for kind in kinds:
        path = surface_path(cfg, f"{kind}_2d")
        if path.is_file():
            landscapes[kind] = Landscape.load(path)
        else:
            gone.append(absent(cfg, path))
    directions: dict[str, dict[str, Any]] = {}
    path = explore_path(cfg) / DIRECTIONS_FILE
    if path.is_file():
        directions = torch.load(path, map_location="cpu", weights_only=True)
    else:
        gone.append(absent(cfg, path))
    return landscapes, directions, gone
