"""Figures and the generated conclusion of notebook 04 (layouts and separability)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from helpers.analysis.activations import BACKBONE_LAYERS
from helpers.present.style import (
    CLASS_PALETTE,
    MODEL_COLOURS,
    scatter_classes,
    themed,
)
from helpers.present.tables import format_value


@themed
def plot_layouts(
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    labels: torch.Tensor,
    classes: Sequence[str],
    title: str,
    method: str = "t-SNE",
    annotations: Mapping[str, Mapping[str, str]] | None = None,
) -> Figure:
    """One row per model, one column per layer: 2-D layouts coloured by class.

    ``annotations[model][layer]`` is printed under the panel title (e.g. a k-NN accuracy).

    Args:
        layouts: 2-D points ``(N, 2)`` keyed ``[model][layer]`` (``embedding.embed_layers``).
        labels: Class indices ``(N,)`` of the points.
        classes: Class names, indexed by label.
        title: The figure's title.
        method: The layout method's name for the axis labels (``"t-SNE"``, ``"UMAP"``).
        annotations: Notes under the panel titles, keyed ``[model][layer]`` (e.g. from
            :func:`knn_notes`); None for none.

    Returns:
        The figure.

    Example:
        >>> fig = plot_layouts(layouts, activations.labels, classes, "t-SNE")  # doctest: +SKIP
    """
    models = list(layouts)
    n_columns = max(len(by_layer) for by_layer in layouts.values())
    fig, axes = plt.subplots(
        len(models), n_columns, figsize=(2.3 * n_columns, 2.6 * len(models) + 0.8), squeeze=False
    )
    for row, model in enumerate(models):
        for column, (layer, points) in enumerate(layouts[model].items()):
            ax = axes[row, column]
            scatter_classes(ax, points, labels, classes, size=5)
            note = (annotations or {}).get(model, {}).get(layer, "")
            ax.set_title(f"{model}: {layer}" + (f"\n{note}" if note else ""), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{method} 1", fontsize=8)
            ax.set_ylabel(f"{method} 2", fontsize=8)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", title="class", markerscale=2)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.95, 1))
    return fig


@themed
def plot_separability(rows: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """k-NN accuracy, silhouette and trustworthiness against depth, one line per model.

    Args:
        rows: ``embedding.separability_table`` rows (``model``, ``layer``, ``depth``, the scores
            and their ``_se``, shaded when present).
        title: The figure's title.

    Returns:
        The figure: one panel per score.

    Example:
        >>> fig = plot_separability(rows, "Class separability layer by layer")  # doctest: +SKIP
    """
    scores = (
        ("knn_accuracy", "k-NN accuracy (5-fold CV)"),
        ("silhouette", "silhouette score"),
        ("trustworthiness", "t-SNE trustworthiness"),
    )
    fig, axes = plt.subplots(1, len(scores), figsize=(5.2 * len(scores), 4.2))
    for ax, (score, label) in zip(axes, scores, strict=True):
        for model in dict.fromkeys(row["model"] for row in rows):
            chosen = [row for row in rows if row["model"] == model]
            depth = [row["depth"] for row in chosen]
            values = np.array([row[score] for row in chosen], dtype=float)
            colour = MODEL_COLOURS.get(model)
            ax.plot(depth, values, "-o", color=colour, label=model)
            if f"{score}_se" in chosen[0]:
                errors = np.array([row[f"{score}_se"] for row in chosen], dtype=float)
                ax.fill_between(depth, values - errors, values + errors, color=colour, alpha=0.15)
        names = {}
        for row in rows:
            names.setdefault(row["depth"], []).append(row["layer"])
        ax.set_xticks(
            list(names),
            ["/".join(dict.fromkeys(n)) for n in names.values()],
            rotation=45,
            ha="right",
        )
        ax.set_xlabel("layer")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_unit_pairs(
    values: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    unit_name: str,
    title: str,
    limits: tuple[float, float] | None = None,
) -> Figure:
    """Pairwise scatter plots of a layer's units (e.g. every pair of <Z_j>), coloured by class.

    The diagonal shows each unit's distribution per class.

    Args:
        values: The layer's activations ``(N, U)``, one unit per column.
        labels: Class indices ``(N,)``.
        classes: Class names, indexed by label.
        unit_name: Axis-label prefix, followed by the unit's index (e.g. ``"⟨Z⟩ qubit "``).
        title: The figure's title.
        limits: Common axis range of every unit (e.g. ``(-1, 1)`` for ⟨Z_j⟩); None: automatic.

    Returns:
        The figure: a ``U`` x ``U`` grid of panels.

    Example:
        >>> fig = plot_unit_pairs(
        ...     q_out, labels, classes, "⟨Z⟩ qubit ", "Qubit pairs", limits=(-1, 1)
        ... )  # doctest: +SKIP
    """
    n_units = values.shape[1]
    fig, axes = plt.subplots(n_units, n_units, figsize=(2.2 * n_units + 1, 2.2 * n_units + 0.6))
    axes = np.atleast_2d(axes)
    colours = sns.color_palette(CLASS_PALETTE, len(classes))
    array = values.numpy()
    for i in range(n_units):
        for j in range(n_units):
            ax = axes[i, j]
            if i == j:
                for index, name in enumerate(classes):
                    chosen = array[np.asarray(labels) == index, i]
                    ax.hist(
                        chosen, bins=20, range=limits, color=colours[index], alpha=0.6, label=name
                    )
            else:
                scatter_classes(ax, array[:, [j, i]], labels, classes, size=4)
                if limits is not None:
                    ax.set_ylim(limits)
            if limits is not None:
                ax.set_xlim(limits)
            if i == n_units - 1:
                ax.set_xlabel(f"{unit_name}{j}")
            if j == 0:
                ax.set_ylabel(f"{unit_name}{i}" if i else "count")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", title="class")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    return fig


def knn_notes(rows: list[dict[str, object]]) -> dict[str, dict[str, str]]:
    """Panel annotations ``[model][layer]``: each layer's k-NN accuracy ± SE.

    Args:
        rows: ``embedding.separability_table`` rows (``model``, ``layer``, ``knn_accuracy``,
            ``knn_accuracy_se``).

    Returns:
        The notes, keyed ``[model][layer]``, for :func:`plot_layouts`' ``annotations``.

    Example:
        >>> knn_notes([{"model": "hybrid", "layer": "q_out", "knn_accuracy": 0.9,
        ...             "knn_accuracy_se": 0.01}])
        {'hybrid': {'q_out': 'k-NN 0.90 ± 0.01'}}
    """
    notes: dict[str, dict[str, str]] = {}
    for row in rows:
        notes.setdefault(str(row["model"]), {})[str(row["layer"])] = (
            f"k-NN {row['knn_accuracy']:.2f} ± {row['knn_accuracy_se']:.2f}"
        )
    return notes


def describe_separability(rows: list[dict[str, object]]) -> str:
    """The frozen backbone's trend in markdown (the same for every model and seed). The head
    layers' comparisons are paired over seeds: see ``embedding.separability_results``.

    Args:
        rows: ``embedding.separability_table`` rows; those of the first and last backbone
            layers are read.

    Returns:
        One markdown bullet: the k-NN accuracy ± SE at the first and the last backbone layer.

    Example:
        >>> text = describe_separability(rows)  # doctest: +SKIP
    """
    by_layer = {row["layer"]: row for row in rows if row["layer"] in BACKBONE_LAYERS}
    first, last = (by_layer[name] for name in (BACKBONE_LAYERS[0], BACKBONE_LAYERS[-1]))
    return (
        f"- Through the frozen backbone, k-NN accuracy goes from "
        f"{format_value(first['knn_accuracy'], first['knn_accuracy_se'])} ({first['layer']}) to "
        f"{format_value(last['knn_accuracy'], last['knn_accuracy_se'])} ({last['layer']}; ± SE "
        "over images; the frozen backbone is the same for every model and seed)."
    )
