"""Numbers as text: ``mean ± SE``, two-model verdicts and summary tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    size = f"{abs(gap) / error:.1f} SE" if error > 0 else "no sampling error"
    return f"{better} {comparative} by {abs(gap):.3f} ({size})"


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
