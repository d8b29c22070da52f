"""What the interactive explorer reads from a finished run, and what it computes on demand.

What the explorer reads from disk, each analysis saves and loads itself (layouts:
:mod:`helpers.analysis.embedding`; landscape directions: :mod:`helpers.analysis.landscape`;
dreams: :mod:`helpers.analysis.dream`). :class:`ImageProbe` computes one image's predictions,
saliency maps and per-unit maps on demand and keeps them in memory.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from helpers.analysis.activations import unit_layer
from helpers.analysis.saliency import explain, predict, unit_saliency
from helpers.declare import Analysis

ANALYSIS = Analysis(
    name="explorer",
    notebook="10_explore",
    title="Explore a finished run",
    results=False,
)
PROBE_CACHE = 256  # (image, method) entries kept in memory
PREFETCH_DELAY = 0.5  # seconds an image is shown before its other maps are computed

Value = TypeVar("Value")


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
