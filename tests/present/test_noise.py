"""Figures and text of notebook 08 (sampled shots, device noise, mitigation)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.analysis.hardware import hardware_plan
from helpers.analysis.noise import fake_device, mean_over_repeats
from helpers.present.noise import (
    describe_budget,
    describe_device,
    factors_table,
    plot_against_shots,
    shots_table,
)
from tests.present.figure_checks import assert_labels, check_figure


def _row(setting, shots, accuracy, z_error=0.0):
    return {
        "setting": setting,
        "shots": shots,
        "accuracy": accuracy,
        "accuracy_se": 0.03,
        "z_error": z_error,
        "z_error_se": 0.01,
    }


RUNS = [
    _row("exact", None, 0.9),
    _row("device noise", None, 0.85, 0.08),
    *(
        _row("shots only", shots, accuracy, 1 / np.sqrt(shots))
        for shots, accuracy in ((64, 0.8), (64, 0.84), (16, 0.7), (16, 0.6), (256, 0.88))
    ),
    *(
        _row("+ M3", shots, accuracy, 0.05)
        for shots, accuracy in ((256, 0.8), (16, 0.5), (64, 0.7), (64, 0.76))
    ),
]


def test_plot_against_shots_draws_error_bars_per_setting_and_the_unsampled_lines():
    fig = plot_against_shots(mean_over_repeats(RUNS), "accuracy", "Shots")
    ax = fig.axes[0]
    check_figure(fig, "Shots")
    assert_labels(ax, "shots per image (all ⟨Z_j⟩ from the same bit-strings)", "test accuracy")
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    bars = {container.get_label(): container for container in ax.containers}
    assert list(bars) == ["shots only", "+ M3"]
    shots_only, m3 = (np.asarray(bars[s].lines[0].get_data(), dtype=float) for s in bars)
    np.testing.assert_allclose(shots_only, [[16, 64, 256], [0.65, 0.82, 0.88]])  # sorted, mean
    np.testing.assert_allclose(m3, [[16, 64, 256], [0.5, 0.73, 0.8]])
    # ± one standard deviation over simulator seeds: 16 shots, sd of (0.7, 0.6)
    segment = bars["shots only"].lines[2][0].get_segments()[0]
    np.testing.assert_allclose(segment[1, 1] - segment[0, 1], 2 * np.std([0.7, 0.6], ddof=1))
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["exact (no shots)"].get_ydata(), [0.9, 0.9])
    np.testing.assert_allclose(lines["device noise (no shots)"].get_ydata(), [0.85, 0.85])
    band = next(p for p in ax.patches if p.get_label() == "exact ± SE over images")
    np.testing.assert_allclose([band.get_y(), band.get_y() + band.get_height()], [0.87, 0.93])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "exact (no shots)",
        "exact ± SE over images",
        "device noise (no shots)",
        "shots only",
        "+ M3",
    ]


def test_plot_against_shots_draws_the_z_error_and_refuses_unknown_metrics():
    fig = plot_against_shots(mean_over_repeats(RUNS), "z_error", "Error")
    ax = check_figure(fig, "Error").axes[0]
    assert ax.get_ylabel() == "mean |⟨Z_j⟩ − exact ⟨Z_j⟩|"
    bars = {container.get_label(): container for container in ax.containers}
    errors = np.asarray(bars["shots only"].lines[0].get_ydata(), dtype=float)
    np.testing.assert_allclose(errors, [0.25, 0.125, 0.0625])
    with pytest.raises(ValueError, match="z_error"):
        plot_against_shots(mean_over_repeats(RUNS), "loss", "Loss")


def test_shots_table_indexes_by_setting_and_shots():
    table = shots_table(mean_over_repeats(RUNS))
    assert list(table.index.names) == ["setting", "shots"]
    assert table.loc[("shots only", 16), "accuracy"] == pytest.approx(0.65)
    assert table.loc[("shots only", 16), "accuracy_std"] == round(np.std([0.7, 0.6], ddof=1), 4)
    assert table.loc[("+ M3", 64), "repeats"] == 2


def test_describe_budget_states_the_criterion_the_shots_and_the_hardware_cost():
    plan = hardware_plan({"shots only": 256, "+ M3": None}, [64, 1024], 100)
    assert describe_budget(plan, 100, "accuracy", 0.02, 0.95).splitlines() == [
        "**A single run's test accuracy within ±0.02 of exact, with probability ≥ 95 %**, 100 "
        "images (from the spread of the single runs, every seed × repeat):",
        "- **shots only**: 256 shots per image; on hardware, 100 images take 100 circuits "
        "and 25,600 shots in all.",
        "- **+ M3**: not met even at the most shots tried (1,024 per image); on hardware, 100 "
        "images take 108 circuits and 122,400 shots in all.",
    ]
    z_error = describe_budget(plan, 100, "z_error", 0.05, 0.9).splitlines()[0]
    assert z_error.startswith(
        "**A single run's mean |⟨Z_j⟩ − exact ⟨Z_j⟩| at most 0.05, with probability ≥ 90 %**"
    )


def test_describe_device_names_the_device_its_size_and_gates():
    device = fake_device("FakeManilaV2")
    assert describe_device(device, 50) == (
        "50 test images; device fake_manila (5 qubits, gates ['cx', 'rz', 'sx', 'x'])"
    )


def test_factors_table_gives_each_models_mean_and_sd_over_seeds_per_nominal_factor():
    factors = {
        "hybrid": {0: {1: 1.0, 3: 3.1, 5: 5.2}, 1: {1: 1.0, 3: 2.9, 5: 5.0}},
        "product": {0: {1: 1.0, 3: 2.7, 5: 4.4}, 1: {1: 1.0, 3: 2.7, 5: 4.6}},
    }
    table = factors_table(factors)
    assert list(table.columns) == ["seeds", "λ = 3", "λ = 3 SD", "λ = 5", "λ = 5 SD"]
    assert table.loc["hybrid", "λ = 3"] == pytest.approx(3.0)
    assert table.loc["product", "λ = 5"] == pytest.approx(4.5)
    assert table.loc["hybrid", "λ = 5 SD"] == round(np.std([5.2, 5.0], ddof=1), 2)
    assert table.loc["product", "seeds"] == 2
