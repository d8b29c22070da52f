"""Shared checks on the figures of :mod:`helpers.present`: titled, carrying data, not blank."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.model.data import normalize


def images(n: int, size: int = 6, seed: int = 0) -> torch.Tensor:
    """``n`` random images ``(n, 3, size, size)`` in the backbone's (normalised) input space."""
    generator = torch.Generator().manual_seed(seed)
    return normalize(torch.rand(n, 3, size, size, generator=generator))


def titles(fig: Figure) -> list[str]:
    """The figure's suptitle and every axis title (all three locations)."""
    found = [fig.get_suptitle()]
    for ax in fig.axes:
        found += [ax.get_title(loc) for loc in ("left", "center", "right")]
    return [text for text in found if text]


def has_data(ax: Axes) -> bool:
    """Whether ``ax`` carries drawn data: lines, collections, images or patches."""
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def panels(fig: Figure) -> list[Axes]:
    """The figure's axes without its colour-bar axes, in creation order."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def rendered(fig: Figure) -> np.ndarray:
    """Draw ``fig`` and return its RGBA buffer ``(H, W, 4)``."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def assert_not_blank(fig: Figure) -> None:
    """The rendered figure is not one uniform colour."""
    pixels = rendered(fig).reshape(-1, 4)
    assert (pixels != pixels[0]).any(axis=1).any(), "the figure renders as a single colour"


def check_figure(fig: object, title: str, data_axes: Iterable[Axes] | None = None) -> Figure:
    """The common checks: a Figure, ``title`` in its suptitle or an axis title, every axis of
    ``data_axes`` (default: all non-colour-bar axes) carrying data, and not blank when drawn."""
    assert isinstance(fig, Figure), type(fig)
    assert any(title in text for text in titles(fig)), (title, titles(fig))
    for ax in panels(fig) if data_axes is None else data_axes:
        assert has_data(ax), f"axis {ax.get_title()!r} carries no data"
    assert_not_blank(fig)
    return fig


def assert_image(ax: Axes, expected: np.ndarray | torch.Tensor, index: int = 0) -> None:
    """``ax``'s ``index``-th image shows exactly ``expected``."""
    assert len(ax.images) > index, f"axis {ax.get_title()!r} has {len(ax.images)} images"
    shown = np.ma.getdata(ax.images[index].get_array())
    expected = np.asarray(expected)
    assert shown.shape == expected.shape
    np.testing.assert_allclose(shown, expected, atol=1e-6)


def assert_labels(ax: Axes, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """``ax``'s axis labels are the given ones (``None``: not checked)."""
    if xlabel is not None:
        assert ax.get_xlabel() == xlabel
    if ylabel is not None:
        assert ax.get_ylabel() == ylabel


def line_ydata(ax: Axes) -> list[np.ndarray]:
    """The y values of every line of ``ax``, as float arrays."""
    return [np.asarray(line.get_ydata(), dtype=float) for line in ax.lines]


def check_grid(fig: object, title: str, shape: tuple[int, int]) -> np.ndarray:
    """:func:`check_figure` of a figure whose suptitle is ``title`` and whose axes form a grid
    of ``shape``; returns the axes as that grid."""
    check_figure(fig, title)
    assert fig.get_suptitle() == title
    return np.array(fig.axes).reshape(shape)
