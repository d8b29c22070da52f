"""The shared-backbone saliency engine: Captum's maps, shared passes, budget-independent results."""

import copy

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, Saliency

from helpers.analysis import saliency
from helpers.analysis.saliency.algorithms import HeadBank, noise_draw, noise_scale
from helpers.analysis.saliency.maps import (
    IG_STEPS,
    RANDOM,
    SMOOTHGRAD_NOISE,
    SMOOTHGRAD_SAMPLES,
    explain_methods,
    head_unit_saliency,
)
from helpers.analysis.saliency.scores import CURVE_STEPS, score_methods, score_saliency
from helpers.model.backbone import fast_copy, load_backbone
from helpers.model.heads import DressedQuantumHead, TransferModel, classical_head


@pytest.fixture(scope="module")
def models():
    """Three heads (hybrid, classical twin, depth-0 control) on one random backbone."""
    backbone = load_backbone("none", seed=0)
    torch.manual_seed(2)
    heads = {
        "hybrid": DressedQuantumHead(4, 2, 2),
        "classical": classical_head("512_nq_n", 4, 2),
        "product": DressedQuantumHead(4, 0, 2),
    }
    for head in heads.values():  # larger weights than q_delta: maps that differ between heads
        for parameter in head.parameters():
            parameter.data.normal_(0, 0.5)
    return {kind: TransferModel(backbone, head).eval() for kind, head in heads.items()}


@pytest.fixture(scope="module")
def images():
    return torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(4))


def targets_of(models, images):
    return {kind: model(images).argmax(1) for kind, model in models.items()}


def test_gradient_and_ig_maps_equal_captums_for_every_model(models, images):
    maps, _ = saliency.explain(models, images, "gradient")
    ig, _ = saliency.explain(models, images, "integrated_gradients")
    for kind, model in models.items():
        target = model(images).argmax(1)
        pixels = images.clone().requires_grad_(True)
        expected = Saliency(model).attribute(pixels, target=target, abs=True).amax(dim=1)
        torch.testing.assert_close(maps[kind], expected, rtol=1e-4, atol=1e-6)
        attributions = IntegratedGradients(model).attribute(
            images, target=target, n_steps=IG_STEPS, method="gausslegendre"
        )
        torch.testing.assert_close(ig[kind], attributions.sum(1).abs(), rtol=1e-3, atol=1e-4)


def test_smoothgrad_averages_captums_gradient_over_the_seeded_noisy_copies(models, images):
    maps, _ = saliency.explain(models, images, "smoothgrad", seed=3)
    model = models["hybrid"]
    target = model(images).argmax(1)
    total = torch.zeros_like(images)
    for draw in range(SMOOTHGRAD_SAMPLES):
        noise = torch.stack(
            [
                noise_draw(
                    3, i, draw, images.shape[1:], SMOOTHGRAD_NOISE * float(x.max() - x.min())
                )
                for i, x in enumerate(images)
            ]
        )
        noisy = (images + noise).requires_grad_(True)
        total += Saliency(model).attribute(noisy, target=target, abs=True)
    expected = (total / SMOOTHGRAD_SAMPLES).amax(dim=1)
    # the bank runs the backbone with BatchNorm folded into the convolutions: float32 rounding
    scale = float(expected.abs().max())
    torch.testing.assert_close(maps["hybrid"], expected, rtol=1e-4, atol=5e-4 * scale)


def test_smoothgrad_noise_of_an_image_does_not_depend_on_the_other_images(models, images):
    wide = images.clone()
    wide[1:] *= 10  # the other images span ten times the range: a batch-wide std would change
    std = noise_scale(wide, SMOOTHGRAD_NOISE)
    assert float(std[0]) == pytest.approx(
        SMOOTHGRAD_NOISE * float(images[0].max() - images[0].min())
    )
    assert std[1] == pytest.approx(10 * noise_scale(images, SMOOTHGRAD_NOISE)[1])
    alone, _ = saliency.explain(models, images[:1], "smoothgrad", seed=3)
    together, _ = saliency.explain(models, wide, "smoothgrad", seed=3)
    for kind in models:
        torch.testing.assert_close(together[kind][:1], alone[kind], rtol=1e-4, atol=1e-6)


def test_every_model_on_one_backbone_shares_one_pass(models, images):
    passes = []
    backbone = fast_copy(models["hybrid"].backbone)  # what the bank runs
    handle = backbone.register_forward_pre_hook(lambda _m, args: passes.append(len(args[0])))
    try:
        saliency.explain(models, images, "gradient")
    finally:
        handle.remove()
    # one prediction pass and one gradient pass, each of the 5 images, for all three models
    assert passes == [5, 5]
    assert len(HeadBank.groups(models, 32, 1024)) == 1


def test_unit_maps_of_all_models_equal_the_per_model_ones(models, images):
    shared, values = head_unit_saliency(models, images)
    for kind, model in models.items():
        alone, alone_values = saliency.unit_saliency(
            model, images, saliency.maps.unit_layer(model, kind)
        )
        torch.testing.assert_close(shared[kind], alone, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(values[kind], alone_values, rtol=1e-4, atol=1e-6)


def test_maps_and_scores_do_not_depend_on_the_memory_budget(models, images):
    """A budget of 1 MB runs one image (or one image-sample pair) per batch; 4 GB runs all."""
    results = {}
    for budget in (4096, 1):
        maps, probabilities = explain_methods(models, images, seed=1, memory_budget_mb=budget)
        # the curves of the same maps: maps equal up to rounding may order near-ties otherwise
        scored = results.get(4096, (maps,))[0]
        scores = score_methods(models, images, scored, probabilities, memory_budget_mb=budget)
        results[budget] = maps, scores
    (large_maps, large_scores), (small_maps, small_scores) = results.values()
    for method in small_maps:
        for kind in models:  # float32 sums in another order (IG cancels signs): within 0.5 %
            scale = float(large_maps[method][kind].abs().max())
            torch.testing.assert_close(
                small_maps[method][kind], large_maps[method][kind], rtol=0, atol=5e-3 * scale
            )
        for mode in saliency.MODES:
            for kind in models:
                np.testing.assert_allclose(
                    small_scores[method].area(mode, normalised=False)[kind],
                    large_scores[method].area(mode, normalised=False)[kind],
                    rtol=1e-4,
                )
    for kind in models:
        np.testing.assert_allclose(
            small_maps.completeness[kind], large_maps.completeness[kind], rtol=1e-3, atol=1e-4
        )


def test_random_reference_is_one_map_whose_curves_are_shared(models, images):
    maps, probabilities = saliency.explain(models, images, "random", seed=5)
    assert len({id(m) for m in maps.values()}) == 1
    passes = []
    backbone = fast_copy(models["hybrid"].backbone)  # what the bank runs
    handle = backbone.register_forward_pre_hook(lambda _m, args: passes.append(len(args[0])))
    try:
        targets = {kind: probs.argmax(1) for kind, probs in probabilities.items()}
        score_saliency(models, images, maps, targets, "random")
    finally:
        handle.remove()
    # per mode: the two end points of 5 images, and 7 inner steps of 5 images, once for 3 models
    assert sum(passes) == 2 * (2 * 5 + (CURVE_STEPS - 1) * 5)


def test_a_study_of_every_seed_gives_each_seed_what_explaining_it_alone_gives(models, images):
    torch.manual_seed(5)
    other = {}  # a second "seed": the same backbone, other head weights
    for kind, model in models.items():
        head = copy.deepcopy(model.head)
        for parameter in head.parameters():
            parameter.data.normal_(0, 0.5)
        other[kind] = TransferModel(model.backbone, head).eval()
    study = saliency.saliency_study({0: models, 7: other}, images, seed=1)
    assert study.seeds == [0, 7]
    ig_and_random = ("integrated_gradients", RANDOM)
    for seed, by_kind, methods in (
        (0, models, (*saliency.METHODS, RANDOM)),  # the first seed: the pictures too
        (7, other, ig_and_random),
    ):
        view = study.of_seed(seed)
        maps, probabilities = explain_methods(by_kind, images, seed=1, methods=methods)
        scores = score_methods(by_kind, images, maps, probabilities)
        unit_maps, unit_values = head_unit_saliency(by_kind, images)
        assert [m for m in view.maps if view.maps[m]] == list(methods)
        for method in methods:
            np.testing.assert_allclose(
                view.scores[method].rank_correlation, scores[method].rank_correlation, rtol=1e-6
            )
            for kind in by_kind:
                torch.testing.assert_close(view.maps[method][kind], maps[method][kind])
                for mode in saliency.MODES:
                    np.testing.assert_allclose(
                        view.scores[method].area(mode, normalised=False)[kind],
                        scores[method].area(mode, normalised=False)[kind],
                        rtol=1e-6,
                    )
        for kind in by_kind:
            torch.testing.assert_close(view.unit_maps[kind], unit_maps[kind])
            torch.testing.assert_close(view.unit_values[kind], unit_values[kind])
            torch.testing.assert_close(view.probabilities[kind], probabilities[kind])
            np.testing.assert_allclose(view.maps.completeness[kind], maps.completeness[kind])
    with pytest.raises(KeyError, match="seeds are \\[0, 7\\]"):
        study.of_seed(3)
