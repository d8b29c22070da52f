"""A mean and its standard error: the summary of repeated measurements (seeds, images) that
training and the analyses report alike."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def mean_and_error(values: ArrayLike) -> tuple[float, float]:
    """Mean and its standard error, ignoring NaN (undefined) entries.

    Args:
        values: The measurements, one per unit of replication (seed, image, ...).

    Returns:
        The mean and its standard error (sample standard deviation / √n); NaN for the error
        with one value, NaN for both with none.

    Example:
        >>> mean_and_error([1.0, 2.0, 3.0, float("nan")])
        (2.0, 0.5773502691896258)
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(error)
