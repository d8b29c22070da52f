"""Small statistics shared by the analyses: activations as matrices, mean ± standard error,
bootstrap errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def as_matrix(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Activations of any shape ``(N, ...)`` as a float64 ``(N, D)`` array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().double().numpy()
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(len(array), -1)


def mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error, ignoring NaN (undefined) entries."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(error)


def bootstrap_error(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    n_resamples: int = 200,
    seed: int = 0,
) -> float:
    """Standard error of ``statistic(values)`` by resampling the rows of ``values``."""
    rng = np.random.default_rng(seed)
    values = np.asarray(values)
    estimates = [
        statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(n_resamples)
    ]
    return float(np.nanstd(estimates, ddof=1))
