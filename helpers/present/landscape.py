"""Figures and the generated conclusion of notebook 06 (loss landscapes, sharpness)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.analysis.landscape import spectrum_frequencies
from helpers.present.style import MARKER_COLOUR, MODEL_COLOURS, themed


@themed
def plot_landscape_1d(landscapes: Mapping[str, Any], title: str, xlabel: str = "α") -> Figure:
    """Loss (left) and accuracy (right) along one direction, one line per model.

    Args:
        landscapes: 1-D :class:`Landscape` results (``alphas``, ``loss``, ``accuracy``,
            ``centre_loss``) by model name.
        title: The figure's title.
        xlabel: The x-axis label (the step along the direction).

    Returns:
        The figure.

    Example:
        >>> fig = plot_landscape_1d(line, "Loss along one direction")  # doctest: +SKIP
    """
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

    Args:
        landscapes: 2-D :class:`Landscape` results (``alphas``, ``betas``, ``loss``
            ``(A, B)``) by model name.
        title: The figure's title.
        trajectories: Points ``(K, 2)`` in the grid's coordinates by model name (e.g. the
            training trajectory on its PCA plane); None for none.
        axis_labels: The labels of the two grid axes.

    Returns:
        The figure: one row of three panels per model.

    Example:
        >>> fig = plot_landscape_2d(surface, "Loss landscapes")  # doctest: +SKIP
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
                style = {"markersize": 4, "linewidth": 1, "markeredgecolor": "black"}
                ax.plot(*path[:, :2].T, "w.-", **style, label="training trajectory")
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
    with a dashed square at frequency ``bound`` (e.g. ``PeriodicLandscape.bounds.max()``).

    Args:
        result: The 2-D :class:`Landscape` over one period (``PeriodicLandscape.surface``),
            with its grid in radians.
        spectrum: The 2-D Fourier magnitudes ``(A, B)`` to show (plotted as log10).
        title: The figure's title.
        spectrum_of: What the spectrum is of, for the panel title.
        bound: The largest frequency the circuit can express; None draws no square.

    Returns:
        The figure.

    Example:
        >>> fig = plot_periodic_landscape(
        ...     periodic.surface, periodic.spectrum, "One period", bound=2
        ... )  # doctest: +SKIP
    """
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
        square = ([-edge, edge, edge, -edge, -edge], [-edge, -edge, edge, edge, -edge])
        label = f"|frequency| ≤ {bound}: what the circuit can express"
        spectrum_ax.plot(*square, "--", color="white", linewidth=1, label=label)
        spectrum_ax.legend(fontsize=7, loc="upper right")
    spectrum_ax.set_xlabel("frequency along t")
    spectrum_ax.set_ylabel("frequency along s")
    spectrum_ax.set_title(f"Fourier spectrum of {spectrum_of}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_sharpness(
    values: Mapping[str, Sequence[float]], radius: float, title: str, measure: str = "sharpness"
) -> Figure:
    """A sharpness measure of every model over seeds (the verdict's data): one dot per seed, a
    grey line joining each seed's models (the comparison is paired by seed) and the geometric
    mean (the ratio comparison's centre), on a log scale. Non-positive values cannot be drawn
    (the ratio leaves them out too); each model's count of them is written under its name.

    Args:
        values: Each seed's value (mean over its directions) by model name, seeds in the same
            order for every model.
        radius: ρ, for the axis label.
        title: The figure's title.
        measure: What the values are, for the axis label (e.g. "adaptive sharpness").

    Returns:
        The figure.

    Example:
        >>> values = {"classical": [0.01, 0.02], "hybrid": [0.1, 0.3]}
        >>> fig = plot_sharpness(values, 0.5, "Adaptive sharpness over seeds")
    """
    names = list(values)
    table = np.array([np.asarray(values[name], dtype=float) for name in names])
    shown = np.where(table > 0, table, np.nan)
    positions = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.8 * len(names) + 3, 4.2))
    ax.plot(positions, shown, "-", color="0.75", linewidth=0.8, zorder=1)
    ax.plot([], [], "-", color="0.75", label="one seed's models")
    for x, name in zip(positions, names, strict=True):
        colour = MODEL_COLOURS.get(name)
        ax.plot(np.full(shown.shape[1], x), shown[x], "o", color=colour, zorder=2)
        centre = float(np.exp(np.nanmean(np.log(shown[x]))))
        ax.hlines(centre, x - 0.25, x + 0.25, color=colour, linewidth=2.5, zorder=3)
    ax.plot([], [], "-", color="black", linewidth=2.5, label="geometric mean over seeds")
    ax.set_yscale("log")
    dropped = zip(names, (~(table > 0)).sum(axis=1), strict=True)
    ax.set_xticks(
        positions,
        [f"{n}\n{k} of {len(shown[0])} seeds not positive" if k else n for n, k in dropped],
    )
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_xlabel("model")
    ax.set_ylabel(f"{measure} at ρ = {radius:g} (loss increase)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@themed
def plot_sharpness_invariance(reports: Mapping[str, list[dict[str, Any]]], title: str) -> Figure:
    """The radius tests of each model, as trained and after each function-preserving
    reparametrisation (``landscape.invariance_report`` rows): adaptive sharpness with the
    angles fixed (the verdict) and with them (exploratory) stay level, the filter-normalised
    increase moves. A measure missing from the rows is not drawn.

    Args:
        reports: Each model's ``invariance_report`` rows (the trained parameters first), by name.
        title: The figure's title.

    Returns:
        The figure: one panel per model, on log scales.

    Example:
        >>> rows = [
        ...     {"reparametrisation": "as trained", "adaptive sharpness, angles fixed": 0.01,
        ...      "filter-normalised increase": 0.009},
        ...     {"reparametrisation": "ReLU unit 0 × 20", "adaptive sharpness, angles fixed": 0.01,
        ...      "filter-normalised increase": 0.5},
        ... ]
        >>> fig = plot_sharpness_invariance({"classical": rows}, "Same function, same sharpness?")
    """
    fig, axes = plt.subplots(
        1, len(reports), figsize=(5.5 * len(reports), 4.4), squeeze=False, sharey=True
    )
    for ax, (name, rows) in zip(axes[0], reports.items(), strict=True):
        labels = [row["reparametrisation"] for row in rows]
        for measure, style, colour, role in (
            ("adaptive sharpness, angles fixed", "o-", MODEL_COLOURS.get(name), "the verdict"),
            ("adaptive sharpness, with angles", "^:", "0.25", "exploratory"),
            ("filter-normalised increase", "s--", "0.6", "exploratory"),
        ):
            if measure in rows[0]:
                values = [row[measure] for row in rows]
                ax.plot(labels, values, style, color=colour, label=f"{measure} ({role})")
        ax.set_yscale("log")
        ax.tick_params(axis="x", labelrotation=20)
        plt.setp(ax.get_xticklabels(), horizontalalignment="right")
        ax.set_xlabel("parameters (each computes the same function)")
        ax.set_ylabel("mean loss increase at the radius")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def invariance_table(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """The invariance check: ``landscape.invariance_report`` rows per model.

    Args:
        reports: Each model's ``invariance_report`` rows, by model name.

    Returns:
        The rows indexed by (model, reparametrisation).

    Example:
        >>> rows = [{"reparametrisation": "as trained", "adaptive sharpness, angles fixed": 0.01}]
        >>> list(invariance_table({"classical": rows}).index)
        [('classical', 'as trained')]
    """
    return _by_model(reports, "reparametrisation")


def _by_model(
    reports: Mapping[str, list[dict[str, object]]], key: str = "parameter"
) -> pd.DataFrame:
    """Report rows of several models as one table indexed by (model, ``key``)."""
    rows = [{"model": model, **row} for model, report in reports.items() for row in report]
    return pd.DataFrame(rows).set_index(["model", key])


def normalisation_table(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """The filter-normalisation check: ``landscape.normalisation_report`` rows per model.

    Args:
        reports: Each model's ``normalisation_report`` rows, by model name.

    Returns:
        The rows indexed by (model, parameter), rounded to 4 decimals.

    Example:
        >>> rows = [{"parameter": "fc.weight", "max_filter_mismatch": 1.23456e-7}]
        >>> table = normalisation_table({"hybrid": rows})
        >>> list(table.index), float(table["max_filter_mismatch"].iloc[0])
        ([('hybrid', 'fc.weight')], 0.0)
    """
    return _by_model(reports).round(4)


def displacement_table(reports: Mapping[str, list[dict[str, object]]]) -> pd.DataFrame:
    """How far training moved each parameter tensor: ``landscape.parameter_displacement`` rows
    per model (‖w − w₀‖, ‖w₀‖, ‖w‖; the RMS change per circuit angle in radians).

    Args:
        reports: Each model's ``parameter_displacement`` rows, by model name.

    Returns:
        The rows indexed by (model, parameter).

    Example:
        >>> table = displacement_table(moved)  # doctest: +SKIP
    """
    return _by_model(reports)
