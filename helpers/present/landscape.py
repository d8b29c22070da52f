"""Figures and the generated conclusion of notebook 06 (loss landscapes, sharpness)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.analysis.landscape import Landscape, spectrum_frequencies
from helpers.present.style import (
    MARKER_COLOUR,
    MODEL_COLOURS,
    themed,
)


@themed
def plot_landscape_1d(landscapes: Mapping[str, Any], title: str, xlabel: str = "α") -> Figure:
    """Loss (left) and accuracy (right) along one direction, one line per model."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name, result in landscapes.items():
        colour = MODEL_COLOURS.get(name)
        loss_ax.plot(result.alphas, result.loss, "-", color=colour, label=name)
        loss_ax.plot([0], [result.centre_loss], "o", color=colour)
        acc_ax.plot(result.alphas, result.accuracy, "-", color=colour, label=name)
    loss_ax.set_ylabel("cross-entropy loss")
    acc_ax.set_ylabel("accuracy")
    for ax, name in ((loss_ax, "Loss"), (acc_ax, "Accuracy")):
        ax.set_xlabel(xlabel)
        ax.set_title(f"{name} along the direction (dot: trained model)")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_landscape_2d(
    landscapes: Mapping[str, Any],
    title: str,
    trajectories: Mapping[str, np.ndarray] | None = None,
    axis_labels: tuple[str, str] = ("α (direction 1)", "β (direction 2)"),
) -> Figure:
    """Per model (rows): contour lines, filled heat map and 3-D surface, on one colour scale.

    ``trajectories[model]`` ``(K, 2)`` is drawn on the contour and heat-map panels.
    """
    names = list(landscapes)
    low = min(float(np.min(r.loss)) for r in landscapes.values())
    high = max(float(np.max(r.loss)) for r in landscapes.values())
    levels = np.linspace(low, high, 25)
    fig = plt.figure(figsize=(16, 4.6 * len(names)))
    for row, name in enumerate(names):
        result = landscapes[name]
        a, b = np.meshgrid(result.alphas, result.betas, indexing="ij")
        contour_ax = fig.add_subplot(len(names), 3, 3 * row + 1)
        lines = contour_ax.contour(a, b, result.loss, levels=levels, cmap="viridis")
        contour_ax.clabel(lines, fontsize=6, fmt="%.2f")
        heat_ax = fig.add_subplot(len(names), 3, 3 * row + 2)
        mesh = heat_ax.pcolormesh(
            a, b, result.loss, cmap="viridis", vmin=low, vmax=high, shading="auto"
        )
        fig.colorbar(mesh, ax=heat_ax, label="loss")
        for ax, kind in ((contour_ax, "contours"), (heat_ax, "heat map")):
            ax.plot(0, 0, "*", color=MARKER_COLOUR, markersize=12, label="trained model")
            if trajectories is not None and name in trajectories:
                path = trajectories[name]
                ax.plot(
                    path[:, 0],
                    path[:, 1],
                    "w.-",
                    markersize=4,
                    linewidth=1,
                    markeredgecolor="black",
                    label="training trajectory",
                )
            ax.set_xlabel(axis_labels[0])
            ax.set_ylabel(axis_labels[1])
            ax.set_title(f"{name}: {kind}")
            ax.legend(fontsize=7, loc="upper right")
        surface_ax = fig.add_subplot(len(names), 3, 3 * row + 3, projection="3d")
        surface_ax.plot_surface(
            a, b, result.loss, cmap="viridis", vmin=low, vmax=high, linewidth=0, antialiased=True
        )
        surface_ax.set_zlim(low, high)
        surface_ax.set_xlabel(axis_labels[0], fontsize=8)
        surface_ax.set_ylabel(axis_labels[1], fontsize=8)
        surface_ax.set_zlabel("loss", fontsize=8)
        surface_ax.set_title(f"{name}: surface")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_periodic_landscape(
    result: Any,
    spectrum: np.ndarray,
    title: str,
    spectrum_of: str = "the mean ⟨Z_j⟩ (averaged over qubits)",
    bound: int | None = None,
) -> Figure:
    """The loss over one full period of the circuit weights and the 2-D Fourier spectrum of
    ``spectrum_of`` (by default what the circuit expresses: ``PeriodicLandscape.spectrum``),
    with a dashed square at frequency ``bound`` (e.g. ``PeriodicLandscape.bounds.max()``)."""
    fig, (surface_ax, spectrum_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    a, b = np.meshgrid(result.alphas, result.betas, indexing="ij")
    mesh = surface_ax.pcolormesh(a, b, result.loss, cmap="viridis", shading="auto")
    fig.colorbar(mesh, ax=surface_ax, label="loss")
    surface_ax.plot(0, 0, "*", color=MARKER_COLOUR, markersize=12, label="trained model")
    surface_ax.set_xlabel("t (radians, direction 1)")
    surface_ax.set_ylabel("s (radians, direction 2)")
    surface_ax.set_title("Loss over one period of the circuit weights")
    surface_ax.legend(fontsize=8)
    frequencies_a, frequencies_b = (spectrum_frequencies(n) for n in spectrum.shape)
    image = spectrum_ax.pcolormesh(
        frequencies_a, frequencies_b, np.log10(spectrum.T + 1e-12), cmap="magma", shading="auto"
    )
    fig.colorbar(image, ax=spectrum_ax, label="log10 |Fourier coefficient|")
    if bound is not None:
        edge = bound + 0.5
        spectrum_ax.plot(
            [-edge, edge, edge, -edge, -edge],
            [-edge, -edge, edge, edge, -edge],
            "--",
            color="white",
            linewidth=1,
            label=f"|frequency| ≤ {bound}: what the circuit can express",
        )
        spectrum_ax.legend(fontsize=7, loc="upper right")
    spectrum_ax.set_xlabel("frequency along t")
    spectrum_ax.set_ylabel("frequency along s")
    spectrum_ax.set_title(f"Fourier spectrum of {spectrum_of}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_sharpness(increases: Mapping[str, np.ndarray], radius: float, title: str) -> Figure:
    """Distribution of the loss increase at a fixed radius along random directions."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in increases.items():
        ax.hist(
            values,
            bins=15,
            alpha=0.6,
            color=MODEL_COLOURS.get(name),
            label=f"{name} (mean {np.mean(values):.3g})",
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"L(θ + {radius:g}·δ) − L(θ)")
    ax.set_ylabel("random directions")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def _by_model(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """Report rows of several models as one table indexed by (model, parameter)."""
    rows = [{"model": model, **row} for model, report in reports.items() for row in report]
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def normalisation_table(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """The filter-normalisation check: ``landscape.normalisation_report`` rows per model."""
    return _by_model(reports).round(4)


def displacement_table(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """How far training moved each parameter tensor: ``landscape.parameter_displacement`` rows
    per model (‖w − w₀‖, ‖w₀‖, ‖w‖; the RMS change per circuit angle in radians)."""
    return _by_model(reports)


def describe_displacement(model: str, report: list[dict[str, object]]) -> str:
    """One line: how far training moved ``model``'s circuit weights (when it has any) and all
    its parameters, from a ``landscape.parameter_displacement`` report."""
    parts = [
        f"the circuit weights {row['parameter']} by ‖w − w₀‖ = {row['norm_change']:.3g} "
        f"({row['rms_angle_change']:.3g} rad RMS per angle; ‖w₀‖ = {row['norm_initial']:.3g}, "
        f"‖w‖ = {row['norm_trained']:.3g})"
        for row in report
        if not math.isnan(row["rms_angle_change"])
    ]
    total = report[-1]
    parts.append(
        f"all parameters by {total['norm_change']:.3g} (‖w₀‖ = {total['norm_initial']:.3g}, "
        f"‖w‖ = {total['norm_trained']:.3g})"
    )
    return f"{model}: training moved " + " and ".join(parts) + "."


def describe_centres(
    landscapes: Mapping[str, Landscape], trained_losses: Mapping[str, float]
) -> str:
    """One line per model: the landscape's centre beside the trained model's own loss."""
    return "\n".join(
        f"{kind}: centre of the landscape {result.centre_loss:.6f}, trained model's loss "
        f"{trained_losses[kind]:.6f}"
        for kind, result in landscapes.items()
    )
