"""Figures and generated conclusion of notebook 05 (atlases, matrices, spectra, whitening)."""

from __future__ import annotations

import numpy as np
import seaborn as sns
import torch
from matplotlib.colors import to_rgba

from helpers.analysis.atlas import activation_atlas
from helpers.present.style import CLASS_PALETTE, MODEL_COLOURS, image_array
from helpers.present.whitening import (
    describe_atlases,
    plot_atlas,
    plot_matrices,
    plot_spectra,
    plot_unit_distributions,
)
from tests.present.figure_checks import assert_image, assert_labels, check_figure, images

CLASSES = ["ants", "bees"]


def test_plot_atlas_draws_the_gridded_layout_and_each_cells_mean_image():
    layout = np.array(
        [[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 0.8], [0.0, 1.0], [0.5, 0.5], [0.45, 0.55]]
    )
    labels = torch.tensor([0, 0, 1, 1, 0, 1, 1])
    batch = images(len(layout), 4)
    atlas = activation_atlas(layout, batch, labels, grid=3)
    fig = plot_atlas(layout, atlas, labels, CLASSES, "Atlas")
    layout_ax, *cells = fig.axes
    assert len(cells) == 9
    occupied = [ax for ax, count in zip(cells, atlas.counts, strict=True) if count]
    check_figure(fig, "Atlas", [layout_ax, *occupied])
    assert fig.get_suptitle() == "Atlas"
    assert layout_ax.get_title() == "layout and atlas grid"
    assert_labels(layout_ax, "UMAP 1", "UMAP 2")
    assert len(layout_ax.collections) == 2
    np.testing.assert_allclose(layout_ax.collections[0].get_offsets(), layout[[0, 1, 4]])
    assert len(layout_ax.lines) == 2 * (3 + 1)  # grid lines
    colours = sns.color_palette(CLASS_PALETTE, len(CLASSES))
    for cell, ax in enumerate(cells):
        if atlas.counts[cell] == 0:
            assert not ax.axison and not ax.images
            continue
        assert_image(ax, image_array(atlas.images[cell]))
        frame = colours[atlas.dominant[cell]]
        assert to_rgba(ax.spines["top"].get_edgecolor()) == to_rgba(frame)
        assert [t.get_text() for t in ax.texts] == [str(atlas.counts[cell])]
    assert atlas.counts.sum() == 7 and atlas.occupied == len(occupied) == 4


def test_plot_matrices_shows_each_matrix_with_its_values():
    first = np.array([[1.0, 0.5, -0.25], [0.5, 1.0, 0.0], [-0.25, 0.0, 1.0]])
    second = np.array([[2.0, -3.0], [-3.0, 2.0]])
    fig = plot_matrices({"classical": first, "hybrid": first / 2}, "Correlations")
    check_figure(fig, "Correlations")
    left, right = fig.axes[:2]
    assert (left.get_title(), right.get_title()) == ("classical", "hybrid")
    assert_labels(left, "unit", "unit")
    assert_image(left, first)
    assert_image(right, first / 2)
    assert left.images[0].get_clim() == (-1.0, 1.0)
    texts = [t.get_text() for t in left.texts]
    assert texts[:3] == ["1.00", "0.50", "-0.25"]
    assert len(texts) == 9
    assert fig.axes[2].get_ylabel() == "correlation"

    fig = plot_matrices({"W": second}, "Whitening", symmetric_scale=False, colourbar_label="weight")
    check_figure(fig, "Whitening")
    assert fig.axes[0].images[0].get_clim() == (-3.0, 3.0)
    assert fig.axes[1].get_ylabel() == "weight"


def test_plot_spectra_draws_shares_and_participation_ratios():
    spectra = {
        "classical": {"avgpool": np.array([4.0, 2.0, 1.0, 1.0]), "h_out": np.array([3.0, 1.0])},
        "hybrid": {"avgpool": np.array([4.0, 2.0, 1.0, 1.0]), "q_out": np.array([1.0, 1.0])},
    }
    rows = [
        {"model": "classical", "layer": "avgpool", "depth": 0, "participation_ratio": 2.9},
        {"model": "classical", "layer": "h_out", "depth": 1, "participation_ratio": 1.6},
        {"model": "hybrid", "layer": "avgpool", "depth": 0, "participation_ratio": 2.9},
        {"model": "hybrid", "layer": "q_out", "depth": 1, "participation_ratio": 2.0},
    ]
    fig = plot_spectra(spectra, rows, "Spectra")
    spectrum_ax, ratio_ax = fig.axes
    check_figure(fig, "Spectra")
    assert fig.get_suptitle() == "Spectra"
    assert_labels(spectrum_ax, "eigenvalue rank", "share of the variance")
    assert_labels(ratio_ax, "layer", "participation ratio (effective dimensions)")
    assert spectrum_ax.get_xscale() == spectrum_ax.get_yscale() == ratio_ax.get_yscale() == "log"
    assert len(spectrum_ax.lines) == 4
    np.testing.assert_allclose(spectrum_ax.lines[0].get_ydata(), [0.5, 0.25, 0.125, 0.125])
    np.testing.assert_allclose(spectrum_ax.lines[1].get_xdata(), [1, 2])
    np.testing.assert_allclose(spectrum_ax.lines[3].get_ydata(), [0.5, 0.5])
    assert to_rgba(spectrum_ax.lines[2].get_color()) == to_rgba(MODEL_COLOURS["hybrid"])
    assert len(ratio_ax.lines) == 2
    np.testing.assert_allclose(ratio_ax.lines[1].get_ydata(), [2.9, 2.0])
    assert [t.get_text() for t in ratio_ax.get_xticklabels()] == ["avgpool", "h_out/q_out"]


def test_plot_unit_distributions_draws_violins_per_unit_and_class():
    generator = torch.Generator().manual_seed(0)
    values = {
        "classical": torch.rand(8, 2, generator=generator),
        "hybrid": torch.rand(8, 3, generator=generator) * 2 - 1,
    }
    labels = torch.tensor([0, 1] * 4)
    names = {"classical": "h_out unit", "hybrid": "<Z_j>"}
    fig = plot_unit_distributions(values, labels, CLASSES, names, "Distributions")
    classical_ax, hybrid_ax = fig.axes
    check_figure(fig, "Distributions")
    assert (classical_ax.get_title(), hybrid_ax.get_title()) == ("classical", "hybrid")
    assert_labels(classical_ax, "h_out unit", "activation")
    assert_labels(hybrid_ax, "<Z_j>", "activation")
    assert len(classical_ax.collections) >= 2 * 2  # a half violin per unit and class
    assert len(hybrid_ax.collections) >= 3 * 2
    assert [t.get_text() for t in hybrid_ax.get_xticklabels()] == ["0", "1", "2"]
    low, high = hybrid_ax.get_ylim()
    assert low <= float(values["hybrid"].min()) and high >= float(values["hybrid"].max())


def test_describe_atlases_states_occupied_cells_and_weighted_purity():
    # grid 2: the first two points share the bottom-left cell (classes 0, 1: purity 0.5), the
    # last two the top-right one (purity 1), so the weighted purity is (2 * 0.5 + 2 * 1) / 4
    layout = np.array([[0.0, 0.0], [0.0, 0.1], [1.0, 1.0], [1.0, 0.9]])
    atlas = activation_atlas(layout, images(4, 2), torch.tensor([0, 1, 1, 1]), grid=2)
    pure = activation_atlas(layout, images(4, 2), torch.tensor([1, 1, 1, 1]), grid=2)
    assert describe_atlases({"classical": atlas, "hybrid": pure}).splitlines() == [
        "classical: 2 occupied cells, sample-weighted class purity 0.750",
        "hybrid: 2 occupied cells, sample-weighted class purity 1.000",
    ]
