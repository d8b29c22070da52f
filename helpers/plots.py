"""Figure helpers shared by the notebooks: one style, every figure titled, labelled and saved."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import IPython
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from IPython.display import Image, display
from matplotlib.figure import Figure
from qiskit.circuit import QuantumCircuit
from sklearn.metrics import confusion_matrix

from helpers.config import Config
from helpers.data import denormalize

sns.set_theme(context="notebook", style="whitegrid")
MODEL_COLOURS = {"classical": "#1f77b4", "hybrid": "#d62728"}


def save_figure(fig: Figure, cfg: Config, name: str) -> Path:
    """Save ``fig`` as ``<artifacts_dir>/figures/<name>.png`` and return the path.

    In a notebook the saved PNG itself is displayed (tagged ``{"figure": name}`` in the output's
    metadata, which the HTML report uses) and the figure is closed, so it is shown once.
    """
    path = cfg.figures_path / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    shell = IPython.get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        display(Image(filename=str(path)), metadata={"figure": name})
        plt.close(fig)
    return path


def _image(tensor: torch.Tensor) -> np.ndarray:
    return denormalize(tensor).permute(1, 2, 0).numpy()


def _panels(rows: int, columns: int, size: float = 2.2) -> tuple[Figure, np.ndarray]:
    """A ``rows`` x ``columns`` grid of image panels without axes."""
    fig, axes = plt.subplots(
        rows, columns, figsize=(size * columns, size * rows + 0.6), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes


def _grid(n: int, columns: int, size: float = 2.2) -> tuple[Figure, np.ndarray]:
    """Enough image panels for ``n`` images in rows of ``columns``, flattened."""
    fig, axes = _panels(math.ceil(n / columns), columns, size)
    return fig, axes.flat


def plot_samples(
    images: torch.Tensor,
    labels: Sequence[int],
    classes: Sequence[str],
    title: str,
    columns: int = 8,
) -> Figure:
    """A grid of (normalised) images with their class names."""
    fig, axes = _grid(len(images), columns)
    for ax, image, label in zip(axes, images, labels, strict=False):
        ax.imshow(_image(image))
        ax.set_title(classes[int(label)], fontsize=10)
    fig.suptitle(title)
    return fig


def plot_history(histories: Mapping[str, Sequence[Mapping[str, float]]], title: str) -> Figure:
    """Loss and accuracy per epoch, train (dashed) and validation (solid), for each model."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in histories.items():
        epochs = [row["epoch"] for row in history]
        colour = MODEL_COLOURS.get(name)
        for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            for split, style, label in (("train", "--o", "train"), ("val", "-o", "validation")):
                values = [row[f"{split}_{metric}"] for row in history]
                ax.plot(epochs, values, style, color=colour, label=f"{name} {label}")
    for ax, metric in ((loss_ax, "cross-entropy loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    loss_ax.set_title("Loss")
    acc_ax.set_title("Accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion(
    labels: torch.Tensor, predictions: torch.Tensor, classes: Sequence[str], title: str
) -> Figure:
    """Confusion matrix (counts) of validation predictions."""
    matrix = confusion_matrix(labels.numpy(), predictions.numpy(), labels=range(len(classes)))
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2.5, 1.1 * len(classes) + 2))
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar_kws={"label": "images"},
        xticklabels=classes,
        yticklabels=classes,
        ax=ax,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig


def plot_predictions(
    images: torch.Tensor,
    labels: torch.Tensor,
    probabilities: torch.Tensor,
    classes: Sequence[str],
    title: str,
    columns: int = 6,
) -> Figure:
    """Images with true class, predicted class and confidence (green right, red wrong)."""
    fig, axes = _grid(len(images), columns, size=2.4)
    for ax, image, label, probs in zip(axes, images, labels, probabilities, strict=False):
        predicted = int(probs.argmax())
        ax.imshow(_image(image))
        ax.set_title(
            f"true {classes[int(label)]}\npred {classes[predicted]} ({probs[predicted]:.0%})",
            fontsize=9,
            color="green" if predicted == int(label) else "red",
        )
    fig.suptitle(title)
    return fig


def draw_circuit(circuit: QuantumCircuit, title: str) -> Figure:
    """Qiskit's matplotlib drawing of a circuit, titled."""
    fig = circuit.draw("mpl", fold=-1)
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------------- saliency
def _normalised(maps: torch.Tensor) -> torch.Tensor:
    """Each map divided by its maximum, so maps of different models share one scale [0, 1]."""
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12)
    return maps / peak.view(-1, *([1] * (maps.dim() - 1)))


def _overlay(ax: plt.Axes, image: torch.Tensor, saliency_map: torch.Tensor, title: str) -> None:
    ax.imshow(_image(image))
    ax.imshow(saliency_map.numpy(), cmap="inferno", alpha=0.6, vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)


def _prediction(classes: Sequence[str], probabilities: torch.Tensor) -> str:
    predicted = int(probabilities.argmax())
    return f"{classes[predicted]} ({probabilities[predicted]:.0%})"


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
        axes[row, 0].imshow(_image(image))
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


def plot_saliency_methods(
    images: torch.Tensor, maps: Mapping[str, Mapping[str, torch.Tensor]], title: str
) -> Figure:
    """Rows: images; columns: the image, then every (method, model) map overlaid."""
    pairs = [(method, model) for method in maps for model in maps[method]]
    fig, axes = _panels(len(images), len(pairs) + 1)
    for row, image in enumerate(images):
        axes[row, 0].imshow(_image(image))
        axes[row, 0].set_title("input", fontsize=9)
        for column, (method, model) in enumerate(pairs, start=1):
            scaled = _normalised(maps[method][model][row : row + 1])[0]
            _overlay(axes[row, column], image, scaled, f"{method.replace('_', ' ')}\n{model}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    fig, axes = _panels(len(rows), n_units + 1)
    for row, (i, model) in enumerate(rows):
        axes[row, 0].imshow(_image(images[i]))
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


def plot_perturbation_curves(
    curves: Mapping[str, Mapping[str, Mapping[str, torch.Tensor]]], title: str
) -> Figure:
    """Deletion and insertion curves, mean ± standard error over images.

    ``curves[mode][method][model]`` is ``(N, steps + 1)`` with mode ``deletion``/``insertion``.
    """
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


# ---------------------------------------------------------------------------- embeddings
CLASS_PALETTE = "tab10"


def _scatter_classes(
    ax: plt.Axes, points: np.ndarray, labels: torch.Tensor, classes: Sequence[str], size: float = 8
) -> None:
    colours = sns.color_palette(CLASS_PALETTE, len(classes))
    for index, name in enumerate(classes):
        chosen = np.asarray(labels) == index
        ax.scatter(*points[chosen].T, s=size, color=colours[index], label=name, alpha=0.75)


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
    """
    models = list(layouts)
    n_columns = max(len(by_layer) for by_layer in layouts.values())
    fig, axes = plt.subplots(
        len(models), n_columns, figsize=(2.3 * n_columns, 2.6 * len(models) + 0.8), squeeze=False
    )
    for row, model in enumerate(models):
        for column, (layer, points) in enumerate(layouts[model].items()):
            ax = axes[row, column]
            _scatter_classes(ax, points, labels, classes, size=5)
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


def plot_separability(rows: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """k-NN accuracy, silhouette and trustworthiness against depth, one line per model."""
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
                _scatter_classes(ax, array[:, [j, i]], labels, classes, size=4)
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


# ------------------------------------------------------------------- manifolds and whitening
def plot_atlas(
    layout: np.ndarray, atlas: Any, labels: torch.Tensor, classes: Sequence[str], title: str
) -> Figure:
    """Left: the layout with the atlas grid; right: each cell's mean image, framed in the colour
    of its dominant class (empty cells blank), with its sample count."""
    grid = atlas.grid
    fig = plt.figure(figsize=(13, 6.2))
    layout_ax = fig.add_subplot(1, 2, 1)
    _scatter_classes(layout_ax, layout, labels, classes, size=6)
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
        ax.imshow(_image(atlas.images[cell]))
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


def plot_matrices(
    matrices: Mapping[str, np.ndarray],
    title: str,
    symmetric_scale: bool = True,
    colourbar_label: str = "correlation",
) -> Figure:
    """Heat maps of square matrices side by side (correlation or whitening matrices)."""
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


def plot_spectra(
    spectra: Mapping[str, Mapping[str, np.ndarray]],
    rows: Sequence[Mapping[str, Any]],
    title: str,
) -> Figure:
    """Left: normalised eigenvalue spectra (log scale) of chosen layers, one colour per model;
    right: participation ratio of every layer against depth."""
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


def plot_unit_distributions(
    values: Mapping[str, torch.Tensor],
    labels: torch.Tensor,
    classes: Sequence[str],
    unit_names: Mapping[str, str],
    title: str,
) -> Figure:
    """Violin plots of every unit's values per class, one panel per model."""
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


# ------------------------------------------------------------------------- loss landscapes
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
            ax.plot(0, 0, "r*", markersize=12, label="trained model")
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


def plot_periodic_landscape(result: Any, spectrum: np.ndarray, title: str) -> Figure:
    """A landscape over one full period of the circuit weights and its 2-D Fourier spectrum."""
    fig, (surface_ax, spectrum_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    a, b = np.meshgrid(result.alphas, result.betas, indexing="ij")
    mesh = surface_ax.pcolormesh(a, b, result.loss, cmap="viridis", shading="auto")
    fig.colorbar(mesh, ax=surface_ax, label="loss")
    surface_ax.plot(0, 0, "r*", markersize=12, label="trained model")
    surface_ax.set_xlabel("t (radians, direction 1)")
    surface_ax.set_ylabel("s (radians, direction 2)")
    surface_ax.set_title("Loss over one period of the circuit weights")
    surface_ax.legend(fontsize=8)
    n_a, n_b = spectrum.shape
    frequencies_a = np.arange(n_a) - n_a // 2
    frequencies_b = np.arange(n_b) - n_b // 2
    image = spectrum_ax.pcolormesh(
        frequencies_a, frequencies_b, np.log10(spectrum.T + 1e-12), cmap="magma", shading="auto"
    )
    fig.colorbar(image, ax=spectrum_ax, label="log10 |Fourier coefficient|")
    spectrum_ax.set_xlabel("frequency along t")
    spectrum_ax.set_ylabel("frequency along s")
    spectrum_ax.set_title("2-D Fourier spectrum (zero frequency centred)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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


# ----------------------------------------------------------------------------- shots and noise
def plot_accuracy_vs_shots(summary: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """Validation accuracy against shots (log scale), ± one standard deviation over repeats,
    per noise setting; the dashed line is the exact (infinite-shot) accuracy."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = iter(sns.color_palette("deep"))
    for noise in dict.fromkeys(row["noise"] for row in summary):
        chosen = sorted(
            (row for row in summary if row["noise"] == noise), key=lambda r: r["shots"] or 0
        )
        if noise == "exact":
            ax.axhline(
                chosen[0]["accuracy"], color="black", linestyle="--", label="exact (statevector)"
            )
            continue
        shots = [row["shots"] for row in chosen]
        ax.errorbar(
            shots,
            [row["accuracy"] for row in chosen],
            yerr=[row["accuracy_std"] for row in chosen],
            marker="o",
            capsize=4,
            color=next(colours),
            label=noise,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("shots per expectation value")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ deep dream
def plot_image_table(
    images: Mapping[str, Mapping[str, torch.Tensor]], title: str, size: float = 2.3
) -> Figure:
    """A table of (normalised) images: one row per outer key, one column per inner key."""
    rows = list(images)
    fig, axes = _panels(len(rows), max(len(row) for row in images.values()), size)
    for r, row in enumerate(rows):
        for c, (label, image) in enumerate(images[row].items()):
            axes[r, c].imshow(_image(image.squeeze(0)))
            axes[r, c].set_title(f"{row}\n{label}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_histories(histories: Mapping[str, Sequence[float]], title: str, ylabel: str) -> Figure:
    """Objective value against gradient-ascent step, one line per run."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, values in histories.items():
        ax.plot(range(len(values)), values, label=name)
    ax.set_xlabel("step (all octaves)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
