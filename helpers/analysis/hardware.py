"""What the trained hybrid head costs on hardware: the fewest shots with which a single run's
accuracy (or ⟨Z_j⟩) is within a stated tolerance of exact with a stated probability (the shot
budget), and the circuits and shots an evaluation then needs, with readout mitigation (M3's
calibration circuits) and zero-noise extrapolation (one circuit per noise factor)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import norm

from helpers.analysis.noise import EXACT, SETTINGS
from helpers.quantum.sampled import ZNE_FACTORS

BUDGET_METRICS = ("accuracy", "z_error")


def within_probability(deviations: Sequence[float], tolerance: float, two_sided: bool) -> float:
    """The probability that a single run's deviation lies within ``tolerance`` (``|d| ≤ t``
    two-sided, ``d ≤ t`` one-sided), the deviations of the runs taken as normal with their mean
    and standard deviation (bias and spread of single runs); NaN for fewer than two runs.

    Args:
        deviations: One deviation per run.
        tolerance: The tolerance.
        two_sided: Whether the deviation is signed (accuracy) or an error (⟨Z_j⟩).

    Returns:
        The probability.

    Example:
        >>> round(within_probability([0.01, -0.01, 0.0], 0.02, two_sided=True), 3)
        0.954
    """
    if len(deviations) < 2:
        return math.nan
    mean, spread = float(np.mean(deviations)), float(np.std(deviations, ddof=1))
    if spread == 0:
        return float(abs(mean) <= tolerance if two_sided else mean <= tolerance)
    below = norm.cdf((-tolerance - mean) / spread) if two_sided else 0.0
    return float(norm.cdf((tolerance - mean) / spread) - below)


def shot_budget(
    runs_by_seed: Sequence[Sequence[Mapping[str, object]]],
    metric: str = "accuracy",
    tolerance: float = 0.02,
    probability: float = 0.95,
) -> dict[str, int | None]:
    """Per sampled setting, the fewest shots per image from which a **single** hardware run is
    within ``tolerance`` of the exact evaluation with at least ``probability``, at every larger
    shot count tried; None when even the largest count falls short.

    A run is one seed's head evaluated once (one sampling seed) on the test images. Its
    deviation: for ``accuracy``, its accuracy minus the same head's exact accuracy (within means
    ``|d| ≤ tolerance``); for ``z_error``, its mean ``|⟨Z_j⟩ − exact ⟨Z_j⟩|`` (``d ≤
    tolerance``). The probability comes from the spread of the single runs at that setting and
    count, every seed × repeat (:func:`within_probability`), not from their mean.

    Args:
        runs_by_seed: Each seed's :func:`~helpers.analysis.noise.shot_sweep` rows.
        metric: ``"accuracy"`` or ``"z_error"``.
        tolerance: The largest acceptable deviation.
        probability: The probability a single run must be within it.

    Returns:
        The fewest sufficient shots per image, or None, by sampled setting.

    Example:
        >>> exact = {"setting": "exact", "shots": None, "repeat": 0, "accuracy": 0.9}
        >>> runs = [{"setting": "shots only", "shots": s, "repeat": r, "accuracy": 0.9 + d}
        ...         for s, spread in ((64, 0.05), (1024, 0.005)) for r, d in
        ...         enumerate((spread, -spread))]
        >>> shot_budget([[exact, *runs]], tolerance=0.02)
        {'shots only': 1024}
    """
    if metric not in BUDGET_METRICS:
        raise ValueError(f"metric={metric!r} is unknown; use one of {BUDGET_METRICS}.")
    deviations: dict[tuple[str, int], list[float]] = {}
    for rows in runs_by_seed:
        exact = float(next(row for row in rows if row["setting"] == EXACT)[metric])
        for row in rows:
            if row["shots"] is not None:
                key = (str(row["setting"]), int(row["shots"]))
                deviations.setdefault(key, []).append(float(row[metric]) - exact)
    budget: dict[str, int | None] = {}
    stopped: set[str] = set()  # settings with a count outside, above the current one
    for (setting, count), values in sorted(deviations.items(), key=lambda item: -item[0][1]):
        budget.setdefault(setting, None)
        chance = within_probability(values, tolerance, two_sided=metric == "accuracy")
        if setting in stopped or not chance >= probability:
            stopped.add(setting)
        else:
            budget[setting] = count
    return budget


def hardware_budget(
    n_images: int,
    shots: int,
    mitigation: Sequence[str] = (),
    n_qubits: int = 4,
    calibration_shots: int = 10_000,
) -> dict[str, int]:
    """What one evaluation of ``n_images`` needs on hardware: circuits (one per image and ZNE
    noise factor, plus M3's balanced calibration circuits) and shots in all. All ⟨Z_j⟩ of an
    image come from one circuit's bit-strings."""
    factors = len(ZNE_FACTORS) if "zne" in mitigation else 1
    circuits, total = n_images * factors, n_images * factors * shots
    if "m3" in mitigation:
        from mthree.generators import HadamardGenerator

        length = HadamardGenerator(n_qubits).length  # mthree's balanced calibration
        circuits += length
        total += length * -(-2 * calibration_shots // length)
    return {"circuits": circuits, "shots": total}


def hardware_plan(
    budget: Mapping[str, int | None], shots: Sequence[int], n_images: int, n_qubits: int = 4
) -> dict[str, dict[str, object]]:
    """Per sampled setting of ``budget`` (:func:`shot_budget`): the shots per image it needs
    (the most tried when none was enough, ``reached`` False) and the :func:`hardware_budget` of
    one evaluation of ``n_images`` at that count.

    Args:
        budget: :func:`shot_budget`'s shots per setting (None: not reached).
        shots: The shot counts tried.
        n_images: Images in one evaluation.
        n_qubits: The circuit's qubits (M3's calibration circuits depend on them).

    Returns:
        By setting: ``shots_per_image``, ``reached``, ``circuits`` and ``shots`` in all.

    Example:
        >>> plan = hardware_plan({"shots only": 256}, [64, 256, 1024], n_images=500)
        >>> plan["shots only"]["circuits"], plan["shots only"]["shots"]
        (500, 128000)
    """
    plan: dict[str, dict[str, object]] = {}
    for setting, count in budget.items():
        per_image = max(shots) if count is None else count
        mitigation = SETTINGS[setting].mitigation if setting in SETTINGS else ()
        plan[setting] = {
            "shots_per_image": per_image,
            "reached": count is not None,
            **hardware_budget(n_images, per_image, mitigation, n_qubits),
        }
    return plan
