"""Figures of notebooks 01 and 02: data, training curves, confusion, predictions, circuits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure
from qiskit.circuit import QuantumCircuit
from sklearn.metrics import confusion_matrix
from torch import nn

from helpers.analysis.accuracy import SAME_FUNCTION
from helpers.config import Config
from helpers.estimates import mean_and_error
from helpers.model.backbone import Features
from helpers.model.data import Splits, dataset_images
from helpers.model.train import evaluate
from helpers.present.style import (
    MODEL_COLOURS,
    image_array,
    image_grid,
    publish,
    themed,
)
from helpers.present.tables import format_value


@themed
def plot_samples(
    images: torch.Tensor,
    labels: Sequence[int],
    classes: Sequence[str],
    title: str,
    columns: int = 8,
) -> Figure:
    """A grid of (normalised) images with their class names.

    Args:
        images: Normalised images ``(B, 3, H, W)``.
        labels: Their class indices.
        classes: Class names, indexed by label.
        title: The figure's title.
        columns: Images per row.

    Returns:
        The figure.

    Example:
        >>> images, labels = dataset_images(splits.train, range(16))  # doctest: +SKIP
        >>> fig = plot_samples(images, labels, splits.classes, "Training images")  # doctest: +SKIP
    """
    fig, axes = image_grid(len(images), columns)
    for ax, image, label in zip(axes, images, labels, strict=False):
        ax.imshow(image_array(image))
        ax.set_title(classes[int(label)], fontsize=10)
    fig.suptitle(title)
    return fig


@themed
def plot_training_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]], title: str
) -> Figure:
    """Loss and accuracy per epoch, train (dashed) and validation (solid), for each model.

    Args:
        histories: Each model's per-epoch rows (``epoch``, ``train_loss``, ``val_loss``,
            ``train_accuracy``, ``val_accuracy``), by model name (``metrics["history"]``).
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> fig = plot_training_curves({"hybrid": metrics["history"]}, "Curves")  # doctest: +SKIP
    """
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


@themed
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


@themed
def plot_predictions(
    images: torch.Tensor,
    labels: torch.Tensor,
    probabilities: torch.Tensor,
    classes: Sequence[str],
    title: str,
    columns: int = 6,
) -> Figure:
    """Images with true class, predicted class and confidence (green right, red wrong)."""
    fig, axes = image_grid(len(images), columns, size=2.4)
    for ax, image, label, probs in zip(axes, images, labels, probabilities, strict=False):
        predicted = int(probs.argmax())
        ax.imshow(image_array(image))
        ax.set_title(
            f"true {classes[int(label)]}\npred {classes[predicted]} ({probs[predicted]:.0%})",
            fontsize=9,
            color="green" if predicted == int(label) else "red",
        )
    fig.suptitle(title)
    return fig


def publish_test_figures(
    cfg: Config,
    splits: Splits,
    features: Features,
    head: nn.Module,
    model_title: str,
    prefix: str,
    shown: int = 12,
) -> torch.Tensor:
    """Publish a trained head's test confusion matrix and its predictions on the first test images.

    Evaluates ``head`` on the cached test features, then publishes (:func:`publish`) its
    :func:`plot_confusion` as ``<prefix>_confusion`` and its :func:`plot_predictions` on the first
    ``shown`` test images as ``<prefix>_predictions``, both titled with ``model_title`` and the
    first seed of ``cfg.seeds``.

    Args:
        cfg: The run's configuration (where figures are saved; ``seeds[0]`` goes in the titles).
        splits: The data splits; ``splits.test`` gives the images, ``splits.classes`` the names.
        features: Cached backbone features; the head is evaluated on ``features.test``.
        head: The trained head (of the first seed).
        model_title: How the titles name the model, e.g. ``"Classical head"``.
        prefix: The figure names' prefix, the notebook's number, e.g. ``"01"``.
        shown: How many test images the predictions grid shows.

    Returns:
        The head's logits on every test feature, ``(N, classes)``.

    Example:
        >>> run = train(cfg, "hybrid", features)  # doctest: +SKIP
        >>> logits = publish_test_figures(
        ...     cfg, splits, features, run.head, "Hybrid head", "02"
        ... )  # published: 02_confusion, 02_predictions  # doctest: +SKIP
    """
    seed = cfg.seeds[0]
    _, _, test_logits = evaluate(head, features.test, features.test_labels)
    fig = plot_confusion(
        features.test_labels,
        test_logits.argmax(1),
        splits.classes,
        f"{model_title} (seed {seed}): test confusion matrix",
    )
    publish(fig, cfg, f"{prefix}_confusion")
    indices = range(shown)
    images, labels = dataset_images(splits.test, indices)
    fig = plot_predictions(
        images,
        labels,
        test_logits[list(indices)].softmax(1),
        splits.classes,
        f"{model_title} (seed {seed}): test predictions and confidence",
    )
    publish(fig, cfg, f"{prefix}_predictions")
    return test_logits


@themed
def draw_circuit(circuit: QuantumCircuit, title: str) -> Figure:
    """Qiskit's matplotlib drawing of a circuit, titled.

    Args:
        circuit: The circuit (e.g. ``dressed_circuit(4, 5)[0]``, or a transpiled one).
        title: The figure's title.

    Returns:
        The figure, unfolded (one line of gates).

    Example:
        >>> circuit, _, _ = dressed_circuit(4, 5)  # doctest: +SKIP
        >>> fig = draw_circuit(circuit, "Dressed circuit: 4 qubits, depth 5")  # doctest: +SKIP
    """
    fig = circuit.draw("mpl", fold=-1)
    fig.suptitle(title)
    return fig


def seed_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """A trained model's accuracy and loss per seed (validation: model selection; test: held
    out), and their mean ± SE over seeds.

    Args:
        metrics: The model's ``metrics.json`` content (``per_seed`` rows, the means and
            ``_se``), e.g. ``train(...).metrics``.

    Returns:
        One row per seed and a last ``mean ± SE`` row.

    Example:
        >>> table = seed_table(train(cfg, "classical", features).metrics)  # doctest: +SKIP
    """
    columns = ("val_accuracy", "test_accuracy", "test_loss", "best_epoch")
    rows = [
        {"seed": str(row["seed"]), **{c: row[c] for c in columns}} for row in metrics["per_seed"]
    ]
    frame = pd.DataFrame(rows).set_index("seed").round(4)
    frame.loc[f"mean ± SE ({len(rows)} seeds)"] = [
        format_value(metrics[c], metrics[f"{c}_se"]) if f"{c}_se" in metrics else ""
        for c in columns
    ]
    return frame


def describe_control_distance(
    per_seed: Sequence[Mapping[str, float]], q_depth: int, family: str = "mari"
) -> str:
    """The hybrid's distance from its product control in function space, in words, saying so
    when the trained hybrid computes the control's function (or its untrained circuit does).

    Args:
        per_seed: Every seed's :func:`helpers.analysis.accuracy.control_distance`.
        q_depth: The hybrid's circuit depth.
        family: The circuit (``cfg.circuit``): Mari's control is its depth 0, −sin(x_j).

    Returns:
        One paragraph (mean ± SE over seeds).

    Example:
        >>> seed = {"trained": 0.0, "zero weights": 0.0, "angles": 0.01}
        >>> "computes its control's function" in describe_control_distance([seed, seed], 4)
        True
    """
    values = {key: [row[key] for row in per_seed] for key in ("trained", "zero weights", "angles")}
    shown = {key: format_value(*mean_and_error(found)) for key, found in values.items()}
    control = "depth-0 control's" if family == "mari" else "product control's"
    output = "−sin(x_j)" if family == "mari" else "its encoding alone"
    text = (
        f"The trained hybrid's outputs differ from its {control} on the same circuit inputs "
        f"({output}) by {shown['trained']} RMS over the test images (mean ± SE over "
        f"{len(per_seed)} seeds); with every circuit weight at 0 its depth-{q_depth} circuit "
        f"differs by {shown['zero weights']}; the trained weights are {shown['angles']} rad RMS."
    )
    if max(values["trained"]) < SAME_FUNCTION:
        return text + (
            f" In every seed the hybrid computes its control's function (RMS distance below "
            f"{SAME_FUNCTION:g}): a comparison of the hybrid with the product model tests how far "
            "training moved its weights, not what the circuit adds."
        )
    if max(values["zero weights"]) < SAME_FUNCTION:
        why = " (the CNOT ladder's order divides the depth)" if family == "mari" else ""
        text += (
            f" At depth {q_depth} the untrained circuit equals its control{why}: what the hybrid "
            "adds comes from its trained weights alone."
        )
    return text
