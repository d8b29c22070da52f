"""Figures and the generated conclusion of notebook 03 (saliency)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.analysis.saliency import MODES, Explanation, SaliencyScores
from helpers.present.style import (
    MODEL_COLOURS,
    image_array,
    image_panels,
    themed,
)


def _normalised(maps: torch.Tensor) -> torch.Tensor:
    """Each map divided by its maximum, so maps of different models share one scale [0, 1]."""
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12)
    return maps / peak.view(-1, *([1] * (maps.dim() - 1)))


def _overlay(ax: plt.Axes, image: torch.Tensor, saliency_map: torch.Tensor, title: str) -> None:
    ax.imshow(image_array(image))
    ax.imshow(saliency_map.numpy(), cmap="inferno", alpha=0.6, vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)


def _prediction(classes: Sequence[str], probabilities: torch.Tensor) -> str:
    predicted = int(probabilities.argmax())
    return f"{classes[predicted]} ({probabilities[predicted]:.0%})"


@themed
def plot_saliency_comparison(
    images: torch.Tensor,
    labels: torch.Tensor | None,
    classes: Sequence[str],
    maps: Mapping[str, torch.Tensor],
    probabilities: Mapping[str, torch.Tensor],
    title: str,
) -> Figure:
    """Per image: the image, each model's map overlaid, and hybrid minus classical.

    Maps are scaled to their own maximum; the difference is that of the scaled maps (red: the
    hybrid looks there more, blue: the classical head does).

    Args:
        images: Normalised images ``(B, 3, H, W)``, one row each.
        labels: True class indices ``(B,)`` for the row titles, or None (e.g. a user photo).
        classes: Class names, indexed by label.
        maps: Saliency maps ``(B, H, W)`` by model name; the difference is last minus first.
        probabilities: Class probabilities ``(B, C)`` by model name, for each prediction.
        title: The figure's title.

    Returns:
        The figure: one row per image, columns image, each model's map, difference.

    Example:
        >>> fig = plot_saliency_comparison(
        ...     images, labels, classes, maps, probabilities, "Gradient saliency"
        ... )  # doctest: +SKIP
    """
    names = list(maps)
    scaled = {name: _normalised(maps[name]) for name in names}
    columns = len(names) + 1 + (len(names) > 1)  # the difference needs two models
    fig, axes = plt.subplots(
        len(images), columns, figsize=(2.4 * columns, 2.5 * len(images) + 0.6), squeeze=False
    )
    for row, image in enumerate(images):
        truth = "" if labels is None else f"true {classes[int(labels[row])]}"
        axes[row, 0].imshow(image_array(image))
        axes[row, 0].set_title(truth or "input", fontsize=9)
        for column, name in enumerate(names, start=1):
            prediction = _prediction(classes, probabilities[name][row])
            _overlay(axes[row, column], image, scaled[name][row], f"{name}: {prediction}")
        if len(names) > 1:
            difference = axes[row, -1].imshow(
                (scaled[names[-1]][row] - scaled[names[0]][row]).numpy(),
                cmap="RdBu_r",
                vmin=-1,
                vmax=1,
            )
            axes[row, -1].set_title(f"{names[-1]} − {names[0]}", fontsize=9)
            fig.colorbar(difference, ax=axes[row, -1], fraction=0.046, pad=0.04)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_saliency_methods(
    images: torch.Tensor, maps: Mapping[str, Mapping[str, torch.Tensor]], title: str
) -> Figure:
    """Rows: images; columns: the image, then every (method, model) map overlaid.

    Args:
        images: Normalised images ``(B, 3, H, W)``.
        maps: Saliency maps ``(B, H, W)`` keyed ``[method][model]``, each scaled to its maximum.
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> fig = plot_saliency_methods(images[:4], maps, "Three methods")  # doctest: +SKIP
    """
    pairs = [(method, model) for method in maps for model in maps[method]]
    fig, axes = image_panels(len(images), len(pairs) + 1)
    for row, image in enumerate(images):
        axes[row, 0].imshow(image_array(image))
        axes[row, 0].set_title("input", fontsize=9)
        for column, (method, model) in enumerate(pairs, start=1):
            scaled = _normalised(maps[method][model][row : row + 1])[0]
            _overlay(axes[row, column], image, scaled, f"{method.replace('_', ' ')}\n{model}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_unit_saliency(
    images: torch.Tensor,
    unit_maps: Mapping[str, torch.Tensor],
    unit_values: Mapping[str, torch.Tensor],
    unit_names: Mapping[str, str],
    title: str,
) -> Figure:
    """One row per (image, model): the image, then the saliency of each unit with its value.

    Maps are scaled by the largest map of that row, so units of one model compare directly.

    Args:
        images: Normalised images ``(B, 3, H, W)``; a row pair for each.
        unit_maps: Per-unit saliency ``(B, U, H, W)`` by model name (``head_unit_saliency``).
        unit_values: The units' values ``(B, U)`` by model name, shown in the panel titles.
        unit_names: What a unit of each model is called in the titles (``"qubit"``, ``"unit"``).
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> names = {"hybrid": "qubit", "classical": "unit"}
        >>> fig = plot_unit_saliency(
        ...     images[:3], unit_maps, unit_values, names, "Per-unit saliency"
        ... )  # doctest: +SKIP
    """
    models = list(unit_maps)
    n_units = max(m.shape[1] for m in unit_maps.values())
    rows = [(i, model) for i in range(len(images)) for model in models]
    fig, axes = image_panels(len(rows), n_units + 1)
    for row, (i, model) in enumerate(rows):
        axes[row, 0].imshow(image_array(images[i]))
        axes[row, 0].set_title(f"image {i}: {model}", fontsize=9)
        scaled = unit_maps[model][i] / unit_maps[model][i].amax().clamp_min(1e-12)
        for j in range(unit_maps[model].shape[1]):
            value = float(unit_values[model][i, j])
            _overlay(
                axes[row, j + 1], images[i], scaled[j], f"{unit_names[model]} {j}: {value:+.2f}"
            )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


_CURVE_LABELS = {  # mode: (x label, y label of the normalised curves)
    "deletion": ("fraction of pixels removed", "probability above chance: 1 intact, 0 chance"),
    "insertion": ("fraction of pixels inserted", "probability above chance: 1 intact, 0 chance"),
}


def _excluded(score: SaliencyScores) -> str:
    """``classical 2, hybrid 5 of 64 images excluded (at chance)``."""
    counts = ", ".join(f"{model} {int((~kept).sum())}" for model, kept in score.kept().items())
    total = len(next(iter(score.deletion_curves.values())))
    return f"{counts} of {total} images excluded (explained at chance)"


@themed
def plot_perturbation_curves(
    scores: Mapping[str, SaliencyScores], title: str, normalised: bool = True
) -> Figure:
    """Deletion and insertion curves of every method (``scores[method]``) and model, mean ±
    standard error over images.

    ``normalised``: each image's curve as its probability above chance relative to the intact
    image's (``normalise_curves``), over the images not excluded (explained at chance), whose
    counts the panel titles state (the same for every method and mode); else raw probabilities
    of all images.

    Args:
        scores: Each method's :class:`SaliencyScores` (one line style per method).
        title: The figure's title.
        normalised: Plot the per-image normalised curves (True) or the raw probabilities.

    Returns:
        The figure: a deletion and an insertion panel against the fraction of pixels.

    Example:
        >>> fig = plot_perturbation_curves(scores, "Deletion and insertion")  # doctest: +SKIP
    """
    styles = ["-", "--", "-.", ":"]
    fig, axes = plt.subplots(1, len(MODES), figsize=(7.5 * len(MODES), 4.8), squeeze=False)
    for ax, mode in zip(axes[0], MODES, strict=True):
        for style, (method, score) in zip(styles, scores.items(), strict=False):
            for model, values in score.curves(mode, normalised).items():
                kept = values[~values.isnan().any(dim=1)]
                fractions = np.linspace(0, 1, values.shape[1])
                mean = kept.mean(0).numpy()
                error = (kept.std(0) / math.sqrt(len(kept))).numpy()
                colour = MODEL_COLOURS.get(model, "grey")
                ax.plot(fractions, mean, style, color=colour, label=f"{model}, {method}")
                ax.fill_between(fractions, mean - error, mean + error, color=colour, alpha=0.12)
        xlabel, ylabel = _CURVE_LABELS[mode]
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel if normalised else "probability of the explained class")
        better = "lower" if mode == "deletion" else "higher"
        if normalised:
            excluded = _excluded(next(iter(scores.values())))
            ax.set_title(
                f"{mode.capitalize()}, normalised per image ({better} area is better)\n{excluded}",
                fontsize=10,
            )
        else:
            ax.set_title(f"{mode.capitalize()} ({better} area is better)")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_score_bars(
    rows: Sequence[Mapping[str, Any]],
    score: str,
    title: str,
    ylabel: str,
    reference: float | None = None,
    reference_label: str = "chance",
) -> Figure:
    """Bars of ``row[score]`` ± ``row[score + '_se']`` grouped by method, one colour per model.

    Args:
        rows: Score rows with ``method``, ``model``, ``score`` and ``score + '_se'`` keys
            (``saliency.score_rows``).
        score: The key of the value to plot, e.g. ``"pointing_game"``.
        title: The figure's title.
        ylabel: The y-axis label.
        reference: Height of a dashed reference line (e.g. the chance level); None for none.
        reference_label: The reference line's legend entry.

    Returns:
        The figure.

    Example:
        >>> fig = plot_score_bars(
        ...     rows, "pointing_game", "Pointing game", "fraction on the object", reference=0.25
        ... )  # doctest: +SKIP
    """
    methods = list(dict.fromkeys(row["method"] for row in rows))
    models = list(dict.fromkeys(row["model"] for row in rows))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(1.8 * len(methods) + 2, 4))
    for k, model in enumerate(models):
        chosen = {row["method"]: row for row in rows if row["model"] == model}
        x = np.arange(len(methods)) + (k - (len(models) - 1) / 2) * width
        values = [chosen[m][score] for m in methods]
        errors = [chosen[m][f"{score}_se"] for m in methods]
        ax.bar(
            x,
            values,
            width,
            yerr=errors,
            capsize=3,
            label=model,
            color=MODEL_COLOURS.get(model, "grey"),
        )
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", label=reference_label)
    ax.set_xticks(np.arange(len(methods)), [m.replace("_", " ") for m in methods])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_explanation(explanation: Explanation, classes: Sequence[str]) -> Figure:
    """Both models' maps of one image from ``saliency.explain_user_image``.

    Args:
        explanation: The image ``(1, 3, S, S)``, maps and probabilities of every model.
        classes: Class names, indexed by the models' outputs.

    Returns:
        The figure of :func:`plot_saliency_comparison` for that one image.

    Example:
        >>> fig = plot_explanation(explanation, cfg.classes)  # doctest: +SKIP
    """
    return plot_saliency_comparison(
        explanation.image,
        None,
        classes,
        explanation.maps,
        explanation.probabilities,
        f"{explanation.method.replace('_', ' ')} saliency of {explanation.name}",
    )
