"""What the trained hybrid head costs on hardware: the fewest shots that keep its accuracy within
one SE of exact (the shot budget), and the circuits and shots an evaluation then needs, with
readout mitigation (M3's calibration circuits) and zero-noise extrapolation (one circuit per
noise factor)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from helpers.analysis.noise import EXACT, SETTINGS
from helpers.quantum.sampled import ZNE_FACTORS


def shot_budget(
    averaged_by_seed: Sequence[Sequence[Mapping[str, object]]],
) -> dict[str, int | None]:
    """Per sampled setting, the fewest shots from which the accuracy (mean over seeds and
    repeats) stays within one SE over test images of the exact accuracy (both averaged over the
    seeds' :func:`mean_over_repeats` tables) at every larger shot count tried; None when even the
    largest count tried falls outside.

    Args:
        averaged_by_seed: Each seed's :func:`mean_over_repeats` rows, exact row included.

    Returns:
        The fewest sufficient shots per image, or None, by sampled setting.

    Example:
        >>> exact = {"setting": "exact", "shots": None, "accuracy": 0.9, "accuracy_se": 0.02}
        >>> sampled = [{"setting": "shots only", "shots": s, "accuracy": a}
        ...            for s, a in ((64, 0.8), (256, 0.89), (1024, 0.9))]
        >>> shot_budget([[exact, *sampled]])
        {'shots only': 256}
    """
    exact = [row for averaged in averaged_by_seed for row in averaged if row["setting"] == EXACT]
    target, tolerance = (
        float(np.mean([row[key] for row in exact])) for key in ("accuracy", "accuracy_se")
    )
    accuracy: dict[tuple[str, int], list[float]] = {}
    for averaged in averaged_by_seed:
        for row in averaged:
            if row["shots"] is not None:
                accuracy.setdefault((str(row["setting"]), int(row["shots"])), []).append(
                    float(row["accuracy"])
                )
    budget: dict[str, int | None] = {}
    stopped: set[str] = set()  # settings with a count outside, above the current one
    for (setting, count), values in sorted(accuracy.items(), key=lambda item: -item[0][1]):
        budget.setdefault(setting, None)
        if setting in stopped or abs(np.mean(values) - target) > tolerance:
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
