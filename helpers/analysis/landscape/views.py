"""The landscapes notebook 06 draws, each from a trained model: the training trajectory's PCA
plane, one full period of the circuit weights, and the whole network along one direction."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from helpers.analysis.landscape.directions import (
    Parameters,
    filter_normalised_direction,
    periodic_direction,
    quantum_parameters,
    trained_parameters,
)
from helpers.analysis.landscape.grid import Landscape, landscape
from helpers.analysis.landscape.invariant import angle_periods
from helpers.analysis.landscape.spectrum import fourier_spectrum, frequency_bounds
from helpers.analysis.landscape.trajectory import TrajectoryPlane, pca_plane


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
    """The loss on the PCA plane of the training trajectory, over 1.2 times its extent.

    Args:
        head: The trained head.
        centre: Its trained parameters θ, by name (the plane's origin).
        trajectory: The snapshots training saved (``load_trajectory``).
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        resolution: Grid points along each of the two PCA directions.
        generator: Draws a second direction when the trajectory has rank one.
        kind: The model's name, stored with the landscape.

    Returns:
        The :class:`TrajectoryPlane` (directions, the snapshots' coordinates ``(K, 2)``, the
        explained variance) and the ``(resolution, resolution)`` :class:`Landscape` on it.

    Example:
        >>> plane, surface = trajectory_landscape(
        ...     head, centre, trajectory, inputs, labels, 51, generator, kind="hybrid"
        ... )  # doctest: +SKIP
    """
    plane = pca_plane(trajectory, centre, generator)
    extent = 1.2 * np.abs(plane.coordinates).max()
    axis = np.linspace(-extent, extent, resolution)
    return plane, landscape(head, centre, plane.directions, inputs, labels, axis, axis, kind=kind)


@dataclasses.dataclass
class PeriodicLandscape:
    """One period of the circuit weights: the loss surface (whose ``outputs`` hold the mean
    ⟨Z_j⟩ over the inputs at every grid point), the 2-D Fourier spectra of what the circuit
    expresses and of the loss, the highest frequency per qubit the circuit can express, and the
    loss at both ends of the period along the first direction (equal for a periodic landscape).
    """

    surface: Landscape
    spectrum: np.ndarray  # (A, B) |DFT| of the mean ⟨Z_j⟩, averaged over the qubits
    ends: np.ndarray
    qubit_spectra: np.ndarray  # (J, A, B) |DFT| of the mean ⟨Z_j⟩ per qubit
    loss_spectrum: np.ndarray  # (A, B) |DFT| of the loss: a nonlinear function of the ⟨Z_j⟩
    bounds: np.ndarray  # (J,) highest frequency of ⟨Z_j⟩ along either axis (frequency_bounds)


def periodic_landscape(
    head: nn.Module,
    centre: Parameters,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    resolution: int,
    generator: torch.Generator,
) -> PeriodicLandscape:
    """Move every circuit angle by ±t and ±s (random signs) over [-π, π): the landscape is
    exactly 2π-periodic there. The spectra are taken of the (first) quantum layer's outputs
    ⟨Z_j⟩, averaged over the inputs and evaluated with the loss: trigonometric polynomials whose
    frequencies are those the circuit expresses. The loss, a nonlinear function of them, has
    harmonics beyond (``loss_spectrum``).

    Args:
        head: A trained head with a quantum layer (the hybrid).
        centre: Its trained parameters θ, by name.
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        resolution: Grid points along each direction over [-π, π).
        generator: Draws the random signs of the two directions.

    Returns:
        The :class:`PeriodicLandscape`: the ``(resolution, resolution)`` surface, its spectra,
        the loss at t = ±π (``ends``, ``(2,)``) and the frequency bound per qubit.

    Example:
        >>> periodic = periodic_landscape(
        ...     head, centre, inputs, labels, 51, generator
        ... )  # doctest: +SKIP
        >>> low, high = periodic.ends  # equal (2π-periodic)  # doctest: +SKIP
    """
    quantum = quantum_parameters(head)
    probe = next(iter(quantum)).rpartition(".")[0]
    scales = {
        name: angle_periods(head.get_submodule(name.rpartition(".")[0])) / (2 * np.pi)
        for name in quantum
    }
    directions = [periodic_direction(centre, quantum, generator, scales) for _ in range(2)]
    period = np.linspace(-np.pi, np.pi, resolution, endpoint=False)
    surface = landscape(
        head, centre, directions, inputs, labels, period, period, kind="hybrid", probe=probe
    )
    ends = landscape(
        head, centre, directions[:1], inputs, labels, np.array([-np.pi, np.pi]), progress=False
    )
    qubit_spectra = np.stack([fourier_spectrum(z) for z in np.moveaxis(surface.outputs, -1, 0)])
    return PeriodicLandscape(
        surface,
        qubit_spectra.mean(axis=0),
        ends.loss,
        qubit_spectra,
        fourier_spectrum(surface.loss),
        frequency_bounds(head.get_submodule(probe)),
    )


def whole_network(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    points: int = 11,
    kind: str = "",
) -> Landscape:
    """The loss along one filter-normalised direction over every parameter, ResNet18 included
    (BatchNorm parameters and biases get zero directions, as in Li et al.).

    Args:
        model: The whole network (backbone and head), images to logits.
        images: Normalised images ``(N, 3, H, W)`` the loss averages over.
        labels: Their class indices ``(N,)``.
        generator: Draws the random direction.
        points: Grid points along the direction, over α in [-1, 1].
        kind: The model's name, stored with the landscape.

    Returns:
        The 1-D :class:`Landscape` (loss and accuracy ``(points,)``).

    Example:
        >>> images, labels, _ = session.test_images(16)  # doctest: +SKIP
        >>> line = whole_network(model, images, labels, generator, kind="hybrid")  # doctest: +SKIP
    """
    params = trained_parameters(model, trainable_only=False)
    direction = filter_normalised_direction(params, generator, quantum_parameters(model))
    return landscape(
        model, params, [direction], images, labels, np.linspace(-1, 1, points), kind=kind
    )
