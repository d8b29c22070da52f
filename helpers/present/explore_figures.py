"""The explorer's pictures: two small matplotlib figures (a layout, the loss grids) drawn with a
fixed layout, and image panels (an image, a saliency overlay) made directly as PNG bytes, so that
each interaction redraws in well under a second."""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from helpers.analysis.landscape import Landscape
from helpers.present.style import THEME, image_array, scatter_classes, themed

VIEW_DPI = 100  # figures for the screen: small and quick to draw
PANEL_SIZE = 128  # image panels are enlarged (nearest neighbour) to at least this many pixels
OVERLAY_ALPHA = 0.6  # the saliency map's weight over the image, as in notebook 03's figures


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (drawn in the project's theme), and closed."""
    buffer = io.BytesIO()
    with mpl.rc_context(THEME):
        fig.savefig(buffer, format="png", dpi=VIEW_DPI)
    plt.close(fig)
    return buffer.getvalue()


@themed
def plot_layout_view(
    points: np.ndarray,
    colour: np.ndarray,
    classes: list[str] | None,
    highlight: int | None,
    title: str,
    method: str,
    colour_label: str = "",
) -> Figure:
    """One layout: points coloured by class (``classes`` given) or by value, one highlighted."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if classes is not None:
        scatter_classes(ax, points, torch.as_tensor(colour), classes, size=10)
    else:
        shown = ax.scatter(*points.T, c=colour, cmap="viridis", s=10, alpha=0.8)
        fig.colorbar(shown, ax=ax, label=colour_label)
    if highlight is not None:
        ax.scatter(*points[highlight], s=260, marker="*", c="none", edgecolors="black",
                   linewidths=1.6, label="chosen image")  # fmt: skip
    if classes is not None or highlight is not None:
        ax.legend(loc="best", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.95, bottom=0.08, top=0.9)
    return fig


def _extent(surface: Landscape) -> tuple[float, float, float, float]:
    """The grid's cells, centred on its points (α across, β up)."""
    half_a = (surface.alphas[1] - surface.alphas[0]) / 2
    half_b = (surface.betas[1] - surface.betas[0]) / 2
    return (surface.alphas[0] - half_a, surface.alphas[-1] + half_a,
            surface.betas[0] - half_b, surface.betas[-1] + half_b)  # fmt: skip


@themed
def plot_landscape_view(
    surfaces: Mapping[str, Landscape], alpha: float, beta: float, title: str
) -> Figure:
    """Each model's 2-D loss grid on one colour scale, with the point (α, β) marked."""
    fig, axes = plt.subplots(
        1, len(surfaces), figsize=(3.6 * len(surfaces) + 1, 3.6), squeeze=False
    )
    low = min(float(s.loss.min()) for s in surfaces.values())
    high = max(float(s.loss.max()) for s in surfaces.values())
    for ax, (kind, surface) in zip(axes[0], surfaces.items(), strict=True):
        shown = ax.imshow(surface.loss.T, origin="lower", extent=_extent(surface), vmin=low,
                          vmax=high, cmap="viridis", aspect="auto")  # fmt: skip
        ax.grid(False)
        ax.plot([0], [0], "w+", markersize=10, label="trained model")
        ax.plot([alpha], [beta], "r*", markersize=14, label="chosen point")
        ax.set_xlabel("α")
        ax.set_ylabel("β")
        ax.set_title(kind)
    axes[0, 0].legend(loc="lower left", fontsize=7)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.06, right=0.93, bottom=0.14, top=0.82, wspace=0.4)
    fig.colorbar(shown, ax=list(axes[0]), label="training loss", fraction=0.04, pad=0.02)
    return fig


def image_png(image: torch.Tensor, saliency: torch.Tensor | None = None) -> bytes:
    """A normalised image ``(3, H, W)`` as PNG bytes, with ``saliency`` ``(H, W)`` (in [0, 1])
    overlaid in the ``inferno`` colours when given; small images are enlarged."""
    pixels = image_array(image)
    if saliency is not None:
        colours = mpl.colormaps["inferno"](saliency.clamp(0, 1).numpy())[..., :3]
        pixels = (1 - OVERLAY_ALPHA) * pixels + OVERLAY_ALPHA * colours
    picture = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))
    scale = max(1, -(-PANEL_SIZE // max(picture.size)))
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="png")
    return buffer.getvalue()
