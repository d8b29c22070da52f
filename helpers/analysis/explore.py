"""What the interactive explorer reads from a finished run, and what it computes on demand.

The analysis notebooks persist, beside their figures, what the explorer needs and cannot
recompute cheaply: the 2-D layouts of every layer (t-SNE, UMAP), the directions of the loss
landscapes (the grids themselves are ``landscape/<kind>_2d.npz``) and the DeepDream of every
qubit and unit, under ``<artifacts_dir>/explore/``. ``load_*`` read them back (what is absent is
named, with the notebook whose declaration writes it, :func:`helpers.declare.writer`);
:class:`ImageProbe` computes one image's predictions, saliency maps and per-unit maps on demand
and keeps them in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from helpers.analysis.activations import Activations, unit_layer
from helpers.analysis.dream import DreamTable
from helpers.analysis.landscape import Landscape, Parameters, surface_path
from helpers.analysis.saliency import explain, predict, unit_saliency
from helpers.config import Config
from helpers.declare import Analysis, writer
from helpers.io import atomic_write, save_torch

ANALYSIS = Analysis(
    name="explorer",
    notebook="09_explore",
    title="Explore a finished run",
    results=False,
)
LAYOUT_METHODS = {"tsne": "t-SNE", "umap": "UMAP"}
DIRECTIONS_FILE = "landscape_directions.pt"
DREAMS_FILE = "dreams.pt"
# DeepDream rows of :func:`helpers.analysis.dream.unit_dreams`, keyed by model
DREAM_ROWS = {"hybrid": "hybrid qubits", "classical": "classical units"}
PROBE_CACHE = 256  # (image, method) entries kept in memory
PREFETCH_DELAY = 0.5  # seconds an image is shown before its other maps are computed

Value = TypeVar("Value")


def explore_path(cfg: Config) -> Path:
    """``<artifacts_dir>/explore``: what the notebooks persist for the explorer."""
    return cfg.artifacts_path / "explore"


def save_layouts(
    cfg: Config,
    method: str,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    activations: Activations,
) -> Path:
    """Write the layouts ``[model][layer] (N, 2)`` of ``activations``' images (by ``method``,
    ``tsne`` or ``umap``) with their test indices and labels, as ``layouts_<method>.npz``."""
    if method not in LAYOUT_METHODS:
        raise ValueError(f"method={method!r} is unknown; use one of {list(LAYOUT_METHODS)}.")
    arrays = {
        f"{kind}/{layer}": np.asarray(points, dtype=np.float32)
        for kind, by_layer in layouts.items()
        for layer, points in by_layer.items()
    }
    arrays["indices"] = np.asarray(activations.indices, dtype=np.int64)
    arrays["labels"] = np.asarray(activations.labels, dtype=np.int64)
    path = explore_path(cfg) / f"layouts_{method}.npz"
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def save_landscape_directions(
    cfg: Config,
    centres: Mapping[str, Parameters],
    directions: Mapping[str, Sequence[Parameters]],
    quantum: Mapping[str, Mapping[str, int]],
) -> Path:
    """Write each model's trained parameters, its two landscape directions and its circuit
    weights' names and widths (:func:`~helpers.analysis.landscape.quantum_parameters`)."""
    stored = {
        kind: {
            "centre": dict(centres[kind]),
            "directions": [dict(d) for d in directions[kind]],
            "quantum": dict(quantum[kind]),
        }
        for kind in centres
    }
    return save_torch(stored, explore_path(cfg) / DIRECTIONS_FILE)


def save_dreams(cfg: Config, table: DreamTable, start: torch.Tensor) -> Path:
    """Write the unit dreams of :func:`~helpers.analysis.dream.unit_dreams`, their start and
    final objective values, and the start image."""
    values = {f"{row}\t{column}": list(value) for (row, column), value in table.values.items()}
    stored = {"images": table.images, "values": values, "start": start}
    return save_torch(stored, explore_path(cfg) / DREAMS_FILE)


@dataclasses.dataclass
class Layouts:
    """2-D layouts of one method: ``points[model][layer] (N, 2)`` for test images ``indices``."""

    method: str
    points: dict[str, dict[str, np.ndarray]]
    indices: list[int]
    labels: np.ndarray

    def position(self, index: int) -> int | None:
        """The row of test image ``index`` in the layouts, None if it was not laid out."""
        return self.indices.index(index) if index in self.indices else None


@dataclasses.dataclass
class Dreams:
    """The unit dreams of notebook 07: images ``[row][column]`` and objective values."""

    images: dict[str, dict[str, torch.Tensor]]
    values: dict[str, list[float]]
    start: torch.Tensor

    def pick(self, model: str, unit: int, sign: int = 1) -> tuple[torch.Tensor, float, float]:
        """The dream of ``model``'s unit (qubit ⟨Z_unit⟩ or ReLU unit) pushed up (``sign`` 1) or
        down (-1, qubits only), with the objective at the start image and at the dream."""
        if model not in DREAM_ROWS:
            raise ValueError(f"model={model!r} has no unit dreams; use one of {list(DREAM_ROWS)}.")
        if model == "classical" and sign < 0:
            raise ValueError("a ReLU unit has no negative side: use sign=+1 for classical units.")
        symbol = "+" if sign > 0 else "−"
        column = f"{symbol}⟨Z_{unit}⟩" if model == "hybrid" else f"+h_{unit}"
        row = DREAM_ROWS[model]
        if column not in self.images.get(row, {}):
            raise ValueError(f"no dream {column!r} of the {model} model in this run.")
        start, final = self.values[f"{row}\t{column}"]
        return self.images[row][column], start, final


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
    ``stored``: the model's saved directions (:func:`save_landscape_directions`), if any."""
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


def _read_layouts(path: Path, method: str) -> Layouts:
    with np.load(path) as stored:
        points: dict[str, dict[str, np.ndarray]] = {}
        for key in stored.files:
            if "/" in key:
                kind, layer = key.split("/", 1)
                points.setdefault(kind, {})[layer] = stored[key]
        indices = [int(i) for i in stored["indices"]]
        return Layouts(method, points, indices, stored["labels"])


def missing(cfg: Config, path: Path) -> str:
    """Why ``path`` (an artifact of the run) is absent, naming the notebook that writes it."""
    analysis = writer(path.relative_to(cfg.artifacts_path).as_posix())
    where = f"run {analysis.notebook} on this run" if analysis else "no declared notebook does"
    return f"{path} is absent: {where} to write it."


def load_layouts(cfg: Config) -> tuple[dict[str, Layouts], list[str]]:
    """Every method's layouts of the run, and a line for each absent one."""
    layouts, absent = {}, []
    for method in LAYOUT_METHODS:
        path = explore_path(cfg) / f"layouts_{method}.npz"
        if path.is_file():
            layouts[method] = _read_layouts(path, method)
        else:
            absent.append(missing(cfg, path))
    return layouts, absent


def load_landscapes(
    cfg: Config, kinds: Sequence[str]
) -> tuple[dict[str, Landscape], dict[str, dict[str, Any]], list[str]]:
    """The 2-D landscapes of models ``kinds`` and their directions, and a line for each absent
    file."""
    landscapes, absent = {}, []
    for kind in kinds:
        path = surface_path(cfg, f"{kind}_2d")
        if path.is_file():
            landscapes[kind] = Landscape.load(path)
        else:
            absent.append(missing(cfg, path))
    directions: dict[str, dict[str, Any]] = {}
    path = explore_path(cfg) / DIRECTIONS_FILE
    if path.is_file():
        directions = torch.load(path, map_location="cpu", weights_only=True)
    else:
        absent.append(missing(cfg, path))
    return landscapes, directions, absent


def load_dreams(cfg: Config) -> tuple[Dreams | None, list[str]]:
    """The run's unit dreams (None if absent, with the line saying so)."""
    path = explore_path(cfg) / DREAMS_FILE
    if path.is_file():
        return Dreams(**torch.load(path, map_location="cpu", weights_only=True)), []
    return None, [missing(cfg, path)]


@dataclasses.dataclass
class UnitProbe:
    """One image's class probabilities ``(1, C)`` and per-unit saliency ``(1, units, H, W)`` with
    the units' values ``(1, units)`` (⟨Z_j⟩ of the qubits, the classical twin's ReLU outputs),
    keyed by model."""

    probabilities: dict[str, torch.Tensor]
    unit_maps: dict[str, torch.Tensor]
    unit_values: dict[str, torch.Tensor]


class ImageProbe:
    """One image's predictions and saliency, computed on demand and kept in memory.

    ``key`` names an image (a test index, or the hash of an upload); the same key is never
    computed twice while it stays among the :data:`PROBE_CACHE` most recent entries. One lock
    serialises the computations (they hook the models' layers), so :meth:`prefetch` can fill
    the cache in the background while a user looks at an image.
    """

    def __init__(self, models: Mapping[str, nn.Module], seed: int = 0) -> None:
        self.models = dict(models)
        self.seed = seed
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            value = self._cache[key] = compute()
            if len(self._cache) > PROBE_CACHE:
                self._cache.popitem(last=False)
            return value

    def prefetch(
        self,
        key: Hashable,
        image: torch.Tensor,
        methods: Sequence[str],
        delay: float = PREFETCH_DELAY,
        wanted: Callable[[], bool] = lambda: True,
    ) -> threading.Timer:
        """After ``delay`` seconds, compute ``methods``' maps of ``image`` in the background,
        each only while ``wanted()`` holds (e.g. the image is still the one shown)."""

        def compute() -> None:
            for method in methods:
                if not wanted():
                    return
                self.saliency(key, image, method)

        timer = threading.Timer(delay, compute)
        timer.daemon = True
        timer.start()
        return timer

    def units(self, key: Hashable, image: torch.Tensor) -> UnitProbe:
        """Predictions and per-unit maps of ``image`` ``(1, 3, H, W)``."""

        def compute() -> UnitProbe:
            probabilities, maps, values = {}, {}, {}
            for kind, model in self.models.items():
                probabilities[kind] = predict(model, image)
                maps[kind], values[kind] = unit_saliency(model, image, unit_layer(model, kind))
            return UnitProbe(probabilities, maps, values)

        return self._cached((key, "units"), compute)

    def saliency(self, key: Hashable, image: torch.Tensor, method: str) -> dict[str, torch.Tensor]:
        """Every model's ``method`` map ``(1, H, W)`` of its predicted class for ``image``."""
        return self._cached(
            (key, method), lambda: explain(self.models, image, method, seed=self.seed)[0]
        )
