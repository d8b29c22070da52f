"""Figures and generated conclusions of notebook 03 (saliency)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer

from helpers.analysis import saliency
from helpers.analysis.saliency import Explanation, SaliencyScores
from helpers.present.saliency import (
    plot_explanation,
    plot_perturbation_curves,
    plot_saliency_comparison,
    plot_saliency_methods,
    plot_score_bars,
    plot_unit_saliency,
)
from helpers.present.saliency_text import (
    describe_accuracy,
    describe_convergence,
    describe_scores,
    describe_unit_similarity,
)
from helpers.present.style import MODEL_COLOURS, image_array
from tests.present.figure_checks import (
    assert_image,
    assert_labels,
    check_figure,
    images,
    line_ydata,
    panels,
)

CLASSES = ["ants", "bees"]
SIZE = 6


def _maps(n: int, seed: int, *shape: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, SIZE, SIZE, generator=generator)


def _scaled(maps: torch.Tensor) -> np.ndarray:
    """Each map divided by its own maximum."""
    return (maps / maps.flatten(1).amax(1).view(-1, *[1] * (maps.dim() - 1))).numpy()


def test_plot_saliency_comparison_overlays_scaled_maps_and_their_difference():
    batch = images(2, SIZE)
    maps = {"classical": 3 * _maps(2, 1), "hybrid": 0.5 * _maps(2, 2)}
    probabilities = {
        "classical": torch.tensor([[0.3, 0.7], [0.8, 0.2]]),
        "hybrid": torch.tensor([[0.6, 0.4], [0.1, 0.9]]),
    }
    labels = torch.tensor([1, 0])
    fig = plot_saliency_comparison(batch, labels, CLASSES, maps, probabilities, "Gradient maps")
    axes = np.array(panels(fig)).reshape(2, 4)
    check_figure(fig, "Gradient maps")
    assert fig.get_suptitle() == "Gradient maps"
    assert len(fig.axes) == 8 + 2  # one colour bar per difference panel
    scaled = {name: _scaled(m) for name, m in maps.items()}
    assert [ax.get_title() for ax in axes[0]] == [
        "true bees",
        "classical: bees (70%)",
        "hybrid: ants (60%)",
        "hybrid − classical",
    ]
    assert axes[1, 2].get_title() == "hybrid: bees (90%)"
    for row in range(2):
        picture = image_array(batch[row])
        assert_image(axes[row, 0], picture)
        for column, name in enumerate(maps, start=1):
            assert_image(axes[row, column], picture, 0)
            assert_image(axes[row, column], scaled[name][row], 1)
            assert axes[row, column].images[1].get_clim() == (0, 1)
        assert_image(axes[row, 3], scaled["hybrid"][row] - scaled["classical"][row])
        assert axes[row, 3].images[0].get_clim() == (-1, 1)


def test_plot_explanation_titles_the_method_and_image_and_omits_the_truth():
    explanation = Explanation(
        name="my_cat.jpg",
        method="integrated_gradients",
        image=images(1, SIZE),
        maps={"classical": _maps(1, 3), "hybrid": _maps(1, 4)},
        probabilities={
            "classical": torch.tensor([[0.25, 0.75]]),
            "hybrid": torch.tensor([[0.5, 0.5]]),
        },
    )
    fig = plot_explanation(explanation, CLASSES)
    title = "integrated gradients saliency of my_cat.jpg"
    check_figure(fig, title)
    assert fig.get_suptitle() == title
    axes = panels(fig)
    assert axes[0].get_title() == "input"
    assert axes[1].get_title() == "classical: bees (75%)"
    assert_image(axes[0], image_array(explanation.image[0]))
    assert_image(axes[2], _scaled(explanation.maps["hybrid"])[0], 1)


def test_plot_saliency_methods_shows_every_method_and_model():
    batch = images(2, SIZE)
    maps = {
        "gradient": {"classical": _maps(2, 5), "hybrid": _maps(2, 6)},
        "smooth_grad": {"classical": _maps(2, 7), "hybrid": _maps(2, 8)},
    }
    fig = plot_saliency_methods(batch, maps, "Methods")
    axes = np.array(fig.axes).reshape(2, 5)
    check_figure(fig, "Methods")
    assert [ax.get_title() for ax in axes[0]] == [
        "input",
        "gradient\nclassical",
        "gradient\nhybrid",
        "smooth grad\nclassical",
        "smooth grad\nhybrid",
    ]
    assert_image(axes[1, 0], image_array(batch[1]))
    assert_image(axes[1, 3], image_array(batch[1]), 0)
    assert_image(axes[1, 3], _scaled(maps["smooth_grad"]["classical"])[1], 1)
    assert_image(axes[0, 2], _scaled(maps["gradient"]["hybrid"])[0], 1)


def test_plot_unit_saliency_scales_each_row_by_its_largest_map():
    batch = images(2, SIZE)
    unit_maps = {"classical": _maps(2, 9, 3), "hybrid": _maps(2, 10, 4)}
    unit_values = {
        "classical": torch.tensor([[0.5, -0.25, 1.0], [0.0, 0.1, 0.2]]),
        "hybrid": torch.tensor([[0.1, 0.2, 0.3, -0.4], [0.5, 0.6, 0.7, 0.8]]),
    }
    names = {"classical": "h", "hybrid": "<Z>"}
    fig = plot_unit_saliency(batch, unit_maps, unit_values, names, "Units")
    axes = np.array(fig.axes).reshape(4, 5)  # (image, model) rows; image + the most units
    filled = [ax for ax in fig.axes if ax.images]
    assert len(filled) == 2 * (1 + 3) + 2 * (1 + 4)
    check_figure(fig, "Units", filled)
    assert [ax.get_title() for ax in axes[:, 0]] == [
        "image 0: classical",
        "image 0: hybrid",
        "image 1: classical",
        "image 1: hybrid",
    ]
    assert axes[0, 1].get_title() == "h 0: +0.50"
    assert axes[0, 2].get_title() == "h 1: -0.25"
    assert axes[1, 4].get_title() == "<Z> 3: -0.40"
    assert not axes[0, 4].images  # the classical head has one unit fewer
    row_maps = unit_maps["hybrid"][1]
    assert_image(axes[3, 2], (row_maps[1] / row_maps.max()).numpy(), 1)
    assert_image(axes[3, 2], image_array(batch[1]), 0)


def _curves(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {model: torch.rand(4, 5, generator=generator) for model in ("classical", "hybrid")}


def _scores(method: str, seed: int) -> SaliencyScores:
    return SaliencyScores(
        method=method,
        deletion_curves=_curves(seed),
        insertion_curves=_curves(seed + 1),
        rank_correlation=np.zeros(4),
        pointing=None,
    )


def test_plot_perturbation_curves_draws_mean_curves_per_method_and_model():
    scores = {"gradient": _scores("gradient", 0), "random": _scores("random", 2)}
    fig = plot_perturbation_curves(scores, "Perturbation", normalised=False)
    deletion_ax, insertion_ax = fig.axes
    check_figure(fig, "Perturbation")
    assert deletion_ax.get_title() == "Deletion (lower area is better)"
    assert insertion_ax.get_title() == "Insertion (higher area is better)"
    assert_labels(deletion_ax, "fraction of pixels removed", "probability of the explained class")
    assert_labels(insertion_ax, "fraction of pixels inserted")
    for ax, mode in ((deletion_ax, "deletion_curves"), (insertion_ax, "insertion_curves")):
        assert len(ax.lines) == 4
        assert len(ax.collections) == 4  # ± standard error bands
        expected = [
            getattr(score, mode)[model].mean(0).numpy()
            for score in scores.values()
            for model in ("classical", "hybrid")
        ]
        for ydata, mean in zip(line_ydata(ax), expected, strict=True):
            np.testing.assert_allclose(ydata, mean, rtol=1e-6)
        np.testing.assert_allclose(ax.lines[0].get_xdata(), np.linspace(0, 1, 5))
        assert to_rgba(ax.lines[1].get_color()) == to_rgba(MODEL_COLOURS["hybrid"])
        assert ax.lines[0].get_linestyle() != ax.lines[2].get_linestyle()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "classical, gradient",
            "hybrid, gradient",
            "classical, random",
            "hybrid, random",
        ]


# Three images, three points per curve; ends fixed per (model, mode), middles per method. The
# intact image's probability (deletion's start, insertion's end) is the same for both modes; the
# classical model explains its last image at 0.51, within 0.02 of chance (0.5): excluded. The
# hybrid's middle image ends deletion above its start (the blank image's class): kept.
ENDS = {
    ("deletion", "classical"): [(0.9, 0.1), (0.8, 0.4), (0.51, 0.3)],
    ("deletion", "hybrid"): [(0.7, 0.3), (0.6, 0.9), (0.8, 0.2)],
    ("insertion", "classical"): [(0.2, 0.9), (0.3, 0.8), (0.5, 0.51)],
    ("insertion", "hybrid"): [(0.5, 0.7), (0.6, 0.6), (0.4, 0.8)],
}
TARGETS = {"classical": torch.tensor([0, 1, 0]), "hybrid": torch.tensor([0, 1, 1])}


def _ended_scores(method: str, middle: float, completeness=None) -> SaliencyScores:
    curves: dict[str, dict[str, torch.Tensor]] = {"deletion": {}, "insertion": {}}
    for (mode, model), ends in ENDS.items():
        curves[mode][model] = torch.tensor([[a, middle, b] for a, b in ends])
    rank = np.array([0.1, 0.2, 0.3])
    return SaliencyScores(
        method, *curves.values(), rank, None, completeness, chance=0.5, targets=TARGETS
    )


def test_plot_perturbation_curves_shows_normalised_curves_and_the_excluded_images():
    scores = {"gradient": _ended_scores("gradient", 0.5), "random": _ended_scores("random", 0.6)}
    fig = plot_perturbation_curves(scores, "Normalised")  # normalised is the default
    deletion_ax, insertion_ax = fig.axes
    check_figure(fig, "Normalised")
    excluded = "classical 1, hybrid 0 of 3 images excluded (explained at chance)"
    assert deletion_ax.get_title() == (
        f"Deletion, normalised per image (lower area is better)\n{excluded}"
    )
    assert insertion_ax.get_title() == (
        f"Insertion, normalised per image (higher area is better)\n{excluded}"
    )
    assert_labels(deletion_ax, ylabel="probability above chance: 1 intact, 0 chance")
    assert_labels(insertion_ax, ylabel="probability above chance: 1 intact, 0 chance")
    # (p - 0.5) / (p_intact - 0.5); the gradient's middle 0.5 is chance: 0. Classical deletion,
    # images 0, 1: ends -1 and -1/3; hybrid, all three: -1, 4, -1
    expected_deletion = [[1, 0, -2 / 3], [1, 0, 2 / 3]]
    # insertion starts: classical -0.75, -2/3; hybrid 0, 1, -1/3
    expected_insertion = [[-(0.75 + 2 / 3) / 2, 0, 1], [2 / 9, 0, 1]]
    for ax, expected in ((deletion_ax, expected_deletion), (insertion_ax, expected_insertion)):
        ydata = line_ydata(ax)
        assert len(ydata) == 4 and np.allclose(ydata[:2], expected, atol=1e-6)
        assert np.isfinite(ydata).all()  # excluded images are left out, not propagated
    raw = plot_perturbation_curves(scores, "Raw", normalised=False)
    np.testing.assert_allclose(line_ydata(raw.axes[0])[0], [0.73667, 0.5, 0.26667], atol=1e-4)


def test_describe_scores_states_the_normalised_gains_completeness_gap_and_exclusions():
    gaps = {"classical": np.array([0.01, 0.03, np.nan]), "hybrid": np.array([0.1, 0.2, 0.3])}
    scores = {
        "gradient": _ended_scores("gradient", 0.5),
        "integrated_gradients": _ended_scores("integrated_gradients", 0.4, gaps),
        "random": _ended_scores("random", 0.6),
    }
    gains = saliency.gains_over_random(scores)
    lines = describe_scores(saliency.score_rows(scores), gains).splitlines()
    assert (
        len(lines) == 4
        and lines[-1] == "- All ± are standard errors over images, for one seed's models."
    )
    # middle 0.5 vs random 0.6 on images 0, 1 (image 2 excluded): the area differs by half the
    # normalised middles' difference, 0.1 / 0.4 and 0.1 / 0.3
    assert gains[0]["model"] == "classical"
    assert gains[0]["deletion_gain"] == pytest.approx((0.125 + 0.05 / 0.3) / 2)
    assert "normalised deletion gain over random maps: classical 0.146 ± 0.021" in lines[0]
    assert "normalised insertion gain over random maps: classical" in lines[0]
    assert "completeness" not in lines[0]
    assert lines[1].startswith("- **integrated gradients**:")
    assert (
        "completeness gap |Σ attributions − ΔF| / |ΔF| (ΔF = F(x) − F(baseline), F the explained "
        "logit): classical 0.020 ± 0.010, hybrid 0.200 ± 0.058" in lines[1]
    )
    assert lines[2] == (
        "- Normalised curves leave out images whose intact probability of the explained class is "
        "within 0.02 of chance: classical 1 of 3 (kept per explained class: 1, 1); hybrid 0 of 3 "
        "(kept per explained class: 1, 2); the same images for both curves and every method."
    )


def _score_rows() -> list[dict[str, object]]:
    values = {
        ("gradient", "classical"): (0.10, 0.01),
        ("gradient", "hybrid"): (0.20, 0.02),
        ("smooth_grad", "classical"): (0.30, 0.03),
        ("smooth_grad", "hybrid"): (0.40, 0.04),
    }
    return [
        {"method": method, "model": model, "deletion_gain": mean, "deletion_gain_se": error}
        for (method, model), (mean, error) in values.items()
    ]


def test_plot_score_bars_groups_bars_with_error_bars_and_a_reference_line():
    fig = plot_score_bars(_score_rows(), "deletion_gain", "Gains", "gain", reference=0.25)
    ax = fig.axes[0]
    check_figure(fig, "Gains")
    assert ax.get_title() == "Gains"
    assert_labels(ax, ylabel="gain")
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2  # one group of bars per model
    np.testing.assert_allclose([p.get_height() for p in bars[0].patches], [0.10, 0.30])
    np.testing.assert_allclose([p.get_height() for p in bars[1].patches], [0.20, 0.40])
    assert to_rgba(bars[1].patches[0].get_facecolor()) == to_rgba(MODEL_COLOURS["hybrid"])
    assert bars[0].patches[0].get_x() < bars[1].patches[0].get_x()  # classical left of hybrid
    segments = bars[1].errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], [0.04, 0.08])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["gradient", "smooth grad"]
    reference = [line for line in ax.lines if line.get_label() == "chance"]
    assert len(reference) == 1
    np.testing.assert_allclose(reference[0].get_ydata(), [0.25, 0.25])


def test_describe_unit_similarity_states_each_models_mean_and_error():
    text = describe_unit_similarity({"classical": (0.12345, 0.0456), "hybrid": (0.5, 0.01)})
    assert text.splitlines() == [
        "classical: mean rank correlation between the maps of different units 0.123 ± 0.046 "
        "(± SE over images; one seed's model)",
        "hybrid: mean rank correlation between the maps of different units 0.500 ± 0.010 "
        "(± SE over images; one seed's model)",
    ]


def test_describe_scores_states_the_numbers_and_the_verdicts():
    rows = [
        {
            "method": "gradient",
            "model": model,
            "rank_corr_classical_hybrid": 0.4321,
            "rank_corr_classical_hybrid_se": 0.0123,
            "rank_corr_images": 12,
            "pointing_game": pointing,
            "pointing_game_se": 0.1,
        }
        for model, pointing in (("classical", 0.6), ("hybrid", 0.7))
    ]
    gains = [
        {
            "method": "gradient",
            "model": "classical",
            "deletion_gain": 0.10,
            "deletion_gain_se": 0.01,
            "insertion_gain": 0.30,
            "insertion_gain_se": 0.05,
        },
        {
            "method": "gradient",
            "model": "hybrid",
            "deletion_gain": 0.20,
            "deletion_gain_se": 0.01,
            "insertion_gain": 0.32,
            "insertion_gain_se": 0.05,
        },
    ]
    text = describe_scores(rows, gains, chance=0.25)
    lines = text.splitlines()
    assert (
        len(lines) == 3
        and lines[-1] == "- All ± are standard errors over images, for one seed's models."
    )
    assert lines[0].startswith("- **gradient**: classical-hybrid rank correlation 0.432 ± 0.012")
    assert "(12 images with non-constant maps)" in lines[0]
    # one seed's values, described: the verdicts are paired over seeds (saliency_results)
    assert (
        "deletion gain over random maps: classical 0.100 ± 0.010, hybrid 0.200 ± 0.010;" in lines[0]
    )
    assert (
        "insertion gain over random maps: classical 0.300 ± 0.050, hybrid 0.320 ± 0.050;"
        in (lines[0])
    )
    assert "better" not in text and "difference" not in text
    assert "pointing game: classical 0.600 ± 0.100, hybrid 0.700 ± 0.100" in lines[0]
    assert lines[1] == "- The pointing game's chance level is 25%."


def test_describe_scores_without_pointing_game_or_chance():
    rows = [
        {
            "method": "smooth_grad",
            "model": model,
            "rank_corr_classical_hybrid": 0.2,
            "rank_corr_classical_hybrid_se": 0.1,
            "rank_corr_images": 3,
        }
        for model in ("classical", "hybrid")
    ]
    gains = [
        {
            "method": "smooth_grad",
            "model": model,
            "deletion_gain": value,
            "deletion_gain_se": 0.01,
            "insertion_gain": value,
            "insertion_gain_se": 0.01,
        }
        for model, value in (("classical", 0.5), ("hybrid", 0.1))
    ]
    text = describe_scores(rows, gains)
    assert text.startswith("- **smooth grad**: classical-hybrid rank correlation 0.200 ± 0.100")
    assert "pointing" not in text
    assert text.count("classical 0.500 ± 0.010, hybrid 0.100 ± 0.010") == 2
    assert "better" not in text
    assert text.splitlines()[1:] == [
        "- All ± are standard errors over images, for one seed's models."
    ]


@pytest.mark.parametrize(("model", "accuracy"), [("classical", "0.750"), ("hybrid", "0.500")])
def test_describe_accuracy_states_each_models_accuracy(model, accuracy):
    probabilities = {
        "classical": torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]),
        "hybrid": torch.tensor([[0.6, 0.4], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]),
    }
    labels = torch.tensor([0, 1, 1, 1])
    text = describe_accuracy(probabilities, labels)
    assert f"{model}: accuracy {accuracy} on these 4 images" in text.splitlines()


def test_models_where_integrated_gradients_did_not_converge_are_named():
    gaps = {
        (0, "hybrid"): np.array([0.01, 0.02, np.nan]),
        (1, "classical"): np.array([1.0, 0.9, 1.0]),
        (1, "product"): np.array([np.nan]),  # no defined gap: nothing to converge
    }
    text = describe_convergence(gaps)
    assert text.startswith(
        "Integrated Gradients did not converge for 1 of 3 models at the cap of 32 steps"
    )
    assert "seed 1 classical (100 %)" in text and "hybrid" not in text
