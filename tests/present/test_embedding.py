"""Figures and generated conclusion of notebook 04 (layouts and separability)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import to_rgba

from helpers.present.embedding import (
    describe_separability,
    knn_notes,
    plot_layouts,
    plot_separability,
    plot_unit_pairs,
)
from helpers.present.style import MODEL_COLOURS
from tests.present.figure_checks import assert_labels, check_figure, check_grid, line_ydata

CLASSES = ["ants", "bees"]
LABELS = torch.tensor([0, 0, 0, 1, 1, 1])


def _points(seed: int, n: int = 6, d: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def _offsets_by_class(ax) -> list[np.ndarray]:
    return [np.asarray(collection.get_offsets()) for collection in ax.collections]


def test_plot_layouts_draws_each_layer_coloured_by_class_with_notes():
    layouts = {
        "classical": {"avgpool": _points(0), "h_out": _points(1)},
        "hybrid": {"avgpool": _points(0), "q_out": _points(2)},
    }
    notes = {"hybrid": {"q_out": "k-NN 0.83 ± 0.05"}}
    fig = plot_layouts(layouts, LABELS, CLASSES, "Layouts", method="UMAP", annotations=notes)
    axes = check_grid(fig, "Layouts", (2, 2))
    assert [ax.get_title() for ax in axes.flat] == [
        "classical: avgpool",
        "classical: h_out",
        "hybrid: avgpool",
        "hybrid: q_out\nk-NN 0.83 ± 0.05",
    ]
    for ax, points in zip(
        axes.flat, [p for m in layouts.values() for p in m.values()], strict=True
    ):
        assert_labels(ax, "UMAP 1", "UMAP 2")
        ants, bees = _offsets_by_class(ax)
        np.testing.assert_allclose(ants, points[:3])
        np.testing.assert_allclose(bees, points[3:])
    legend = fig.legends[0]
    assert legend.get_title().get_text() == "class"
    assert [t.get_text() for t in legend.get_texts()] == CLASSES


def _separability_rows() -> list[dict[str, object]]:
    layers = {"classical": ["avgpool", "h_in", "h_out"], "hybrid": ["avgpool", "q_in", "q_out"]}
    values = {"classical": [0.8, 0.85, 0.9], "hybrid": [0.8, 0.7, 0.95]}
    return [
        {
            "model": model,
            "layer": layer,
            "depth": depth,
            "knn_accuracy": value,
            "knn_accuracy_se": 0.01,
            "silhouette": value / 2,
            "silhouette_se": 0.02,
            "trustworthiness": 1 - value / 10,
        }
        for model in layers
        for depth, (layer, value) in enumerate(zip(layers[model], values[model], strict=True))
    ]


def test_plot_separability_draws_each_score_against_depth_per_model():
    rows = _separability_rows()
    fig = plot_separability(rows, "Separability")
    knn_ax, silhouette_ax, trust_ax = fig.axes
    check_figure(fig, "Separability")
    assert fig.get_suptitle() == "Separability"
    assert knn_ax.get_title() == "k-NN accuracy (5-fold CV)"
    assert_labels(knn_ax, "layer", "k-NN accuracy (5-fold CV)")
    assert_labels(silhouette_ax, "layer", "silhouette score")
    assert_labels(trust_ax, "layer", "t-SNE trustworthiness")
    for ax, score in ((knn_ax, "knn_accuracy"), (silhouette_ax, "silhouette")):
        assert len(ax.lines) == 2
        assert len(ax.collections) == 2  # ± SE bands
        for ydata, model in zip(line_ydata(ax), ("classical", "hybrid"), strict=True):
            np.testing.assert_allclose(ydata, [r[score] for r in rows if r["model"] == model])
        assert to_rgba(ax.lines[1].get_color()) == to_rgba(MODEL_COLOURS["hybrid"])
    assert not trust_ax.collections  # no standard errors for trustworthiness
    np.testing.assert_allclose(line_ydata(trust_ax)[0], [0.92, 0.915, 0.91])
    assert [t.get_text() for t in knn_ax.get_xticklabels()] == [
        "avgpool",
        "h_in/q_in",
        "h_out/q_out",
    ]
    assert [t.get_text() for t in knn_ax.get_legend().get_texts()] == ["classical", "hybrid"]


def test_plot_unit_pairs_scatters_every_pair_and_histograms_the_diagonal():
    values = torch.tensor(np.random.default_rng(3).uniform(-1, 1, size=(6, 3)), dtype=torch.float32)
    fig = plot_unit_pairs(values, LABELS, CLASSES, "Z", "Unit pairs", limits=(-1, 1))
    axes = np.array(fig.axes).reshape(3, 3)
    check_figure(fig, "Unit pairs")
    array = values.numpy()
    for i in range(3):
        for j in range(3):
            ax = axes[i, j]
            assert ax.get_xlim() == (-1, 1)
            if i == j:
                assert len(ax.patches) == 2 * 20  # 20 bins per class
                counts = [p.get_height() for p in ax.patches]
                assert sum(counts) == 6
            else:
                ants, bees = _offsets_by_class(ax)
                np.testing.assert_allclose(ants, array[:3][:, [j, i]])
                np.testing.assert_allclose(bees, array[3:][:, [j, i]])
                assert ax.get_ylim() == (-1, 1)
    assert_labels(axes[2, 0], "Z0", "Z2")
    assert_labels(axes[2, 2], "Z2")
    assert_labels(axes[0, 0], ylabel="count")
    assert_labels(axes[1, 0], ylabel="Z1")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == CLASSES


def test_knn_notes_state_each_layers_accuracy_and_error():
    rows = [
        {"model": "hybrid", "layer": "q_out", "knn_accuracy": 0.8333, "knn_accuracy_se": 0.0512},
        {"model": "hybrid", "layer": "q_in", "knn_accuracy": 0.9, "knn_accuracy_se": 0.02},
        {"model": "classical", "layer": "h_out", "knn_accuracy": 0.755, "knn_accuracy_se": 0.1},
    ]
    assert knn_notes(rows) == {
        "hybrid": {"q_out": "k-NN 0.83 ± 0.05", "q_in": "k-NN 0.90 ± 0.02"},
        "classical": {"h_out": "k-NN 0.76 ± 0.10"},
    }


def _row(model: str, layer: str, knn: tuple[float, float], silhouette: tuple[float, float]):
    return {
        "model": model,
        "layer": layer,
        "knn_accuracy": knn[0],
        "knn_accuracy_se": knn[1],
        "silhouette": silhouette[0],
        "silhouette_se": silhouette[1],
    }


def test_describe_separability_states_the_backbone_trend():
    rows = [
        _row("hybrid", "input", (0.55, 0.02), (0.01, 0.001)),
        _row("hybrid", "avgpool", (0.9, 0.01), (0.2, 0.01)),
        _row("hybrid", "q_in", (0.92, 0.01), (0.3, 0.01)),
        _row("classical", "h_in", (0.91, 0.01), (0.25, 0.01)),
        _row("hybrid", "q_out", (0.95, 0.005), (0.5, 0.03)),
        _row("classical", "h_out", (0.85, 0.01), (0.45, 0.04)),
        _row("hybrid", "logits", (0.8, 0.03), (0.4, 0.02)),
        _row("classical", "logits", (0.9, 0.03), (0.6, 0.02)),
    ]
    lines = describe_separability(rows).splitlines()
    assert lines[0] == (
        "- Through the frozen backbone, k-NN accuracy goes from 0.550 ± 0.020 (input) to "
        "0.900 ± 0.010 (avgpool; ± SE over images; the frozen backbone is the same for every "
        "model and seed)."
    )
    assert len(lines) == 1  # head comparisons: paired over seeds (separability_results)
