"""The training trajectory (``trajectory.pt``): its PCA plane (Li et al. 2018, Sec. 7) and how far
training moved each parameter tensor."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from helpers.analysis.landscape.directions import (
    Parameters,
    flatten,
    quantum_parameters,
    trained_parameters,
    unflatten,
)
from helpers.config import Config
from helpers.model.checkpoints import load_trajectory


def _snapshots(trajectory: Mapping[str, object], centre: Parameters) -> torch.Tensor:
    """The trajectory's vectors ``(K, P)`` in float64, after checking they hold ``centre``'s
    parameters in the same order."""
    names = list(trajectory["names"])
    if names != list(centre):
        raise ValueError(f"trajectory parameters {names} differ from the model's {list(centre)}")
    vectors = torch.as_tensor(trajectory["vectors"]).double()
    size = sum(value.numel() for value in centre.values())
    if vectors.dim() != 2 or vectors.shape[1] != size:
        raise ValueError(f"trajectory vectors {tuple(vectors.shape)}, expected (K, {size})")
    return vectors


@dataclasses.dataclass
class TrajectoryPlane:
    """Two PCA directions of an optimisation trajectory and the trajectory's coordinates."""

    directions: tuple[Parameters, Parameters]
    coordinates: np.ndarray  # (K, 2): each snapshot minus the centre, projected on the plane
    explained_variance: np.ndarray  # share of the centred snapshots' variance per direction
    epochs: np.ndarray  # (K,) position of each snapshot in epochs


def pca_plane(
    trajectory: Mapping[str, object], centre: Parameters, generator: torch.Generator
) -> TrajectoryPlane:
    """PCA directions of ``trajectory.pt`` (written by training) around the trained parameters.

    Following Li et al. (Sec. 7, and their code's ``sklearn`` PCA), the offsets (snapshots minus
    the centre) are centred on their mean and the first two principal components span the plane;
    ``explained_variance`` is their share of the centred variance. The coordinates are the
    offsets themselves projected on the plane, so the trained model stays at the origin. A
    trajectory of rank one gets a random second direction orthogonal to the first.
    """
    offsets = (_snapshots(trajectory, centre) - flatten(centre).double()).numpy()
    centred = offsets - offsets.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / max((singular**2).sum(), 1e-300)
    first = components[0]
    if len(components) > 1 and singular[1] > 1e-9 * singular[0]:
        second = components[1]
    else:
        random = torch.randn(len(first), generator=generator, dtype=torch.float64).numpy()
        second = random - (random @ first) * first
        second /= np.linalg.norm(second)
    plane = np.stack([first, second])
    coordinates = offsets @ plane.T
    directions = tuple(
        unflatten(torch.from_numpy(vector).to(next(iter(centre.values())).dtype), centre)
        for vector in plane
    )
    explained = np.array([variance[0], variance[1] if len(variance) > 1 else 0.0])
    return TrajectoryPlane(directions, coordinates, explained, np.asarray(trajectory["epochs"]))


def parameter_displacement(
    trajectory: Mapping[str, object], centre: Parameters, quantum: Iterable[str] = ()
) -> list[dict[str, object]]:
    """How far training moved the parameters: per tensor and in total (last row, ``"total"``),
    ‖w − w₀‖ (trained minus the trajectory's first snapshot, the initial parameters), ‖w₀‖ and
    ‖w‖; for the circuit weights named in ``quantum`` (:func:`quantum_parameters`) also the RMS
    change per angle in radians (NaN for the other rows).

    Args:
        trajectory: The snapshots training saved (``load_trajectory``): ``vectors`` ``(K, P)``
            in ``names`` order, whose first row is the initial parameters.
        centre: The trained parameters, by name, in the trajectory's order.
        quantum: The names of the circuit weights (angles, in radians).

    Returns:
        One row per tensor and a last ``"total"`` row: ``parameter``, ``shape``,
        ``norm_change``, ``norm_initial``, ``norm_trained``, ``rms_angle_change``.

    Example:
        >>> trajectory = load_trajectory(cfg, "hybrid", cfg.seeds[0])  # doctest: +SKIP
        >>> rows = parameter_displacement(trajectory, centre, quantum)  # doctest: +SKIP
    """
    quantum = set(quantum)
    initial = unflatten(_snapshots(trajectory, centre)[0], centre)
    pairs = [(name, initial[name], value.double()) for name, value in centre.items()]
    pairs.append(("total", flatten(initial), flatten(centre).double()))
    return [
        {
            "parameter": name,
            "shape": tuple(w.shape),
            "norm_change": float((w - w0).norm()),
            "norm_initial": float(w0.norm()),
            "norm_trained": float(w.norm()),
            "rms_angle_change": (
                float((w - w0).pow(2).mean().sqrt()) if name in quantum else math.nan
            ),
        }
        for name, w0, w in pairs
    ]


def circuit_displacement(
    cfg: Config, heads_by_seed: Mapping[int, Mapping[str, nn.Module]]
) -> dict[int, dict[str, float]]:
    """‖w − w₀‖ of the circuit weights of every seed's models that have any (the hybrid; the
    depth-0 control has none), from the trajectories training saved: ``[seed][model]``.

    Args:
        cfg: The run's configuration (where training saved the trajectories).
        heads_by_seed: Every seed's trained heads by kind, ``[seed][model]``.

    Returns:
        ‖w − w₀‖ over all circuit weights, ``[seed][model]``; models without any are absent.

    Example:
        >>> moved = circuit_displacement(cfg, session.heads_by_seed)  # doctest: +SKIP
    """
    moved: dict[int, dict[str, float]] = {}
    for seed, heads in heads_by_seed.items():
        moved[seed] = {}
        for kind, head in heads.items():
            centre = trained_parameters(head)
            quantum = [name for name in quantum_parameters(head) if centre[name].numel()]
            if quantum:
                rows = parameter_displacement(load_trajectory(cfg, kind, seed), centre, quantum)
                by_name = {row["parameter"]: row["norm_change"] for row in rows}
                moved[seed][kind] = float(math.hypot(*(by_name[name] for name in quantum)))
    return moved
