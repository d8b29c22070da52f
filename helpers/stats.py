"""Small statistics shared by the analyses: mean ± standard error and two-model verdicts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
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


def format_value(mean: float, error: float) -> str:
    """``mean ± error`` with three decimals, or three significant digits for small values."""
    if 0 < abs(mean) < 0.01 or 0 < abs(error) < 0.0005:
        return f"{mean:.3g} ± {error:.2g}"
    return f"{mean:.3f} ± {error:.3f}"


def verdict(
    classical: tuple[float, float],
    hybrid: tuple[float, float],
    comparative: str = "better",
) -> str:
    """Which model's value is higher ("``comparative``"), when the gap exceeds two (unpaired)
    standard errors."""
    gap = hybrid[0] - classical[0]
    error = float(np.hypot(classical[1], hybrid[1]))
    if not abs(gap) > 2 * error:
        return "no clear difference"
    better = "hybrid" if gap > 0 else "classical"
    return f"{better} {comparative} by {abs(gap):.3f} ({abs(gap) / error:.1f} SE)"


def summary_frame(rows: list[dict[str, object]], index: list[str]) -> pd.DataFrame:
    """Rows of scores as a readable table: ``x`` and ``x_se`` become one ``mean ± SE`` column."""
    table = []
    for row in rows:
        shown: dict[str, object] = {}
        for name, value in row.items():
            if name.endswith("_se") and name[:-3] in row:
                continue
            if f"{name}_se" in row:
                value = format_value(float(value), float(row[f"{name}_se"]))
            elif isinstance(value, float):
                value = round(value, 3)
            shown[name.replace("_", " ") if name not in index else name] = value
        table.append(shown)
    return pd.DataFrame(table).set_index(index)


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
