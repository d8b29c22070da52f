"""Figures of notebooks 01 and 02: samples, training curves, confusion, predictions, circuits."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import to_rgba
from PIL import Image
from qiskit.circuit import QuantumCircuit
from torch import nn

from helpers.config import Config
from helpers.model.backbone import Features
from helpers.present import training
from helpers.present.style import MODEL_COLOURS, image_array
from helpers.present.training import (
    draw_circuit,
    plot_confusion,
    plot_predictions,
    plot_samples,
    plot_training_curves,
    publish_test_figures,
)
from tests.present import figure_checks as checks

CLASSES = ["ants", "bees"]


def test_plot_samples_shows_each_image_with_its_class():
    batch = checks.images(3)
    fig = plot_samples(batch, [0, 1, 0], CLASSES, "Training samples", columns=2)
    axes = fig.axes
    assert len(axes) == 4  # two rows of two, the last panel unused
    checks.check_figure(fig, "Training samples", axes[:3])
    for ax, image, name in zip(axes, batch, ["ants", "bees", "ants"], strict=False):
        assert ax.get_title() == name
        checks.assert_image(ax, image_array(image))
    assert not axes[3].images and not axes[3].axison


def _history(losses, accuracies):
    return [
        {
            "epoch": epoch,
            "train_loss": loss + 0.1,
            "val_loss": loss,
            "train_accuracy": accuracy - 0.05,
            "val_accuracy": accuracy,
        }
        for epoch, (loss, accuracy) in enumerate(zip(losses, accuracies, strict=True), start=1)
    ]


def test_plot_training_curves_draws_train_and_validation_per_model():
    histories = {
        "classical": _history([0.7, 0.5, 0.4], [0.6, 0.7, 0.8]),
        "hybrid": _history([0.69, 0.6, 0.45], [0.55, 0.65, 0.75]),
    }
    fig = plot_training_curves(histories, "Training curves")
    loss_ax, acc_ax = fig.axes
    checks.check_figure(fig, "Training curves")
    assert fig.get_suptitle() == "Training curves"
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("Loss", "Accuracy")
    checks.assert_labels(loss_ax, "epoch", "cross-entropy loss")
    checks.assert_labels(acc_ax, "epoch", "accuracy")
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        assert len(ax.lines) == 4
        expected = [
            [row[f"{split}_{metric}"] for row in histories[model]]
            for model in histories
            for split in ("train", "val")
        ]
        for ydata, values in zip(checks.line_ydata(ax), expected, strict=True):
            np.testing.assert_allclose(ydata, values)
        np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2, 3])
        assert [to_rgba(line.get_color()) for line in ax.lines] == [
            to_rgba(MODEL_COLOURS[model]) for model in histories for _ in range(2)
        ]
        assert [line.get_linestyle() for line in ax.lines[:2]] == ["--", "-"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "classical train",
            "classical validation",
            "hybrid train",
            "hybrid validation",
        ]


def test_plot_confusion_counts_predictions_per_true_class():
    labels = torch.tensor([0, 0, 1, 1, 1])
    predictions = torch.tensor([0, 1, 1, 1, 0])
    fig = plot_confusion(labels, predictions, CLASSES, "Confusion (validation)")
    ax = checks.panels(fig)[0]
    checks.check_figure(fig, "Confusion (validation)", [ax])
    assert ax.get_title() == "Confusion (validation)"
    checks.assert_labels(ax, "predicted class", "true class")
    np.testing.assert_array_equal(
        np.asarray(ax.collections[0].get_array()).reshape(2, 2), [[1, 1], [1, 2]]
    )
    assert [t.get_text() for t in ax.texts] == ["1", "1", "1", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASSES
    colourbar = next(a for a in fig.axes if a is not ax)
    assert colourbar.get_ylabel() == "images"


def test_plot_predictions_titles_truth_prediction_and_confidence_in_green_or_red():
    batch = checks.images(2)
    labels = torch.tensor([0, 0])
    probabilities = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    fig = plot_predictions(batch, labels, probabilities, CLASSES, "Predictions", columns=2)
    right, wrong = fig.axes
    checks.check_figure(fig, "Predictions")
    assert right.get_title() == "true ants\npred ants (90%)"
    assert wrong.get_title() == "true ants\npred bees (70%)"
    assert right.title.get_color() == "green"
    assert wrong.title.get_color() == "red"
    checks.assert_image(right, image_array(batch[0]))
    checks.assert_image(wrong, image_array(batch[1]))


def test_draw_circuit_draws_the_gates_under_the_title():
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.ry(0.3, 1)
    circuit.cx(0, 1)
    fig = draw_circuit(circuit, "Two-qubit circuit")
    checks.check_figure(fig, "Two-qubit circuit")
    assert fig.get_suptitle() == "Two-qubit circuit"
    ax = fig.axes[0]
    assert ax.patches  # gate boxes
    texts = {t.get_text() for t in ax.texts}
    assert "H" in texts
    assert any("R" in t and "Y" in t for t in texts)


def test_publish_test_figures_saves_the_confusion_matrix_and_the_predictions_grid(
    tmp_path, monkeypatch
):
    cfg = Config(artifacts_dir=str(tmp_path), seeds=[3, 4])
    generator = torch.Generator().manual_seed(0)
    test_features = torch.randn(14, 4, generator=generator)
    test_labels = torch.tensor([0, 1] * 7)
    empty = torch.empty(0, 4)
    features = Features(empty, empty, empty, empty, test_features, test_labels, CLASSES)
    batch = checks.images(14)
    splits = SimpleNamespace(
        test=list(zip(batch, test_labels.tolist(), strict=True)), classes=CLASSES
    )
    head = nn.Linear(4, 2)
    published = {}
    publish = training.publish

    def record(fig, cfg, name):
        published[name] = (fig.get_suptitle(), [t for ax in fig.axes if (t := ax.get_title())])
        publish(fig, cfg, name)

    monkeypatch.setattr(training, "publish", record)
    logits = publish_test_figures(cfg, splits, features, head, "Hybrid head", "02")

    with torch.no_grad():
        torch.testing.assert_close(logits, head(test_features))
    assert list(published) == ["02_confusion", "02_predictions"]
    for name in published:
        with Image.open(tmp_path / "figures" / f"{name}.png") as image:
            assert image.format == "PNG"
    assert not plt.get_fignums()  # both published figures are closed
    confusion_title = published["02_confusion"][1][0]
    assert confusion_title == "Hybrid head (seed 3): test confusion matrix"
    suptitle, panel_titles = published["02_predictions"]
    assert suptitle == "Hybrid head (seed 3): test predictions and confidence"
    assert len(panel_titles) == 12  # the first 12 test images
    for title, label, probs in zip(panel_titles, test_labels, logits.softmax(1), strict=False):
        predicted = int(probs.argmax())
        assert title == (
            f"true {CLASSES[int(label)]}\npred {CLASSES[predicted]} ({probs[predicted]:.0%})"
        )
