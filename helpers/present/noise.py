"""Figures and text of notebook 08 (sampled shots, device noise, error mitigation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from qiskit.providers import BackendV2

from helpers.present.style import PALETTE, themed

METRICS = {
    "accuracy": "test accuracy",
    "z_error": "mean |⟨Z_j⟩ − exact ⟨Z_j⟩|",
}


@themed
def plot_against_shots(averaged: Sequence[Mapping[str, Any]], metric: str, title: str) -> Figure:
    """``metric`` (``accuracy`` or ``z_error``) against shots (log scale) per setting: the mean
    over repeats with error bars of ± one standard deviation over sampling seeds. Settings
    without shots (exact, device noise evaluated exactly) are horizontal lines, the exact one
    with a band of ± one SE over test images.

    Args:
        averaged: ``noise.mean_over_repeats`` rows (``setting``, ``shots``, the metric and its
            ``_std`` and ``_se``).
        metric: ``"accuracy"`` or ``"z_error"``.
        title: The figure's title.

    Returns:
        The figure.

    Example:
        >>> fig = plot_against_shots(averaged, "accuracy", "Test accuracy")  # doctest: +SKIP
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is unknown; use one of {list(METRICS)}.")
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    colours = iter(PALETTE)
    for setting in dict.fromkeys(row["setting"] for row in averaged):
        chosen = sorted(
            (row for row in averaged if row["setting"] == setting), key=lambda r: r["shots"] or 0
        )
        exact = setting == "exact"
        colour = "black" if exact else next(colours)
        if chosen[0]["shots"] is None:
            value, se = chosen[0][metric], chosen[0][f"{metric}_se"]
            ax.axhline(value, color=colour, linestyle="--" if exact else ":",
                       label=f"{setting} (no shots)")  # fmt: skip
            if exact and se > 0:
                ax.axhspan(value - se, value + se, color="black", alpha=0.1,
                           label="exact ± SE over images")  # fmt: skip
            continue
        ax.errorbar(
            [row["shots"] for row in chosen],
            [row[metric] for row in chosen],
            yerr=[row[f"{metric}_std"] for row in chosen],
            marker="o",
            capsize=4,
            color=colour,
            label=setting,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("shots per image (all ⟨Z_j⟩ from the same bit-strings)")
    ax.set_ylabel(METRICS[metric])
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def shots_table(averaged: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Accuracy and ⟨Z_j⟩ error per setting and shot count (``noise.mean_over_repeats`` rows).

    Args:
        averaged: ``noise.mean_over_repeats`` rows.

    Returns:
        The rows indexed by (setting, shots), rounded to 4 decimals.

    Example:
        >>> table = shots_table(noise.mean_over_repeats(rows))  # doctest: +SKIP
    """
    return pd.DataFrame(averaged).set_index(["setting", "shots"]).round(4)


def factors_table(noise_factors: Mapping[str, Mapping[int, Mapping[int, float]]]) -> pd.DataFrame:
    """The noise factors ZNE's folding reached per model: mean and SD over seeds per nominal
    factor (``noise.zne_noise_factors``, ``[model][seed]``).

    Args:
        noise_factors: ``[model][seed][nominal factor]`` measured factors.

    Returns:
        One row per model: ``seeds`` and, per nominal factor above 1, ``λ = f`` (mean) and
        ``λ = f SD``, rounded to 2 decimals.

    Example:
        >>> factors_table({"hybrid": {0: {1: 1.0, 3: 3.1}, 1: {1: 1.0, 3: 2.9}}}).loc["hybrid"]
        seeds       2.00
        λ = 3       3.00
        λ = 3 SD    0.14
        Name: hybrid, dtype: float64
    """
    rows = {}
    for model, by_seed in noise_factors.items():
        frame = pd.DataFrame(list(by_seed.values()))
        rows[model] = {"seeds": len(frame)}
        for factor in frame.columns[frame.columns > 1]:
            rows[model][f"λ = {factor}"] = frame[factor].mean()
            rows[model][f"λ = {factor} SD"] = frame[factor].std(ddof=1)
    return pd.DataFrame.from_dict(rows, orient="index").round(2)


def describe_device(device: BackendV2, n_images: int) -> str:
    """The evaluated images and the fake device: its size and two-qubit and native gates.

    Args:
        device: The fake device (``noise.fake_device``).
        n_images: How many test images are evaluated.

    Returns:
        One line.

    Example:
        >>> print(describe_device(noise.fake_device("FakeManilaV2"), 500))  # doctest: +SKIP
        500 test images; device fake_manila (5 qubits, gates ['cx', 'rz', 'sx', 'x'])
    """
    gates = sorted(set(device.operation_names) & {"cx", "ecr", "cz", "rz", "sx", "x"})
    return (
        f"{n_images} test images; device {device.name} ({device.num_qubits} qubits, gates {gates})"
    )


def describe_budget(
    plan: Mapping[str, Mapping[str, Any]],
    n_images: int,
    metric: str,
    tolerance: float,
    probability: float,
) -> str:
    """Markdown: the criterion a single run must meet (``metric`` within ``tolerance`` of exact
    with ``probability``), then per setting the fewest of the shot counts tried that meet it
    (``hardware.shot_budget``) and what one evaluation of ``n_images`` then needs on hardware
    (``hardware.hardware_plan``).

    Args:
        plan: ``hardware.hardware_plan`` by setting.
        n_images: The images of one evaluation the plan was made for.
        metric: ``"accuracy"`` or ``"z_error"``, the budget's criterion.
        tolerance: Its tolerance.
        probability: The probability a single run meets it.

    Returns:
        Markdown: the criterion, then one bullet per setting.

    Example:
        >>> plan = {"shots only": {"shots_per_image": 256, "reached": True, "circuits": 500,
        ...                        "shots": 128000}}
        >>> print(describe_budget(plan, 500, "accuracy", 0.02, 0.95))  # doctest: +ELLIPSIS
        **A single run's test accuracy within ±0.02 of exact, with probability ≥ 95 %**, ...
        - **shots only**: 256 shots per image; on hardware, 500 images take 500 circuits and ...
    """
    criterion = {
        "accuracy": f"test accuracy within ±{tolerance:g} of exact",
        "z_error": f"mean |⟨Z_j⟩ − exact ⟨Z_j⟩| at most {tolerance:g}",
    }[metric]
    lines = [
        f"**A single run's {criterion}, with probability ≥ {probability:.0%}**".replace("%", " %")
        + f", {n_images} images (from the spread of the single runs, every seed × repeat):"
    ]
    for setting, need in plan.items():
        count = f"{need['shots_per_image']:,}"
        reach = (
            f"{count} shots per image"
            if need["reached"]
            else f"not met even at the most shots tried ({count} per image)"
        )
        lines.append(
            f"- **{setting}**: {reach}; on hardware, {n_images} images take "
            f"{need['circuits']:,} circuits and {need['shots']:,} shots in all."
        )
    return "\n".join(lines)
