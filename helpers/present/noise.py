"""Figures of notebook 08 (shots and device noise)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from qiskit.providers import BackendV2

from helpers.present.style import (
    PALETTE,
    themed,
)


@themed
def plot_accuracy_vs_shots(summary: Sequence[Mapping[str, Any]], title: str) -> Figure:
    """Validation accuracy against shots (log scale), ± one standard deviation over repeats,
    per noise setting; the dashed line is the exact (infinite-shot) accuracy."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = iter(PALETTE)
    for noise in dict.fromkeys(row["noise"] for row in summary):
        chosen = sorted(
            (row for row in summary if row["noise"] == noise), key=lambda r: r["shots"] or 0
        )
        if noise == "exact":
            ax.axhline(
                chosen[0]["accuracy"], color="black", linestyle="--", label="exact (statevector)"
            )
            continue
        shots = [row["shots"] for row in chosen]
        ax.errorbar(
            shots,
            [row["accuracy"] for row in chosen],
            yerr=[row["accuracy_std"] for row in chosen],
            marker="o",
            capsize=4,
            color=next(colours),
            label=noise,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("shots per expectation value")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def shots_table(summary: list[dict[str, object]]) -> pd.DataFrame:
    """Accuracy per noise setting and shot count (``noise.summarise`` rows)."""
    return pd.DataFrame(summary).set_index(["noise", "shots"]).round(4)


def describe_device(device: BackendV2, n_images: int) -> str:
    """The evaluated images and the fake device: its size and two-qubit and native gates."""
    gates = sorted(set(device.operation_names) & {"cx", "ecr", "cz", "rz", "sx", "x"})
    return (
        f"{n_images} test images; device {device.name} ({device.num_qubits} qubits, gates {gates})"
    )
