"""The landscapes notebook 06 draws, each from a trained model: the training trajectory's PCA
plane, one full period of the circuit weights, and the whole network along one direction."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from helpers.analysis.landscape.directions import (
    Parameters,
    TrajectoryPlane,
    filter_normalised_direction,
    pca_plane,
    periodic_direction,
    quantum_parameters,
    trained_parameters,
)
from helpers.analysis.landscape.grid import Landscape, fourier_spectrum, landscape


def trajectory_landscape(
    head: nn.Module,
    centre: Parameters,
    trajectory: dict[str, object],
    inputs: torch.Tensor,
    labels: torch.Tensor,
    resolution: int,
    generator: torch.Generator,
    kind: str = "",
) -> tuple[TrajectoryPlane, Landscape]:
    """The loss on the PCA plane of the training trajectory, over 1.2 times its extent."""
    plane = pca_plane(trajectory, centre, generator)
    extent = 1.2 * np.abs(plane.coordinates).max()
    axis = np.linspace(-extent, extent, resolution)
    return plane, landscape(head, centre, plane.directions, inputs, labels, axis, axis, kind=kind)


@dataclasses.dataclass
class PeriodicLandscape:
    """The loss over one period of the circuit weights, its 2-D Fourier spectrum, and the loss at
    both ends of the period along the first direction (equal for a periodic landscape)."""

    surface: Landscape
    spectrum: np.ndarray
    ends: np.ndarray


def periodic_landscape(
    head: nn.Module,
    centre: Parameters,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    resolution: int,
    generator: torch.Generator,
) -> PeriodicLandscape:
    """Move every circuit angle by ±t and ±s (random signs) over [-π, π): the loss is exactly
    2π-periodic there, so its Fourier spectrum shows the frequencies the circuit expresses."""
    quantum = quantum_parameters(head)
    directions = [periodic_direction(centre, quantum, generator) for _ in range(2)]
    period = np.linspace(-np.pi, np.pi, resolution, endpoint=False)
    surface = landscape(head, centre, directions, inputs, labels, period, period, kind="hybrid")
    ends = landscape(
        head, centre, directions[:1], inputs, labels, np.array([-np.pi, np.pi]), progress=False
    )
    return PeriodicLandscape(surface, fourier_spectrum(surface.loss), ends.loss)


def whole_network(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    points: int = 11,
    kind: str = "",
) -> Landscape:
    """The loss along one filter-normalised direction over every parameter, ResNet18 included
    (BatchNorm parameters and biases get zero directions, as in Li et al.)."""
    params = trained_parameters(model, trainable_only=False)
    direction = filter_normalised_direction(params, generator, quantum_parameters(model))
    return landscape(
        model, params, [direction], images, labels, np.linspace(-1, 1, points), kind=kind
    )
