"""Figures and text of notebook 08 (shots and device noise)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.analysis.noise import fake_device, summarise
from helpers.present.noise import describe_device, plot_accuracy_vs_shots, shots_table
from tests.present.figure_checks import assert_labels, check_figure

RUNS = [
    {"noise": "exact", "shots": None, "accuracy": 0.9},
    *(
        {"noise": "shots only", "shots": shots, "accuracy": accuracy}
        for shots, accuracy in ((64, 0.8), (64, 0.84), (16, 0.7), (16, 0.6), (256, 0.88))
    ),
    *(
        {"noise": "FakeManilaV2", "shots": shots, "accuracy": accuracy}
        for shots, accuracy in ((256, 0.8), (16, 0.5), (64, 0.7), (64, 0.76))
    ),
]


def test_plot_accuracy_vs_shots_draws_error_bars_per_noise_and_the_exact_line():
    summary = summarise(RUNS)
    fig = plot_accuracy_vs_shots(summary, "Shots")
    ax = fig.axes[0]
    check_figure(fig, "Shots")
    assert ax.get_title() == "Shots"
    assert_labels(ax, "shots per expectation value", "test accuracy")
    assert ax.get_xscale() == "log"
    assert ax.xaxis.get_transform().base == 2
    bars = {container.get_label(): container for container in ax.containers}
    assert list(bars) == ["shots only", "FakeManilaV2"]
    data = [bars[noise].lines[0] for noise in bars]
    shots_only, manila = (np.asarray(line.get_data(), dtype=float) for line in data)
    np.testing.assert_allclose(shots_only[0], [16, 64, 256])  # sorted by shots
    np.testing.assert_allclose(shots_only[1], [0.65, 0.82, 0.88])  # mean over repeats
    np.testing.assert_allclose(manila, [[16, 64, 256], [0.5, 0.73, 0.8]])
    exact = [line for line in ax.lines if line.get_label() == "exact (statevector)"]
    np.testing.assert_allclose(exact[0].get_ydata(), [0.9, 0.9])
    # ± one standard deviation over repeats: 16 shots without noise, sd of (0.7, 0.6)
    segments = bars["shots only"].lines[2][0].get_segments()
    np.testing.assert_allclose(
        segments[0][1, 1] - segments[0][0, 1], 2 * np.std([0.7, 0.6], ddof=1)
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "exact (statevector)",
        "shots only",
        "FakeManilaV2",
    ]


def test_shots_table_indexes_by_noise_and_shots():
    table = shots_table(summarise(RUNS))
    assert list(table.index.names) == ["noise", "shots"]
    assert table.loc[("shots only", 16), "accuracy"] == pytest.approx(0.65)
    assert table.loc[("shots only", 16), "accuracy_std"] == round(np.std([0.7, 0.6], ddof=1), 4)
    assert table.loc[("FakeManilaV2", 64), "repeats"] == 2


def test_describe_device_names_the_device_its_size_and_gates():
    device = fake_device("FakeManilaV2")
    assert describe_device(device, 50) == (
        "50 test images; device fake_manila (5 qubits, gates ['cx', 'rz', 'sx', 'x'])"
    )
