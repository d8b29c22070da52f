"""A mean and its standard error: the summary of repeated measurements (seeds, images) that
training and the analyses report alike."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def mean_and_error(values: ArrayLike) -> tuple[float, float]:
    """Mean and its standard error, ignoring NaN (undefined) entries."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(error)
