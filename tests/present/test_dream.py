"""Figures and text of notebook 07 (DeepDream)."""

from __future__ import annotations

import numpy as np

from helpers.present.dream import describe_dream_values, plot_dream_histories, plot_image_table
from helpers.present.style import image_array
from tests.present.figure_checks import (
    assert_image,
    assert_labels,
    check_figure,
    check_grid,
    images,
    line_ydata,
)


def test_plot_image_table_shows_one_row_per_outer_key():
    start, dream = images(2, 5, seed=1), images(2, 5, seed=2)
    table = {
        "start": {"noise": start[:1], "photo": start[1:]},
        "hybrid q_out 0": {"noise": dream[:1], "photo": dream[1:]},
    }
    fig = plot_image_table(table, "Dreams", size=1.0)
    axes = check_grid(fig, "Dreams", (2, 2))
    assert [ax.get_title() for ax in axes.flat] == [
        "start\nnoise",
        "start\nphoto",
        "hybrid q_out 0\nnoise",
        "hybrid q_out 0\nphoto",
    ]
    assert_image(axes[0, 1], image_array(start[1]))
    assert_image(axes[1, 0], image_array(dream[0]))
    assert not any(ax.axison for ax in axes.flat)


def test_plot_image_table_leaves_missing_cells_empty():
    table = {"a": {"x": images(1, 4)}, "b": {"x": images(1, 4, 3), "y": images(1, 4, 4)}}
    fig = plot_image_table(table, "Ragged")
    axes = np.array(fig.axes).reshape(2, 2)
    check_figure(fig, "Ragged", [axes[0, 0], axes[1, 0], axes[1, 1]])
    assert not axes[0, 1].images


def test_plot_dream_histories_draws_one_line_per_run():
    histories = {"noise: unit 0": [0.0, 0.5, 1.25], "photo: unit 0": [1.0, 1.5, 1.75, 2.0]}
    fig = plot_dream_histories(histories, "Objective", "mean <Z_0>")
    ax = fig.axes[0]
    check_figure(fig, "Objective")
    assert ax.get_title() == "Objective"
    assert_labels(ax, "step (all octaves)", "mean <Z_0>")
    ydata = line_ydata(ax)
    np.testing.assert_allclose(ydata[0], histories["noise: unit 0"])
    np.testing.assert_allclose(ydata[1], histories["photo: unit 0"])
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [0, 1, 2, 3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(histories)


def test_describe_dream_values_aligns_start_and_end_objectives():
    values = {("noise", "hybrid q_out 0"): (0.1, 1.2345), ("photo", "classical"): (-0.5, 0.25)}
    lines = describe_dream_values(values).splitlines()
    assert lines == [
        "noise".ljust(15) + " " + "hybrid q_out 0".ljust(28) + " objective +0.100 -> +1.234",
        "photo".ljust(15) + " " + "classical".ljust(28) + " objective -0.500 -> +0.250",
    ]
