"""Figures and the generated conclusion of notebook 03 (saliency)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.analysis.saliency import Explanation, SaliencyScores
from helpers.present.style import (
    MODEL_COLOURS,
    image_array,
    image_panels,
    themed,
)
from helpers.present.tables import format_value, verdict


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
    """
    names = list(maps)
    scaled = {name: _normalised(maps[name]) for name in names}
    fig, axes = plt.subplots(
        len(images),
        len(names) + 2,
        figsize=(2.4 * (len(names) + 2), 2.5 * len(images) + 0.6),
        squeeze=False,
    )
    for row, image in enumerate(images):
        truth = "" if labels is None else f"true {classes[int(labels[row])]}"
        axes[row, 0].imshow(image_array(image))
        axes[row, 0].set_title(truth or "input", fontsize=9)
        for column, name in enumerate(names, start=1):
            prediction = _prediction(classes, probabilities[name][row])
            _overlay(axes[row, column], image, scaled[name][row], f"{name}: {prediction}")
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
    """Rows: images; columns: the image, then every (method, model) map overlaid."""
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


@themed
def plot_perturbation_curves(scores: Mapping[str, SaliencyScores], title: str) -> Figure:
    """Deletion and insertion curves of every method (``scores[method]``) and model, mean ±
    standard error over images."""
    curves = {
        "deletion": {method: score.deletion_curves for method, score in scores.items()},
        "insertion": {method: score.insertion_curves for method, score in scores.items()},
    }
    styles = ["-", "--", "-.", ":"]
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.2), squeeze=False)
    for ax, (mode, by_method) in zip(axes[0], curves.items(), strict=True):
        for style, (method, by_model) in zip(styles, by_method.items(), strict=False):
            for model, values in by_model.items():
                fractions = np.linspace(0, 1, values.shape[1])
                mean = values.mean(0).numpy()
                error = (values.std(0) / math.sqrt(len(values))).numpy()
                colour = MODEL_COLOURS.get(model, "grey")
                ax.plot(fractions, mean, style, color=colour, label=f"{model}, {method}")
                ax.fill_between(fractions, mean - error, mean + error, color=colour, alpha=0.12)
        ax.set_xlabel(f"fraction of pixels {'removed' if mode == 'deletion' else 'inserted'}")
        ax.set_ylabel("probability of the explained class")
        ax.set_title(
            f"{mode.capitalize()} ({'lower' if mode == 'deletion' else 'higher'} area is better)"
        )
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
    """Bars of ``row[score]`` ± ``row[score + '_se']`` grouped by method, one colour per model."""
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
    """Both models' maps of one image from ``saliency.explain_user_image``."""
    return plot_saliency_comparison(
        explanation.image,
        None,
        classes,
        explanation.maps,
        explanation.probabilities,
        f"{explanation.method.replace('_', ' ')} saliency of {explanation.name}",
    )


def _value(row: Mapping[str, object], score: str) -> str:
    return format_value(float(row[score]), float(row[f"{score}_se"]))


def _verdict(rows: Mapping[str, Mapping[str, object]], score: str) -> str:
    classical, hybrid = (
        (float(rows[name][score]), float(rows[name][f"{score}_se"]))
        for name in ("classical", "hybrid")
    )
    return verdict(classical, hybrid)


def describe_unit_similarity(similarity: Mapping[str, tuple[float, float]]) -> str:
    """One line per model: mean rank correlation between the maps of its different units."""
    return "\n".join(
        f"{name}: mean rank correlation between the maps of different units "
        f"{mean:.3f} ± {error:.3f}"
        for name, (mean, error) in similarity.items()
    )


def _by_method(rows: list[dict[str, object]]) -> dict[str, dict[str, dict[str, object]]]:
    grouped: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(str(row["method"]), {})[str(row["model"])] = row
    return grouped


def describe_scores(
    rows: list[dict[str, object]], gains: list[dict[str, object]], chance: float | None = None
) -> str:
    """A markdown summary of the scores and gains over random maps, with standard errors."""
    summaries, gain_rows = _by_method(rows), _by_method(gains)
    lines = []
    for method, models in gain_rows.items():
        summary = summaries[method]
        parts = [
            f"**{method.replace('_', ' ')}**: classical-hybrid rank correlation "
            f"{_value(summary['classical'], 'rank_corr_classical_hybrid')} "
            f"({summary['classical']['rank_corr_images']} images with non-constant maps)"
        ]
        for score in ("deletion_gain", "insertion_gain"):
            values = ", ".join(f"{name} {_value(row, score)}" for name, row in models.items())
            parts.append(
                f"{score.replace('_', ' ')} over random maps: {values} ({_verdict(models, score)})"
            )
        if "pointing_game" in summary["classical"]:
            values = ", ".join(
                f"{name} {_value(row, 'pointing_game')}" for name, row in summary.items()
            )
            parts.append(f"pointing game: {values}")
        lines.append("- " + "; ".join(parts) + ".")
    if chance is not None:
        lines.append(f"- The pointing game's chance level is {chance:.0%}.")
    return "\n".join(lines)


def describe_accuracy(probabilities: Mapping[str, torch.Tensor], labels: torch.Tensor) -> str:
    """Each model's accuracy on the explained images."""
    return "\n".join(
        f"{name}: accuracy {(probs.argmax(1) == labels).float().mean():.3f} on these "
        f"{len(labels)} images"
        for name, probs in probabilities.items()
    )
