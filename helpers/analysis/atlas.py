"""Activation atlases (Carter et al. 2019): the mean input image of every cell of a 2-D layout's
grid, and the class mixture of the cell, so a layout shows what each region of a layer holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch


@dataclasses.dataclass
class Atlas:
    """An activation atlas (Carter et al. 2019): a 2-D layout binned into a grid of cells.

    ``cell_of[i]`` is the (row, column) index of sample i's cell, flattened as row * grid + col;
    ``images[c]`` is the mean input image of the samples in cell c, ``counts[c]`` their number
    and ``dominant[c]`` their most frequent class (-1 for empty cells).
    """

    grid: int
    cell_of: np.ndarray
    counts: np.ndarray
    images: torch.Tensor
    dominant: np.ndarray
    purity: np.ndarray
    extent: tuple[float, float, float, float]

    @property
    def occupied(self) -> int:
        """Number of cells holding at least one sample."""
        return int((self.counts > 0).sum())

    @property
    def weighted_purity(self) -> float:
        """Share of samples whose cell's dominant class is their own (cells weighted by size)."""
        occupied = self.counts > 0
        return float((self.purity[occupied] * self.counts[occupied]).sum() / self.counts.sum())


def activation_atlas(
    layout: np.ndarray, images: torch.Tensor, labels: torch.Tensor, grid: int = 8
) -> Atlas:
    """Bin ``layout`` into ``grid`` x ``grid`` cells; average the images that land in each.

    Args:
        layout: A 2-D layout ``(N, 2)``.
        images: The laid-out images ``(N, 3, H, W)``, normalised.
        labels: Their class indices ``(N,)``.
        grid: Cells per side.

    Returns:
        The :class:`Atlas`: each cell's mean image ``(grid², 3, H, W)``, count, dominant class
        and purity.

    Example:
        >>> layout = np.array([[0.0, 0.0], [1.0, 1.0]])
        >>> atlas = activation_atlas(layout, torch.zeros(2, 3, 4, 4), torch.tensor([0, 1]), 2)
        >>> atlas.occupied, atlas.weighted_purity
        (2, 1.0)
    """
    low, high = layout.min(axis=0), layout.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    bins = np.clip(((layout - low) / span * grid).astype(int), 0, grid - 1)
    cell_of = (grid - 1 - bins[:, 1]) * grid + bins[:, 0]  # row 0 at the top (largest y)
    n_cells = grid * grid
    counts = np.bincount(cell_of, minlength=n_cells)
    sums = torch.zeros(n_cells, *images.shape[1:], dtype=torch.float64)
    sums.index_add_(0, torch.from_numpy(cell_of), images.double())
    means = sums / torch.from_numpy(np.maximum(counts, 1)).view(-1, *[1] * (images.dim() - 1))
    labels = np.asarray(labels)
    dominant = np.full(n_cells, -1)
    purity = np.full(n_cells, np.nan)
    for cell in np.flatnonzero(counts):
        votes = np.bincount(labels[cell_of == cell])
        dominant[cell] = votes.argmax()
        purity[cell] = votes.max() / counts[cell]
    extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    return Atlas(grid, cell_of, counts, means.float(), dominant, purity, extent)
