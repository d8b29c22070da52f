"""Dead units: the units of a layer that take one single value (e.g. a ReLU's 0) on almost every
image, which carry no information and are left out of the unit statistics of notebook 05
(:mod:`helpers.analysis.whitening`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from helpers.analysis.stats import as_matrix

DEAD_FRACTION = 0.99  # a unit at one value on at least this share of the images is dead


@dataclasses.dataclass(frozen=True)
class DeadUnits:
    """Which units of a layer are dead, from :func:`dead_units`."""

    dead: np.ndarray  # (D,) bool, True for a dead unit
    mode_fraction: np.ndarray  # (D,) share of the images at the unit's most common value
    dead_fraction: float  # the threshold applied

    @property
    def live(self) -> np.ndarray:
        """Indices of the live units, ascending."""
        return np.flatnonzero(~self.dead)

    @property
    def dead_indices(self) -> tuple[int, ...]:
        """Indices of the dead units, ascending."""
        return tuple(int(j) for j in np.flatnonzero(self.dead))


def dead_units(
    values: torch.Tensor | np.ndarray, dead_fraction: float = DEAD_FRACTION
) -> DeadUnits:
    """The units of ``(N, D)`` activations that take one single value (exactly, e.g. a ReLU's 0)
    on at least ``dead_fraction`` of the N images; 1.0 marks only strictly constant units.

    Shares are compared to within 1e-12, so a threshold computed as 1 - 1/100 still counts a
    unit constant on 99 of 100 images as dead.
    """
    if not 0 < dead_fraction <= 1:
        raise ValueError(f"dead_fraction must lie in (0, 1], got {dead_fraction}")
    x = np.sort(as_matrix(values), axis=0)
    if len(x) == 0:
        raise ValueError("dead units need at least one image")
    rows = np.arange(len(x))[:, None]
    starts = np.ones(x.shape, dtype=bool)
    starts[1:] = x[1:] != x[:-1]  # where a run of equal sorted values begins
    run_start = np.maximum.accumulate(np.where(starts, rows, 0), axis=0)
    mode_fraction = (rows - run_start + 1).max(axis=0, initial=0) / len(x)
    return DeadUnits(mode_fraction >= dead_fraction - 1e-12, mode_fraction, dead_fraction)


def live_columns(values: torch.Tensor | np.ndarray, dead_fraction: float | None) -> np.ndarray:
    """The activations' live units as ``(N, live)``; ``dead_fraction=None`` keeps every unit."""
    x = as_matrix(values)
    return x if dead_fraction is None else x[:, dead_units(x, dead_fraction).live]
