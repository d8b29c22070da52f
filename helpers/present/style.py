"""The one figure style, and saving and showing figures.

Figure functions are decorated with :func:`themed`: they draw in seaborn's ``whitegrid`` style and
``notebook`` context without changing matplotlib's global settings. Notebooks call
:func:`publish`, which saves a figure under ``<artifacts_dir>/figures/`` and shows the saved PNG.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib import cycler
from matplotlib.figure import Figure

from helpers.config import Config
from helpers.io import atomic_write
from helpers.model.data import denormalize

MODEL_COLOURS = {"classical": "#1f77b4", "hybrid": "#d62728"}
CLASS_PALETTE = "tab10"
PALETTE = sns.color_palette("deep")
MARKER_COLOUR = PALETTE[3]  # the trained model's star on landscape plots
THEME = {
    **sns.axes_style("whitegrid"),
    **sns.plotting_context("notebook"),
    "axes.prop_cycle": cycler(color=PALETTE),
}
DPI = 120

Arguments = ParamSpec("Arguments")


def themed(plot: Callable[Arguments, Figure]) -> Callable[Arguments, Figure]:
    """Draw ``plot``'s figure in :data:`THEME`, leaving the global matplotlib settings alone."""

    @functools.wraps(plot)
    def draw(*args: Arguments.args, **kwargs: Arguments.kwargs) -> Figure:
        with mpl.rc_context(THEME):
            return plot(*args, **kwargs)

    return draw


def save_figure(fig: Figure, cfg: Config, name: str) -> Path:
    """Write ``fig`` as ``<artifacts_dir>/figures/<name>.png`` and return the path."""
    path = cfg.figures_path / f"{name}.png"
    with mpl.rc_context(THEME):  # ticks and their labels are made when the figure is drawn
        return atomic_write(
            path, lambda handle: fig.savefig(handle, format="png", dpi=DPI, bbox_inches="tight")
        )


def show_saved(path: Path, name: str) -> None:
    """In a notebook, display a saved PNG tagged ``{"figure": name}`` (the HTML report reads the
    tag); elsewhere do nothing."""
    import IPython
    from IPython.display import Image, display

    shell = IPython.get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        display(Image(filename=str(path)), metadata={"figure": name})


def publish(fig: Figure, cfg: Config, name: str) -> None:
    """Save ``fig`` (:func:`save_figure`), show the saved PNG (:func:`show_saved`), close it.

    Args:
        fig: The figure to publish; it is closed afterwards.
        cfg: The run's configuration (where ``<artifacts_dir>/figures/`` is).
        name: The figure's name: the PNG's stem and its tag for the report.

    Example:
        >>> publish(fig, cfg, "01_samples")  # doctest: +SKIP
    """
    show_saved(save_figure(fig, cfg, name), name)
    plt.close(fig)


def image_array(tensor: torch.Tensor) -> np.ndarray:
    """A normalised image ``(3, H, W)`` as an ``(H, W, 3)`` array in [0, 1] for ``imshow``."""
    return denormalize(tensor).permute(1, 2, 0).numpy()


def image_panels(rows: int, columns: int, size: float = 2.2) -> tuple[Figure, np.ndarray]:
    """A ``rows`` x ``columns`` grid of image panels without axes."""
    fig, axes = plt.subplots(
        rows, columns, figsize=(size * columns, size * rows + 0.6), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes


def image_grid(n: int, columns: int, size: float = 2.2) -> tuple[Figure, np.ndarray]:
    """Enough image panels for ``n`` images in rows of ``columns``, flattened."""
    fig, axes = image_panels(math.ceil(n / columns), columns, size)
    return fig, axes.flat


def scatter_classes(
    ax: plt.Axes, points: np.ndarray, labels: torch.Tensor, classes: list[str], size: float = 8
) -> None:
    """Scatter 2-D points, one colour and legend entry per class."""
    colours = sns.color_palette(CLASS_PALETTE, len(classes))
    for index, name in enumerate(classes):
        chosen = np.asarray(labels) == index
        ax.scatter(*points[chosen].T, s=size, color=colours[index], label=name, alpha=0.75)


def figure_base64(fig: Figure, dpi: int = 100) -> str:
    """A figure as a base64 PNG (for a page that embeds it), drawn in the theme; closes it."""
    buffer = io.BytesIO()
    with mpl.rc_context(THEME):
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
