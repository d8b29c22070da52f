"""Saliency maps and their scores: exact constructed cases, batch consistency, the smoke model."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from helpers.analysis import saliency
from helpers.analysis.saliency.maps import (
    MethodMaps,
    attribution_maps,
    explain_methods,
    integrated_gradients,
    rank_correlation,
)
from helpers.analysis.saliency.scores import (
    curve_area,
    normalise_curves,
    perturbation_curves,
    pointing_game,
    saliency_order,
    score_methods,
    score_saliency,
)
from helpers.analysis.saliency.seeds import SIMILARITY
from helpers.analysis.stats import mean_and_error
from helpers.model.backbone import load_backbone
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits, pil_image
from helpers.model.heads import DressedQuantumHead, TransferModel
from helpers.present.saliency import plot_explanation
from helpers.present.saliency_text import describe_scores
from helpers.present.tables import rows_frame

SIZE = 8
REGION = (slice(2, 5), slice(3, 7))  # rows, columns the constructed model looks at


def region_model() -> nn.Module:
    """Logits that are linear in the pixels of REGION only (weights differ per channel/class)."""
    torch.manual_seed(0)
    weight = torch.zeros(2, 3, SIZE, SIZE)
    weight[:, :, REGION[0], REGION[1]] = torch.randn(2, 3, 3, 4)
    linear = nn.Linear(3 * SIZE * SIZE, 2)
    with torch.no_grad():
        linear.weight.copy_(weight.flatten(1))
        linear.bias.zero_()
    return nn.Sequential(nn.Flatten(), linear).eval()


def region_mask() -> torch.Tensor:
    mask = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    mask[REGION] = True
    return mask


@pytest.mark.parametrize("method", saliency.METHODS)
def test_saliency_of_a_model_that_sees_one_region_is_exactly_there(method):
    model = region_model()
    images = torch.randn(5, 3, SIZE, SIZE)
    targets = torch.tensor([0, 1, 0, 1, 1])
    maps = attribution_maps(model, images, targets, method)
    assert maps.shape == (5, SIZE, SIZE)
    assert torch.all(maps[:, ~region_mask()] == 0)
    assert torch.all(maps[:, region_mask()] > 0)
    weight = model[1].weight.view(2, 3, SIZE, SIZE)
    if method != "integrated_gradients":  # gradient of a linear logit: max_c |w_c|, everywhere
        expected = weight[targets].abs().amax(dim=1)
        torch.testing.assert_close(maps, expected.expand_as(maps), rtol=1e-5, atol=1e-6)
    else:  # IG from a zero baseline of a linear function: |sum_c x * w|
        expected = (images * weight[targets]).sum(dim=1).abs()
        torch.testing.assert_close(maps, expected, rtol=1e-4, atol=1e-5)
    assert pointing_game(maps, region_mask().expand(5, -1, -1)).all()


@pytest.fixture(scope="module")
def hybrid_model():
    torch.manual_seed(1)
    return TransferModel(load_backbone("none", seed=0), DressedQuantumHead(4, 2, 2)).eval()


@pytest.mark.parametrize("method", ["gradient", "integrated_gradients"])
def test_batch_and_single_image_maps_agree(hybrid_model, method):
    images = torch.randn(4, 3, 32, 32)
    targets = torch.tensor([0, 1, 1, 0])
    batch = attribution_maps(hybrid_model, images, targets, method, ig_steps=8)
    single = torch.cat(
        [
            attribution_maps(
                hybrid_model, images[i : i + 1], targets[i : i + 1], method, ig_steps=8
            )
            for i in range(4)
        ]
    )
    torch.testing.assert_close(batch, single, rtol=1e-4, atol=1e-7)
    assert batch.abs().sum() > 0


def test_unit_saliency_is_each_units_input_gradient():
    linear = nn.Linear(3 * SIZE * SIZE, 4)
    model = nn.Sequential(nn.Flatten(), linear, nn.Linear(4, 2))
    images = torch.randn(3, 3, SIZE, SIZE)
    maps, values = saliency.unit_saliency(model, images, linear)
    assert maps.shape == (3, 4, SIZE, SIZE)
    torch.testing.assert_close(values, linear(images.flatten(1)).detach())
    expected = linear.weight.detach().view(4, 3, SIZE, SIZE).abs().amax(dim=1)
    torch.testing.assert_close(maps, expected.expand(3, -1, -1, -1))


def test_qubit_saliency_matches_autograd_through_the_circuit(hybrid_model):
    images = torch.randn(2, 3, 32, 32)
    maps, q_out = saliency.unit_saliency(hybrid_model, images, hybrid_model.head.q_layer)
    assert maps.shape == (2, 4, 32, 32) and q_out.abs().max() <= 1
    image = images[:1].clone().requires_grad_(True)
    head = hybrid_model.head
    q = head.q_layer(head.encode(head.pre_net(hybrid_model.backbone(image))))
    (grad,) = torch.autograd.grad(q[0, 2], image)
    torch.testing.assert_close(maps[0, 2], grad[0].abs().amax(dim=0), rtol=1e-4, atol=1e-7)


def test_rank_correlation_is_spearman_and_undefined_for_constant_maps():
    a, b = torch.rand(3, 5, 5), torch.rand(3, 5, 5)
    b[2] = 0
    values = rank_correlation(a, b)
    for i in range(2):
        assert values[i] == pytest.approx(spearmanr(a[i].flatten(), b[i].flatten()).statistic)
    assert np.isnan(values[2])
    assert rank_correlation(a, a) == pytest.approx(np.ones(3))


def test_pointing_game_with_and_without_tolerance():
    masks = torch.zeros(2, 6, 6, dtype=torch.bool)
    masks[:, 0:2, 0:2] = True
    maps = torch.zeros(2, 6, 6)
    maps[0, 1, 1] = 1  # on the object
    maps[1, 3, 1] = 1  # two rows below it
    assert pointing_game(maps, masks).tolist() == [True, False]
    assert pointing_game(maps, masks, tolerance=1).tolist() == [True, False]
    assert pointing_game(maps, masks, tolerance=2).tolist() == [True, True]


def test_deletion_and_insertion_curves_follow_the_saliency_order():
    model = region_model()
    torch.manual_seed(3)
    images = torch.randn(6, 3, SIZE, SIZE) + model[1].weight.view(2, 3, SIZE, SIZE)[0]
    targets = model(images).argmax(1)
    probabilities = saliency.predict(model, images).gather(1, targets[:, None])[:, 0]
    faithful = attribution_maps(model, images, targets, "gradient")
    backwards = -faithful
    deletion = perturbation_curves(
        model, images, targets, saliency_order(faithful), "deletion", steps=8
    )
    torch.testing.assert_close(deletion[:, 0], probabilities)  # nothing removed yet
    torch.testing.assert_close(deletion[:, -1], torch.full((6,), 0.5))  # all pixels at the mean
    late = perturbation_curves(
        model, images, targets, saliency_order(backwards), "deletion", steps=8
    )
    torch.testing.assert_close(late[:, :5], probabilities[:, None].expand(-1, 5))  # region kept
    assert (curve_area(deletion) < curve_area(late)).all()
    insertion = perturbation_curves(
        model,
        images,
        targets,
        saliency_order(faithful),
        "insertion",
        steps=8,
        memory_budget_mb=1,
    )
    torch.testing.assert_close(insertion[:, -1], probabilities)  # everything inserted
    assert curve_area(torch.ones(1, 5)) == pytest.approx(1.0)


class Tempered(nn.Module):
    """``model`` with every class probability squeezed towards 1/C: p -> 1/C + scale (p - 1/C),
    an affine map of the probability with a ceiling below 1 (like the hybrid head's)."""

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        probabilities = self.model(images).softmax(dim=1)
        uniform = 1 / probabilities.shape[1]
        return torch.log(uniform + self.scale * (probabilities - uniform))  # softmax undoes log


def test_normalised_curves_do_not_depend_on_an_affine_probability_scale():
    model = region_model()
    tempered = Tempered(model, 0.3)
    torch.manual_seed(4)
    # moderately confident images: saturated ones (p = 1 blurred and sharp) give flat curves
    images = 0.05 * (torch.randn(8, 3, SIZE, SIZE) + model[1].weight.view(2, 3, SIZE, SIZE)[0])
    targets = model(images).argmax(1)
    maps = attribution_maps(model, images, targets, "gradient")
    models = {"classical": model, "hybrid": tempered}
    scores = {
        method: score_saliency(
            models, images, {"classical": m, "hybrid": m}, {n: targets for n in models}, method
        )
        for method, m in (("gradient", maps), ("random", torch.rand(8, SIZE, SIZE)))
    }
    gradient = scores["gradient"]
    for mode in saliency.MODES:
        raw = gradient.curves(mode, normalised=False)
        assert raw["hybrid"].max() <= 0.5 + 0.3 / 2 < raw["classical"].max()
        assert not torch.allclose(raw["hybrid"], raw["classical"], atol=0.05)
        normalised = gradient.curves(mode)
        assert not normalised["classical"].isnan().any()  # no image excluded for either model
        torch.testing.assert_close(normalised["hybrid"], normalised["classical"])
        intact = 0 if mode == "deletion" else -1
        torch.testing.assert_close(normalised["hybrid"][:, intact], torch.ones(8))
    rows = {row["model"]: row for row in gradient.summary()}
    gains = {row["model"]: row for row in saliency.gains_over_random(scores)}
    for score in ("deletion_auc", "insertion_auc"):
        assert rows["hybrid"][score] == pytest.approx(rows["classical"][score], abs=1e-6)
        assert rows["hybrid"][f"{score}_raw"] != pytest.approx(rows["classical"][f"{score}_raw"])
    for score in ("deletion_gain", "insertion_gain"):
        assert gains["hybrid"][score] == pytest.approx(gains["classical"][score], abs=1e-6)
        assert gains["classical"][score] > 0  # the true region first beats random order
        # in probability units the squeezed model's gain shrinks with its scale
        raw = f"{score}_raw"
        assert gains["hybrid"][raw] == pytest.approx(0.3 * gains["classical"][raw], rel=1e-4)


def test_curves_are_normalised_against_chance_and_images_at_chance_excluded():
    curves = torch.tensor(
        [
            [0.9, 0.6, 0.3, 0.1],  # falls from 0.4 above chance to 0.4 below it
            [0.51, 0.52, 0.50, 0.49],  # intact at 0.51: within MIN_CURVE_CHANGE of chance
            [0.7, 0.8, 0.9, 0.95],  # rises towards the blank image's class: still defined
            [0.5 + 1.5 * saliency.MIN_CURVE_CHANGE, 0.5, 0.5, 0.5],  # just informative
        ]
    )
    deletion = normalise_curves(curves, "deletion", chance=0.5)
    torch.testing.assert_close(deletion[0], torch.tensor([1.0, 0.25, -0.5, -1.0]))
    torch.testing.assert_close(deletion[2], torch.tensor([1.0, 1.5, 2.0, 2.25]))
    assert deletion[1].isnan().all() and not deletion[[0, 2, 3]].isnan().any()
    insertion = normalise_curves(curves, "insertion", chance=0.5)  # the intact image is last
    torch.testing.assert_close(insertion[2], torch.tensor([4 / 9, 6 / 9, 8 / 9, 1.0]))
    assert insertion[[0, 1, 3]].isnan().all()  # intact (last) within 0.02 of chance
    with pytest.raises(ValueError, match="use 'deletion' or 'insertion'"):
        normalise_curves(curves, "erosion", chance=0.5)

    def scores(method: str, middle: float) -> saliency.SaliencyScores:
        shifted = curves.clone()
        shifted[:, 1] = middle  # the map changes the middle of a curve, never its end points
        targets = {"classical": torch.tensor([0, 1, 1, 0])}
        return saliency.SaliencyScores(
            method, {"classical": shifted}, {"classical": shifted}, np.zeros(4), None,
            targets=targets,
        )  # fmt: skip

    gradient, random = scores("gradient", 0.5), scores("random", 0.8)
    (row,) = gradient.summary()
    assert (row["images"], row["kept"], row["kept_by_class"]) == (4, 3, [2, 1])
    areas = gradient.area("deletion")["classical"]
    assert np.isnan(areas[1]) and np.isfinite(areas[[0, 2, 3]]).all()
    assert row["deletion_auc"] == pytest.approx(areas[[0, 2, 3]].mean())
    raw_areas = curve_area(gradient.deletion_curves["classical"])
    assert row["deletion_auc_raw"] == pytest.approx(raw_areas.mean())  # every image
    (gain,) = saliency.gains_over_random({"gradient": gradient, "random": random})
    # paired over images 0, 2 and 3; there a middle point 0.3 lower in probability lowers the
    # normalised area by 0.3 / (3 * (p_intact - chance))
    expected = np.mean([0.3 / (3 * 0.4), 0.3 / (3 * 0.2), 0.3 / (3 * 1.5 * 0.02)])
    assert gain["deletion_gain"] == pytest.approx(expected, rel=1e-4)
    assert gain["deletion_gain_raw"] == pytest.approx(0.1)  # all four images, 0.3 / 3


def blank_biased_model() -> nn.Module:
    """The region model with a bias: the mean-colour image (zeros) is class 0 with p = 0.95,
    like the CIFAR models whose blank image is an "airplane"."""
    model = region_model()
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([np.log(19.0), 0.0]))
    return model


def test_deletion_keeps_the_images_of_the_class_the_blank_image_is_given():
    model = blank_biased_model()
    torch.manual_seed(6)
    weights = model[1].weight.view(2, 3, SIZE, SIZE)
    towards_one = weights[1] - weights[0]
    images = torch.randn(12, 3, SIZE, SIZE) * 0.05
    images[:6] += 0.02 * towards_one  # class 0, less surely than the blank image
    images[6:] += 0.1 * towards_one  # class 1
    targets = model(images).argmax(1)
    assert set(targets.tolist()) == {0, 1}
    maps = attribution_maps(model, images, targets, "gradient")
    score = score_saliency(
        {"hybrid": model}, images, {"hybrid": maps}, {"hybrid": targets}, "gradient"
    )
    raw = score.deletion_curves["hybrid"]
    blank_class = targets == 0
    # the defect's condition: for the blank image's class the curve ends above where it starts,
    # so end-point normalisation had no fall to measure and dropped every such image
    assert (raw[blank_class, -1] >= raw[blank_class, 0]).all()
    kept = score.kept()["hybrid"]
    assert kept.all()  # both classes kept
    (row,) = score.summary()
    assert row["kept_by_class"] == [int(blank_class.sum()), int((~blank_class).sum())]
    assert np.isfinite(score.area("deletion")["hybrid"]).all()


def test_curves_have_at_least_sixteen_points_by_default():
    model = region_model()
    images = torch.randn(3, 3, SIZE, SIZE)
    targets = model(images).argmax(1)
    order = saliency_order(torch.rand(3, SIZE, SIZE))
    for mode in saliency.MODES:
        assert perturbation_curves(model, images, targets, order, mode).shape == (3, 16)


def test_integrated_gradients_completeness_gap():
    model = region_model()
    images = torch.randn(5, 3, SIZE, SIZE)
    targets = torch.tensor([0, 1, 0, 1, 1])
    maps, gap = integrated_gradients(model, images, targets, steps=4, target_gap=math.inf)
    torch.testing.assert_close(
        maps, attribution_maps(model, images, targets, "integrated_gradients")
    )
    assert gap.shape == (5,) and (gap < 1e-5).all()  # linear: exact for any number of steps
    torch.manual_seed(0)
    nonlinear = nn.Sequential(
        nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 16), nn.Tanh(), nn.Linear(16, 2)
    ).eval()
    with torch.no_grad():
        nonlinear[1].weight.mul_(4)  # strongly saturating: a curved integrand
    targets = nonlinear(images).argmax(1)
    means = [
        integrated_gradients(nonlinear, images, targets, steps, target_gap=math.inf)[1].mean()
        for steps in (2, 4, 16)
    ]
    assert means[0] > 0.01  # two steps miss the curvature
    assert means[0] > means[1] > means[2] and means[2] < 1e-3
    flat = nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 2)).eval()
    with torch.no_grad():
        flat[1].weight.zero_()  # F(x) = F(baseline): the relative gap is undefined
    assert np.isnan(integrated_gradients(flat, images, targets)[1]).all()


def test_integrated_gradients_refines_until_the_median_completeness_gap_is_under_5_percent():
    torch.manual_seed(1)
    sharp = nn.Sequential(
        nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 32), nn.Tanh(), nn.Linear(32, 2)
    ).eval()
    with torch.no_grad():
        sharp[1].weight.mul_(20)  # saturating fast: two steps are far off
    images = torch.randn(8, 3, SIZE, SIZE)
    targets = sharp(images).argmax(1)
    _, coarse = integrated_gradients(sharp, images, targets, steps=2, target_gap=math.inf)
    assert np.nanmedian(coarse) > 0.05
    _, refined = integrated_gradients(sharp, images, targets, steps=2)
    assert np.nanmedian(refined) < 0.05  # Sundararajan et al.'s check


def test_explain_methods_reports_the_completeness_gap_in_the_ig_rows():
    models = {"classical": region_model(), "hybrid": Tempered(region_model(), 0.5)}
    images = torch.randn(6, 3, SIZE, SIZE)
    maps, probabilities = explain_methods(models, images)
    assert isinstance(maps, MethodMaps) and set(maps) == {*saliency.METHODS, "random"}
    assert set(maps.completeness) == set(models)
    rows = saliency.score_rows(score_methods(models, images, maps, probabilities))
    by_key = {(row["method"], row["model"]): row for row in rows}
    classical, hybrid = (
        by_key["integrated_gradients", "classical"],
        by_key["integrated_gradients", "hybrid"],
    )
    assert classical["completeness_gap"] < 1e-5  # linear logits
    targets = probabilities["hybrid"].argmax(1)
    _, gaps = integrated_gradients(models["hybrid"], images, targets)
    np.testing.assert_allclose(maps.completeness["hybrid"], gaps)
    assert classical["completeness_images"] == hybrid["completeness_images"] == 6
    mean, error = mean_and_error(maps.completeness["hybrid"])
    assert (hybrid["completeness_gap"], hybrid["completeness_gap_se"]) == (mean, error)
    assert all("completeness_gap" not in by_key[m, "hybrid"] for m in ("gradient", "random"))
    plain = score_methods(models, images, dict(maps), probabilities)  # no gaps to carry
    assert plain["integrated_gradients"].completeness is None


def _classical_and_hybrid(cfg) -> dict[str, nn.Module]:
    """The two trained smoke models the saliency comparison is about."""
    models = load_trained_models(cfg)
    return {kind: models[kind] for kind in ("classical", "hybrid")}


def test_trained_smoke_models_point_at_the_synthetic_objects(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = _classical_and_hybrid(cfg)
    held_out = load_splits(cfg).test  # the split with object masks
    images = torch.stack([held_out[i][0] for i in range(64)])
    maps, probabilities = saliency.explain(models, images, "integrated_gradients")
    chance = held_out.masks[:64].float().mean().item()
    assert chance == pytest.approx(0.25, abs=0.01)
    targets = {name: p.argmax(1) for name, p in probabilities.items()}
    scores = score_saliency(
        models, images, maps, targets, "integrated_gradients", held_out.masks[:64]
    )
    for name, hits in scores.pointing.items():
        # 64 images: chance 25 % +- 5.4 % (binomial SE); "well above" = at least 2.5x chance.
        assert hits.mean() > 0.6, f"{name}: pointing game {hits.mean():.2f}"
    rows = scores.summary()
    assert {row["model"] for row in rows} == {"classical", "hybrid"}
    gains = saliency.gains_over_random(
        {
            "integrated_gradients": scores,
            "random": score_saliency(
                models, images, {n: torch.rand(64, 32, 32) for n in models}, targets, "random"
            ),
        }
    )
    assert len(gains) == 2 and all(row["deletion_gain"] > 0 for row in gains)
    assert "pointing game" in describe_scores(rows, gains, chance)
    assert rows_frame(rows, ["method", "model"]).shape[0] == 2


def test_user_images_from_a_path_or_pil(trained_smoke_cfg, tmp_path):
    cfg = trained_smoke_cfg
    models = _classical_and_hybrid(cfg)
    photo = pil_image(load_splits(cfg).test[0][0])
    path = tmp_path / "dog.png"
    photo.resize((48, 40)).save(path)
    assert saliency.load_user_image(path, cfg).shape == (1, 3, 32, 32)
    for source in (photo, path):
        explanation = saliency.explain_user_image(source, models, cfg, method="gradient")
        assert set(explanation.maps) == {"classical", "hybrid"}
        assert explanation.maps["hybrid"].shape == (1, 32, 32)
        fig = plot_explanation(explanation, cfg.classes)
        assert len(fig.axes) >= 4
    with pytest.raises(FileNotFoundError, match="no such image file"):
        saliency.load_user_image(tmp_path / "missing.jpg", cfg)


def test_saliency_results_over_seeds_are_paired_by_seed(trained_smoke_cfg):
    from helpers.run.session import setup

    session = setup({"artifacts_dir": trained_smoke_cfg.artifacts_dir})
    images, _, _ = session.test_images(8)
    study = saliency.saliency_study(session.models_by_seed, images)
    matrices = study.image_scores()
    assert all(m.shape == (len(trained_smoke_cfg.seeds), 8) for m in matrices[SIMILARITY].values())
    results = study.results(margin=0.07)
    seeds = trained_smoke_cfg.seeds
    row = results.number("IG deletion gain over random (normalised)", model="hybrid")
    assert row["unit"] == "seeds" and row["n"] <= len(seeds)
    comparisons = results.family.comparisons
    assert len(comparisons) == 9 and all("completeness" not in name for name in comparisons)
    assert all(c.unit == "seeds × images" and c.n_images > 1 for c in comparisons.values())
    assert all(c.margin == 0.07 for c in comparisons.values())
    gap = results.number("IG completeness gap (median, relative)", model="classical")
    assert 0 <= gap["mean"] < 0.05  # converged integration (Sundararajan et al.'s 5 %)
