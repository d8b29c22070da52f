"""The generated sentences of notebook 06 (loss landscapes, sharpness)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from helpers.analysis.landscape import Landscape


def describe_dropped(values: Mapping[str, Sequence[float]]) -> str:
    """One line: how many seeds of each model the verdict's ratios leave out (a value that is
    not positive has no logarithm), and why that matters.

    Args:
        values: Each seed's value of the verdict's measure, by model.

    Returns:
        The sentence.

    Example:
        >>> describe_dropped({"hybrid": [-0.001, 0.3]}).split(": ")[1][:13]
        'hybrid 1 of 2'
    """
    counts = ", ".join(f"{m} {sum(not v > 0 for v in s)} of {len(s)}" for m, s in values.items())
    return (
        f"Seeds left out of the ratio verdict (value not positive): {counts}. Each one left out "
        "is a seed on which that model is as flat as can be, so the ratios lean towards "
        '"sharper" for it; the paired difference over every seed (exploratory) keeps them.'
    )


def describe_displacement(model: str, report: list[dict[str, object]]) -> str:
    """One line: how far training moved ``model``'s circuit weights (when it has any) and all
    its parameters, from a ``landscape.parameter_displacement`` report.

    Args:
        model: The model's name, which starts the line.
        report: Its ``parameter_displacement`` rows; the last one is the total.

    Returns:
        The line.

    Example:
        >>> total = {"parameter": "total", "norm_change": 0.5, "norm_initial": 2.0,
        ...          "norm_trained": 2.1, "rms_angle_change": float("nan")}
        >>> describe_displacement("classical", [total])
        'classical: training moved all parameters by 0.5 (‖w₀‖ = 2, ‖w‖ = 2.1).'
    """
    parts = [
        f"the circuit weights {row['parameter']} by ‖w − w₀‖ = {row['norm_change']:.3g} "
        f"({row['rms_angle_change']:.3g} rad RMS per angle; ‖w₀‖ = {row['norm_initial']:.3g}, "
        f"‖w‖ = {row['norm_trained']:.3g})"
        for row in report
        if not math.isnan(row["rms_angle_change"])
    ]
    total = report[-1]
    parts.append(
        f"all parameters by {total['norm_change']:.3g} (‖w₀‖ = {total['norm_initial']:.3g}, "
        f"‖w‖ = {total['norm_trained']:.3g})"
    )
    return f"{model}: training moved " + " and ".join(parts) + "."


def describe_centres(
    landscapes: Mapping[str, Landscape], trained_losses: Mapping[str, float]
) -> str:
    """One line per model: the landscape's centre beside the trained model's own loss.

    Args:
        landscapes: Each model's :class:`Landscape` (its ``centre_loss``), by model name.
        trained_losses: Each model's loss from ``evaluate`` on the same inputs, by name.

    Returns:
        The lines, joined by newlines (the two losses should agree).

    Example:
        >>> text = describe_centres(line, {"hybrid": 0.312})  # doctest: +SKIP
    """
    return "\n".join(
        f"{kind}: centre of the landscape {result.centre_loss:.6f}, trained model's loss "
        f"{trained_losses[kind]:.6f}"
        for kind, result in landscapes.items()
    )


def describe_resolution(bounds: np.ndarray, resolution: int) -> str:
    """Whether a periodic landscape's grid resolves the circuit's frequency bounds.

    Args:
        bounds: The highest frequency per output (``PeriodicLandscape.bounds``).
        resolution: Grid points along each direction (``landscape_resolution``).

    Returns:
        One sentence: resolved, or aliased with the resolution that would resolve it.

    Example:
        >>> describe_resolution(np.array([41, 37]), 51)[:46]
        'the bound 41 exceeds what the grid resolves (|'
    """
    top, resolved = int(np.max(bounds)), resolution // 2
    if top <= resolved:
        return f"the grid resolves |frequency| <= {resolved}, the bound {top} included"
    return (
        f"the bound {top} exceeds what the grid resolves (|frequency| <= {resolved}): the "
        f"spectrum aliases; set landscape_resolution >= {2 * top + 1} to resolve it"
    )
