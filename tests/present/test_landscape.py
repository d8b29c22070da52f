"""Figures and generated conclusion of notebook 06 (loss landscapes, sharpness)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from helpers.analysis.landscape import Landscape
from helpers.analysis.landscape.spectrum import fourier_spectrum
from helpers.present.landscape import (
    displacement_table,
    invariance_table,
    normalisation_table,
    plot_landscape_1d,
    plot_landscape_2d,
    plot_periodic_landscape,
    plot_sharpness,
    plot_sharpness_invariance,
)
from helpers.present.landscape_text import describe_centres, describe_displacement, describe_dropped
from helpers.present.style import MODEL_COLOURS
from tests.present.figure_checks import assert_labels, check_figure, line_ydata, panels

ALPHAS = np.linspace(-1, 1, 5)


def _landscape_1d(kind: str, scale: float) -> Landscape:
    return Landscape(
        kind=kind,
        alphas=ALPHAS,
        betas=np.array([]),
        loss=scale * ALPHAS**2 + 0.1,
        accuracy=1 - 0.2 * np.abs(ALPHAS),
        centre_loss=0.1,
    )


def _landscape_2d(kind: str, scale: float, alphas=ALPHAS, betas=None) -> Landscape:
    betas = np.linspace(-1, 1, 4) if betas is None else betas
    a, b = np.meshgrid(alphas, betas, indexing="ij")
    return Landscape(kind, alphas, betas, scale * (a**2 + b**2) + 0.1, np.ones_like(a), 0.1)


def test_plot_landscape_1d_draws_loss_and_accuracy_per_model():
    landscapes = {
        "classical": _landscape_1d("classical", 1.0),
        "hybrid": _landscape_1d("hybrid", 2.0),
    }
    fig = plot_landscape_1d(landscapes, "One direction", xlabel="α (filter-normalised)")
    loss_ax, acc_ax = fig.axes
    check_figure(fig, "One direction")
    assert fig.get_suptitle() == "One direction"
    assert loss_ax.get_title() == "Loss along the direction (dot: trained model)"
    assert_labels(loss_ax, "α (filter-normalised)", "cross-entropy loss")
    assert_labels(acc_ax, "α (filter-normalised)", "accuracy")
    loss_lines = line_ydata(loss_ax)
    assert len(loss_lines) == 4  # a curve and a centre dot per model
    np.testing.assert_allclose(loss_lines[0], landscapes["classical"].loss)
    np.testing.assert_allclose(loss_lines[1], [0.1])
    np.testing.assert_allclose(loss_lines[2], landscapes["hybrid"].loss)
    np.testing.assert_allclose(loss_ax.lines[0].get_xdata(), ALPHAS)
    assert to_rgba(loss_ax.lines[2].get_color()) == to_rgba(MODEL_COLOURS["hybrid"])
    np.testing.assert_allclose(line_ydata(acc_ax)[1], landscapes["hybrid"].accuracy)
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["classical", "hybrid"]


def test_plot_landscape_1d_labels_alpha_by_default():
    fig = plot_landscape_1d({"hybrid": _landscape_1d("hybrid", 1.0)}, "Default label")
    check_figure(fig, "Default label")
    assert fig.axes[0].get_xlabel() == "α"


def test_plot_landscape_2d_draws_contours_heat_maps_and_surfaces_on_one_scale():
    landscapes = {
        "classical": _landscape_2d("classical", 1.0),
        "hybrid": _landscape_2d("hybrid", 3.0),
    }
    path = np.array([[0.5, 0.5], [0.25, 0.1], [0.0, 0.0]])
    fig = plot_landscape_2d(landscapes, "Two directions", trajectories={"hybrid": path})
    axes = panels(fig)
    assert len(axes) == 6
    check_figure(fig, "Two directions", axes)
    assert fig.get_suptitle() == "Two directions"
    assert [ax.get_title() for ax in axes] == [
        "classical: contours",
        "classical: heat map",
        "classical: surface",
        "hybrid: contours",
        "hybrid: heat map",
        "hybrid: surface",
    ]
    low, high = 1 / 9 + 0.1, 3.0 * (1 + 1) + 0.1  # classical min (β = ±1/3), hybrid max
    for row, name in enumerate(landscapes):
        contour_ax, heat_ax, surface_ax = axes[3 * row : 3 * row + 3]
        assert_labels(contour_ax, "α (direction 1)", "β (direction 2)")
        mesh = heat_ax.collections[0]
        np.testing.assert_allclose(
            np.asarray(mesh.get_array()).reshape(5, 4), landscapes[name].loss
        )
        assert mesh.get_clim() == pytest.approx((low, high))  # one scale for both models
        assert surface_ax.get_zlabel() == "loss"
        assert surface_ax.get_zlim() == pytest.approx((low, high))
        stars = [line for line in heat_ax.lines if line.get_label() == "trained model"]
        np.testing.assert_allclose(stars[0].get_xydata(), [[0, 0]])
    hybrid_contour = axes[3]
    trajectory = [
        line for line in hybrid_contour.lines if line.get_label() == "training trajectory"
    ]
    np.testing.assert_allclose(trajectory[0].get_xydata(), path)
    assert not [line for line in axes[0].lines if line.get_label() == "training trajectory"]


def test_plot_periodic_landscape_draws_the_surface_and_its_spectrum():
    period = np.linspace(-np.pi, np.pi, 6, endpoint=False)
    result = _landscape_2d("hybrid", 1.0, alphas=period, betas=period[:4])
    result.loss = np.cos(result.alphas)[:, None] + np.sin(2 * result.betas)[None, :] + 2
    spectrum = fourier_spectrum(result.loss)
    fig = plot_periodic_landscape(result, spectrum, "Periodic")
    surface_ax, spectrum_ax = panels(fig)
    check_figure(fig, "Periodic", [surface_ax, spectrum_ax])
    assert fig.get_suptitle() == "Periodic"
    assert_labels(surface_ax, "t (radians, direction 1)", "s (radians, direction 2)")
    assert_labels(spectrum_ax, "frequency along t", "frequency along s")
    assert spectrum_ax.get_title() == "Fourier spectrum of the mean ⟨Z_j⟩ (averaged over qubits)"
    assert not spectrum_ax.lines  # no bound unless asked for
    np.testing.assert_allclose(
        np.asarray(surface_ax.collections[0].get_array()).reshape(6, 4), result.loss
    )
    np.testing.assert_allclose(
        np.asarray(spectrum_ax.collections[0].get_array()).reshape(4, 6),
        np.log10(spectrum.T + 1e-12),
    )
    colourbars = [ax.get_ylabel() for ax in fig.axes if ax not in (surface_ax, spectrum_ax)]
    assert colourbars == ["loss", "log10 |Fourier coefficient|"]


def test_plot_periodic_landscape_names_what_the_spectrum_is_of_and_draws_the_bound():
    period = np.linspace(-np.pi, np.pi, 8, endpoint=False)
    result = _landscape_2d("hybrid", 1.0, alphas=period, betas=period)
    spectrum = fourier_spectrum(np.cos(period)[:, None] * np.cos(period)[None, :])
    fig = plot_periodic_landscape(result, spectrum, "Periodic", spectrum_of="the loss", bound=1)
    _, spectrum_ax = panels(fig)
    check_figure(fig, "Periodic")
    assert spectrum_ax.get_title() == "Fourier spectrum of the loss"
    (square,) = spectrum_ax.lines
    np.testing.assert_allclose(np.abs(square.get_xydata()), 1.5)  # around |frequency| <= 1
    assert square.get_label() == "|frequency| ≤ 1: what the circuit can express"
    np.testing.assert_allclose(
        np.asarray(spectrum_ax.collections[0].get_array()).reshape(8, 8),
        np.log10(spectrum.T + 1e-12),
    )


def test_plot_sharpness_draws_each_seed_paired_and_the_geometric_mean():
    values = {"classical": [0.01, 0.04, -0.5], "hybrid": [0.1, 0.4, 0.2]}
    fig = plot_sharpness(values, 0.5, "Adaptive sharpness over seeds", "angles fixed")
    ax = fig.axes[0]
    check_figure(fig, "Adaptive sharpness over seeds")
    assert_labels(ax, "model", "angles fixed at ρ = 0.5 (loss increase)")
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "classical\n1 of 3 seeds not positive",  # the count the ratio leaves out
        "hybrid",
    ]
    pairs = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert [list(line.get_ydata()) for line in pairs[:2]] == [[0.01, 0.1], [0.04, 0.4]]
    assert np.isnan(pairs[2].get_ydata()[0])  # a non-positive seed is not drawn
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert to_rgba(dots[1].get_color())[:3] == to_rgba(MODEL_COLOURS["hybrid"])[:3]
    means = [segments[0] for c in ax.collections for segments in [c.get_segments()]]
    assert [m[0][1] for m in means] == pytest.approx([0.02, 0.2])  # geometric means
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "one seed's models",
        "geometric mean over seeds",
    ]


def _invariance_rows(moving: float) -> list[dict[str, object]]:
    labels = ("as trained", "ReLU unit 0 × 0.2", "ReLU unit 0 × 20")
    return [
        {
            "reparametrisation": label,
            "max probability change": 1e-7,
            "adaptive sharpness, angles fixed": 0.02,
            "adaptive sharpness, with angles": 0.05,
            "filter-normalised increase": 0.01 * moving**k,
        }
        for k, label in enumerate(labels)
    ]


def test_plot_sharpness_invariance_draws_both_tests_per_model():
    reports = {"classical": _invariance_rows(3.0), "hybrid": _invariance_rows(10.0)}
    fig = plot_sharpness_invariance(reports, "Same function, same sharpness?")
    check_figure(fig, "Same function, same sharpness?")
    assert [ax.get_title() for ax in fig.axes] == ["classical", "hybrid"]
    for ax, moving in zip(fig.axes, (3.0, 10.0), strict=True):
        assert_labels(
            ax, "parameters (each computes the same function)", "mean loss increase at the radius"
        )
        assert ax.get_yscale() == "log"
        fixed, moved, filtered = ax.lines
        np.testing.assert_allclose(fixed.get_ydata(), [0.02] * 3)
        np.testing.assert_allclose(moved.get_ydata(), [0.05] * 3)
        np.testing.assert_allclose(filtered.get_ydata(), [0.01, 0.01 * moving, 0.01 * moving**2])
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "adaptive sharpness, angles fixed (the verdict)",
            "adaptive sharpness, with angles (exploratory)",
            "filter-normalised increase (exploratory)",
        ]
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "as trained",
            "ReLU unit 0 × 0.2",
            "ReLU unit 0 × 20",
        ]
    colour = to_rgba(fig.axes[1].lines[0].get_color())[:3]
    assert colour == to_rgba(MODEL_COLOURS["hybrid"])[:3]


def test_invariance_table_indexes_rows_by_model_and_reparametrisation():
    table = invariance_table({"classical": _invariance_rows(3.0)})
    assert list(table.index.names) == ["model", "reparametrisation"]
    assert table.loc[("classical", "ReLU unit 0 × 20"), "filter-normalised increase"] == (
        pytest.approx(0.09)
    )
    assert list(table.columns) == [
        "max probability change",
        "adaptive sharpness, angles fixed",
        "adaptive sharpness, with angles",
        "filter-normalised increase",
    ]


def test_describe_dropped_counts_each_models_seeds_left_out_of_the_ratio():
    text = describe_dropped({"classical": [0.1, 0.2, 0.0], "hybrid": [0.3, -0.1, float("nan")]})
    assert "classical 1 of 3, hybrid 2 of 3" in text
    assert "sharper" in text and "every seed" in text


def test_normalisation_table_indexes_rows_by_model_and_parameter():
    reports = {
        "classical": [{"parameter": "fc.weight", "ratio": 1.000012345, "filters": 4}],
        "hybrid": [
            {"parameter": "pre_net.weight", "ratio": 0.99999, "filters": 4},
            {"parameter": "q_params", "ratio": 1.23456789, "filters": 1},
        ],
    }
    table = normalisation_table(reports)
    assert list(table.index.names) == ["model", "parameter"]
    assert list(table.index) == [
        ("classical", "fc.weight"),
        ("hybrid", "pre_net.weight"),
        ("hybrid", "q_params"),
    ]
    assert table.loc[("classical", "fc.weight"), "ratio"] == 1.0
    assert table.loc[("hybrid", "q_params"), "ratio"] == 1.2346
    assert table.loc[("hybrid", "q_params"), "filters"] == 1


def _displacement_rows(quantum: bool) -> list[dict[str, object]]:
    circuit = {
        "parameter": "q_layer.weight",
        "shape": (20,),
        "norm_change": 0.061234,
        "norm_initial": 0.04,
        "norm_trained": 0.0734,
        "rms_angle_change": 0.0137,
    }
    total = {
        "parameter": "total",
        "shape": (2074,),
        "norm_change": 1.23456,
        "norm_initial": 12.3,
        "norm_trained": 12.4,
        "rms_angle_change": float("nan"),
    }
    return [circuit, total] if quantum else [{**total, "parameter": "fc.weight"}, total]


def test_displacement_table_indexes_rows_by_model_and_parameter_without_rounding():
    table = displacement_table(
        {"classical": _displacement_rows(False), "hybrid": _displacement_rows(True)}
    )
    assert list(table.index) == [
        ("classical", "fc.weight"),
        ("classical", "total"),
        ("hybrid", "q_layer.weight"),
        ("hybrid", "total"),
    ]
    assert table.loc[("hybrid", "q_layer.weight"), "norm_change"] == 0.061234
    assert table.loc[("hybrid", "q_layer.weight"), "rms_angle_change"] == 0.0137
    assert np.isnan(table.loc[("hybrid", "total"), "rms_angle_change"])


def test_describe_displacement_gives_the_circuit_weights_and_the_total_in_one_line():
    assert describe_displacement("hybrid", _displacement_rows(True)) == (
        "hybrid: training moved the circuit weights q_layer.weight by ‖w − w₀‖ = 0.0612 "
        "(0.0137 rad RMS per angle; ‖w₀‖ = 0.04, ‖w‖ = 0.0734) and all parameters by 1.23 "
        "(‖w₀‖ = 12.3, ‖w‖ = 12.4)."
    )
    assert describe_displacement("classical", _displacement_rows(False)) == (
        "classical: training moved all parameters by 1.23 (‖w₀‖ = 12.3, ‖w‖ = 12.4)."
    )


def test_describe_centres_puts_each_centre_beside_the_trained_loss():
    landscapes = {"classical": _landscape_1d("classical", 1.0)}
    landscapes["classical"].centre_loss = 0.12345678
    text = describe_centres(landscapes, {"classical": 0.1234571})
    assert text == "classical: centre of the landscape 0.123457, trained model's loss 0.123457"
