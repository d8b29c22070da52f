"""Figures of notebook 07 (DeepDream)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from helpers.present.style import (
    image_array,
    image_panels,
    themed,
)


@themed
def plot_image_table(
    images: Mapping[str, Mapping[str, torch.Tensor]], title: str, size: float = 2.3
) -> Figure:
    """A table of (normalised) images: one row per outer key, one column per inner key.

    Args:
        images: Normalised images ``(1, 3, H, W)`` or ``(3, H, W)``, keyed ``[row][column]``.
        title: The figure's title.
        size: The side of one panel, in inches.

    Returns:
        The figure.

    Example:
        >>> fig = plot_image_table({"start": {"test image": start}}, "Start")  # doctest: +SKIP
    """
    rows = list(images)
    fig, axes = image_panels(len(rows), max(len(row) for row in images.values()), size)
    for r, row in enumerate(rows):
        for c, (label, image) in enumerate(images[row].items()):
            axes[r, c].imshow(image_array(image.squeeze(0)))
            axes[r, c].set_title(f"{row}\n{label}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_dream_histories(
    histories: Mapping[str, Sequence[float]], title: str, ylabel: str
) -> Figure:
    """Objective value against gradient-ascent step, one line per run.

    Args:
        histories: The objective before every step (all octaves), by run name.
        title: The figure's title.
        ylabel: The y-axis label.

    Returns:
        The figure.

    Example:
        >>> fig = plot_dream_histories(units.histories, "Ascent", "objective")  # doctest: +SKIP
    """
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, values in histories.items():
        ax.plot(range(len(values)), values, label=name)
    ax.set_xlabel("step (all octaves)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def describe_dream_values(values: Mapping[tuple[str, str], tuple[float, float]]) -> str:
    """One line per dream: the objective of the start image and of the dream.

    Args:
        values: (start, final) objective values keyed (row, column) (``DreamTable.values``).

    Returns:
        The lines, joined by newlines.

    Example:
        >>> print(describe_dream_values({("from noise", "‖q_out‖ (hybrid)"): (1.2, 1.9)}))
        from noise      ‖q_out‖ (hybrid)             objective +1.200 -> +1.900
    """
    return "\n".join(
        f"{origin:15s} {name:28s} objective {first:+.3f} -> {last:+.3f}"
        for (origin, name), (first, last) in values.items()
    )
