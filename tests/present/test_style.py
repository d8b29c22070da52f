"""The shared figure style: theming without global side effects, saving, publishing, panels."""

from __future__ import annotations

import IPython
import IPython.display
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from PIL import Image

from helpers.config import Config
from helpers.model.data import normalize
from helpers.present.dream import plot_dream_histories
from helpers.present.style import (
    DPI,
    MODEL_COLOURS,
    PALETTE,
    THEME,
    image_array,
    image_grid,
    image_panels,
    publish,
    save_figure,
    scatter_classes,
    show_saved,
    themed,
)
from tests.present.figure_checks import assert_not_blank, check_figure

# Global settings that differ from THEME, so a figure drawn in them is told apart from a themed one.
PLAIN = {
    "axes.grid": False,
    "axes.edgecolor": "black",
    "axes.labelsize": 7.0,
    "xtick.labelsize": 7.0,
    "axes.prop_cycle": mpl.cycler(color=["#000000", "#00ff00"]),
}


def _snapshot() -> dict[str, object]:
    return {key: repr(value) for key, value in mpl.rcParams.items()}


def _assert_themed(ax: plt.Axes) -> None:
    assert to_rgba(ax.get_facecolor()) == to_rgba(THEME["axes.facecolor"])
    assert to_rgba(ax.spines["left"].get_edgecolor()) == to_rgba(THEME["axes.edgecolor"])
    assert THEME["axes.grid"] is True
    gridlines = ax.yaxis.get_gridlines()
    assert gridlines and all(line.get_visible() for line in gridlines)
    assert to_rgba(gridlines[0].get_color()) == to_rgba(THEME["grid.color"])
    assert ax.xaxis.label.get_fontsize() == THEME["axes.labelsize"]


def test_themed_draws_in_the_theme_and_leaves_global_settings_alone():
    @themed
    def draw(values: list[float]) -> plt.Figure:
        """A doc string."""
        fig, ax = plt.subplots()
        ax.plot(values)
        ax.set_xlabel("x")
        ax.set_title("themed demo")
        return fig

    with mpl.rc_context(PLAIN):
        before = _snapshot()
        fig = draw([1.0, 3.0, 2.0])
        assert _snapshot() == before
        _, plain_ax = plt.subplots()
        assert not any(line.get_visible() for line in plain_ax.yaxis.get_gridlines())
    assert draw.__name__ == "draw" and draw.__doc__ == "A doc string."
    ax = fig.axes[0]
    _assert_themed(ax)
    assert to_rgba(ax.lines[0].get_color()) == to_rgba(PALETTE[0])
    check_figure(fig, "themed demo")


def test_themed_restores_global_settings_when_the_plot_raises():
    @themed
    def broken() -> plt.Figure:
        raise ValueError("no data")

    with mpl.rc_context(PLAIN):
        before = _snapshot()
        with pytest.raises(ValueError, match="no data"):
            broken()
        assert _snapshot() == before


def test_a_present_figure_function_is_themed():
    with mpl.rc_context(PLAIN):
        before = _snapshot()
        fig = plot_dream_histories({"run": [0.0, 1.0, 0.5]}, "dream", "objective")
        assert _snapshot() == before
    ax = fig.axes[0]
    _assert_themed(ax)
    assert to_rgba(ax.lines[0].get_color()) == to_rgba(PALETTE[0])


def _full_bleed_figure() -> plt.Figure:
    """A 3 x 2 inch figure whose (axis-less) content fills it exactly."""
    fig = plt.figure(figsize=(3, 2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.fill_between([0, 1], [0, 0], [1, 1], color="red")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    return fig


def test_save_figure_writes_a_png_of_the_figure(tmp_path):
    cfg = Config(artifacts_dir=str(tmp_path))
    fig = _full_bleed_figure()
    path = save_figure(fig, cfg, "demo")
    assert path == tmp_path / "figures" / "demo.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        # bbox_inches="tight" keeps the content (here the whole figure) plus 0.1 inch each side
        width, height = fig.get_size_inches()
        assert image.size == (round((width + 0.2) * DPI), round((height + 0.2) * DPI))
        centre = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    assert centre == (255, 0, 0)
    assert plt.fignum_exists(fig.number)  # saving alone does not close


def test_publish_outside_a_kernel_saves_and_closes(tmp_path):
    cfg = Config(artifacts_dir=str(tmp_path))
    fig = _full_bleed_figure()
    publish(fig, cfg, "published")
    assert (tmp_path / "figures" / "published.png").is_file()
    assert not plt.fignum_exists(fig.number)


def test_show_saved_displays_the_png_tagged_with_its_name_in_a_kernel(tmp_path, monkeypatch):
    path = save_figure(_full_bleed_figure(), Config(artifacts_dir=str(tmp_path)), "tagged")
    shown = []

    class Shell:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, metadata=None: shown.append((obj, metadata))
    )
    show_saved(path, "tagged")
    assert len(shown) == 1
    image, metadata = shown[0]
    assert metadata == {"figure": "tagged"}
    assert image.data == path.read_bytes()

    shown.clear()
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    show_saved(path, "tagged")
    assert shown == []


def test_image_array_undoes_the_normalisation_channels_last():
    pixels = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(0))
    array = image_array(normalize(pixels))
    assert isinstance(array, np.ndarray)
    assert array.shape == (4, 5, 3)
    np.testing.assert_allclose(array, pixels.permute(1, 2, 0).numpy(), atol=1e-6)
    clipped = image_array(torch.full((3, 2, 2), 100.0))
    assert clipped.max() == 1.0


def test_image_panels_and_grid_are_axis_less_grids():
    fig, axes = image_panels(2, 3, size=1.0)
    assert axes.shape == (2, 3)
    assert not any(ax.axison for ax in axes.flat)
    np.testing.assert_allclose(fig.get_size_inches(), (3.0, 2.6))
    fig, flat = image_grid(5, 3)
    flat = list(flat)
    assert len(flat) == 6  # two rows of three
    assert len(fig.axes) == 6


def test_scatter_classes_draws_one_coloured_legend_entry_per_class():
    fig, ax = plt.subplots()
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5], [3.0, 2.0], [4.0, 1.5]])
    labels = torch.tensor([0, 1, 0, 2, 1])
    ax.set_title("classes")
    scatter_classes(ax, points, labels, ["ants", "bees", "wasps"])
    assert len(ax.collections) == 3
    for index, collection in enumerate(ax.collections):
        np.testing.assert_allclose(collection.get_offsets(), points[labels.numpy() == index])
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections}
    assert len(colours) == 3
    assert ax.get_legend_handles_labels()[1] == ["ants", "bees", "wasps"]
    check_figure(fig, "classes")


def test_model_colours_name_both_models_distinctly():
    assert set(MODEL_COLOURS) == {"classical", "hybrid"}
    assert to_rgba(MODEL_COLOURS["classical"]) != to_rgba(MODEL_COLOURS["hybrid"])


def test_a_blank_figure_fails_the_shared_check():
    fig, _ = plt.subplots()
    fig.axes[0].axis("off")
    with pytest.raises(AssertionError, match="single colour"):
        assert_not_blank(fig)
    fig.suptitle("empty")
    with pytest.raises(AssertionError, match="carries no data"):
        check_figure(fig, "empty", fig.axes)
