"""Figures and the generated conclusion of notebook 05 (manifolds, atlases, whitening)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from helpers.analysis.atlas import Atlas
from helpers.present.style import (
    CLASS_PALETTE,
    MODEL_COLOURS,
    image_array,
    scatter_classes,
    themed,
)


@themed
def plot_atlas(
    layout: np.ndarray, atlas: Atlas, labels: torch.Tensor, classes: Sequence[str], title: str
) -> Figure:
    """Left: the layout with the atlas grid; right: each cell's mean image, framed in the colour
    of its dominant class (empty cells blank), with its sample count.

    Args:
        layout: The 2-D (UMAP) layout ``(N, 2)`` the atlas was binned from.
        atlas: The atlas of ``layout`` (``atlas.activation_atlas``).
        labels: Class indices ``(N,)`` of the points.
        classes: Class names, indexed by label.
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> atlas = activation_atlas(layout, images, labels, grid=8)  # doctest: +SKIP
        >>> fig = plot_atlas(layout, atlas, labels, classes, "Atlas")  # doctest: +SKIP
    """
    grid = atlas.grid
    fig = plt.figure(figsize=(13, 6.2))
    layout_ax = fig.add_subplot(1, 2, 1)
    scatter_classes(layout_ax, layout, labels, classes, size=6)
    x0, x1, y0, y1 = atlas.extent
    for k in range(grid + 1):
        layout_ax.axvline(x0 + (x1 - x0) * k / grid, color="grey", linewidth=0.4)
        layout_ax.axhline(y0 + (y1 - y0) * k / grid, color="grey", linewidth=0.4)
    layout_ax.set_xlabel("UMAP 1")
    layout_ax.set_ylabel("UMAP 2")
    layout_ax.set_title("layout and atlas grid")
    layout_ax.grid(False)
    layout_ax.legend(title="class", markerscale=2)
    colours = sns.color_palette(CLASS_PALETTE, len(classes))
    cells = fig.add_gridspec(grid, grid, left=0.53, right=0.98, wspace=0.05, hspace=0.05)
    for cell in range(grid * grid):
        ax = fig.add_subplot(cells[cell // grid, cell % grid])
        ax.set_xticks([])
        ax.set_yticks([])
        if atlas.counts[cell] == 0:
            ax.axis("off")
            continue
        ax.imshow(image_array(atlas.images[cell]))
        for spine in ax.spines.values():
            spine.set_edgecolor(colours[atlas.dominant[cell]])
            spine.set_linewidth(2.5)
        ax.text(
            1,
            1,
            str(atlas.counts[cell]),
            color="white",
            fontsize=6,
            va="top",
            bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "linewidth": 0},
        )
    fig.text(
        0.755, 0.93, "mean image per cell (frame: dominant class, number: samples)", ha="center"
    )
    fig.suptitle(title)
    return fig


@themed
def plot_matrices(
    matrices: Mapping[str, np.ndarray],
    title: str,
    symmetric_scale: bool = True,
    colourbar_label: str = "correlation",
) -> Figure:
    """Heat maps of square matrices side by side (correlation or whitening matrices).

    Args:
        matrices: Square ``(D, D)`` matrices by panel title; entries are printed when D ≤ 8.
        title: The figure's title.
        symmetric_scale: Colour scale [-1, 1] (correlations); False: ± each matrix's largest
            absolute entry.
        colourbar_label: The colour bars' label.

    Returns:
        The figure.

    Example:
        >>> fig = plot_matrices({"hybrid q_out": corr}, "Correlations")  # doctest: +SKIP
    """
    fig, axes = plt.subplots(
        1, len(matrices), figsize=(3.6 * len(matrices) + 0.8, 3.6), squeeze=False
    )
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        limit = float(np.abs(matrix).max()) if not symmetric_scale else 1.0
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("unit")
        ax.set_ylabel("unit")
        if len(matrix) <= 8:
            ax.set_xticks(range(len(matrix)))
            ax.set_yticks(range(len(matrix)))
            for (i, j), value in np.ndenumerate(matrix):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=colourbar_label)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_spectra(
    spectra: Mapping[str, Mapping[str, np.ndarray]],
    rows: Sequence[Mapping[str, Any]],
    title: str,
) -> Figure:
    """Left: normalised eigenvalue spectra (log scale) of chosen layers, one colour per model;
    right: participation ratio of every layer against depth.

    Args:
        spectra: Covariance eigenvalues ``(D,)`` keyed ``[model][layer]``
            (``whitening.layer_spectra``), each plotted as its share of the total.
        rows: ``whitening.dimensionality_table`` rows (``model``, ``layer``, ``depth``,
            ``participation_ratio``).
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> fig = plot_spectra(spectra, rows, "Spectra and participation ratios")  # doctest: +SKIP
    """
    fig, (spectrum_ax, ratio_ax) = plt.subplots(1, 2, figsize=(13, 4.5))
    styles = ["-", "--", "-.", ":"]
    for model, by_layer in spectra.items():
        for style, (layer, eigenvalues) in zip(styles, by_layer.items(), strict=False):
            share = eigenvalues / eigenvalues.sum()
            spectrum_ax.semilogy(
                np.arange(1, len(share) + 1),
                share,
                style,
                marker=".",
                color=MODEL_COLOURS.get(model),
                label=f"{model}: {layer}",
            )
    spectrum_ax.set_xscale("log")
    spectrum_ax.set_xlabel("eigenvalue rank")
    spectrum_ax.set_ylabel("share of the variance")
    spectrum_ax.set_title("Covariance spectra")
    spectrum_ax.legend(fontsize=8)
    for model in dict.fromkeys(row["model"] for row in rows):
        chosen = [row for row in rows if row["model"] == model]
        ratio_ax.plot(
            [row["depth"] for row in chosen],
            [row["participation_ratio"] for row in chosen],
            "-o",
            color=MODEL_COLOURS.get(model),
            label=model,
        )
    names: dict[int, list[str]] = {}
    for row in rows:
        names.setdefault(row["depth"], []).append(row["layer"])
    ratio_ax.set_xticks(
        list(names), ["/".join(dict.fromkeys(n)) for n in names.values()], rotation=45, ha="right"
    )
    ratio_ax.set_yscale("log")
    ratio_ax.set_xlabel("layer")
    ratio_ax.set_ylabel("participation ratio (effective dimensions)")
    ratio_ax.set_title("Effective dimensionality by layer")
    ratio_ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_unit_distributions(
    values: Mapping[str, torch.Tensor],
    labels: torch.Tensor,
    classes: Sequence[str],
    unit_names: Mapping[str, str],
    title: str,
) -> Figure:
    """Violin plots of every unit's values per class, one panel per model.

    Args:
        values: Each model's unit activations ``(N, U)``, by model name.
        labels: Class indices ``(N,)``.
        classes: Class names, indexed by label.
        unit_names: The x-axis label of each model's panel, by model name.
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> fig = plot_unit_distributions(
        ...     {"hybrid": q_out}, labels, classes, {"hybrid": "qubit"}, "Per-unit distributions"
        ... )  # doctest: +SKIP
    """
    fig, axes = plt.subplots(1, len(values), figsize=(6 * len(values), 4), squeeze=False)
    for ax, (model, units) in zip(axes[0], values.items(), strict=True):
        records = {
            "unit": [f"{j}" for _ in range(len(units)) for j in range(units.shape[1])],
            "value": units.flatten().numpy(),
            "class": [classes[int(label)] for label in labels for _ in range(units.shape[1])],
        }
        sns.violinplot(
            records,
            x="unit",
            y="value",
            hue="class",
            split=True,
            inner="quart",
            palette=CLASS_PALETTE,
            ax=ax,
            cut=0,
        )
        ax.set_xlabel(unit_names[model])
        ax.set_ylabel("activation")
        ax.set_title(model)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def describe_atlases(atlases: Mapping[str, Atlas]) -> str:
    """One line per model: occupied cells and the sample-weighted class purity of its atlas.

    Args:
        atlases: Each model's :class:`~helpers.analysis.atlas.Atlas`, by model name.

    Returns:
        The lines, joined by newlines.

    Example:
        >>> print(describe_atlases(atlases))  # doctest: +SKIP
        hybrid: 41 occupied cells, sample-weighted class purity 0.912
    """
    return "\n".join(
        f"{kind}: {atlas.occupied} occupied cells, sample-weighted class purity "
        f"{atlas.weighted_purity:.3f}"
        for kind, atlas in atlases.items()
    )
