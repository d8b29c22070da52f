"""Saliency maps and their scores: exact constructed cases, batch consistency, the smoke model."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from helpers.analysis import saliency
from helpers.model.backbone import load_backbone
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits, pil_image
from helpers.model.heads import DressedQuantumHead, TransferModel
from helpers.present.saliency import describe_scores, plot_explanation
from helpers.present.tables import summary_frame

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
    maps = saliency.attribution_maps(model, images, targets, method)
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
    assert saliency.pointing_game(maps, region_mask().expand(5, -1, -1)).all()


@pytest.fixture(scope="module")
def hybrid_model():
    torch.manual_seed(1)
    return TransferModel(load_backbone("none", seed=0), DressedQuantumHead(4, 2, 2)).eval()


@pytest.mark.parametrize("method", ["gradient", "integrated_gradients"])
def test_batch_and_single_image_maps_agree(hybrid_model, method):
    images = torch.randn(4, 3, 32, 32)
    targets = torch.tensor([0, 1, 1, 0])
    batch = saliency.attribution_maps(hybrid_model, images, targets, method, ig_steps=8)
    single = torch.cat(
        [
            saliency.attribution_maps(
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
    values = saliency.rank_correlation(a, b)
    for i in range(2):
        assert values[i] == pytest.approx(spearmanr(a[i].flatten(), b[i].flatten()).statistic)
    assert np.isnan(values[2])
    assert saliency.rank_correlation(a, a) == pytest.approx(np.ones(3))


def test_pointing_game_with_and_without_tolerance():
    masks = torch.zeros(2, 6, 6, dtype=torch.bool)
    masks[:, 0:2, 0:2] = True
    maps = torch.zeros(2, 6, 6)
    maps[0, 1, 1] = 1  # on the object
    maps[1, 3, 1] = 1  # two rows below it
    assert saliency.pointing_game(maps, masks).tolist() == [True, False]
    assert saliency.pointing_game(maps, masks, tolerance=1).tolist() == [True, False]
    assert saliency.pointing_game(maps, masks, tolerance=2).tolist() == [True, True]


def test_deletion_and_insertion_curves_follow_the_saliency_order():
    model = region_model()
    torch.manual_seed(3)
    images = torch.randn(6, 3, SIZE, SIZE) + model[1].weight.view(2, 3, SIZE, SIZE)[0]
    targets = model(images).argmax(1)
    probabilities = saliency.predict(model, images).gather(1, targets[:, None])[:, 0]
    faithful = saliency.attribution_maps(model, images, targets, "gradient")
    backwards = -faithful
    deletion = saliency.perturbation_curves(
        model, images, targets, saliency.saliency_order(faithful), "deletion", steps=8
    )
    torch.testing.assert_close(deletion[:, 0], probabilities)  # nothing removed yet
    torch.testing.assert_close(deletion[:, -1], torch.full((6,), 0.5))  # all pixels at the mean
    late = saliency.perturbation_curves(
        model, images, targets, saliency.saliency_order(backwards), "deletion", steps=8
    )
    torch.testing.assert_close(late[:, :5], probabilities[:, None].expand(-1, 5))  # region kept
    assert (saliency.curve_area(deletion) < saliency.curve_area(late)).all()
    insertion = saliency.perturbation_curves(
        model,
        images,
        targets,
        saliency.saliency_order(faithful),
        "insertion",
        steps=8,
        max_batch=9,
    )
    torch.testing.assert_close(insertion[:, -1], probabilities)  # everything inserted
    assert saliency.curve_area(torch.ones(1, 5)) == pytest.approx(1.0)


def test_trained_smoke_models_point_at_the_synthetic_objects(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    val = load_splits(cfg).val
    images = torch.stack([val[i][0] for i in range(64)])
    maps, probabilities = saliency.explain(models, images, "integrated_gradients")
    chance = val.masks[:64].float().mean().item()
    assert chance == pytest.approx(0.25, abs=0.01)
    targets = {name: p.argmax(1) for name, p in probabilities.items()}
    scores = saliency.score_saliency(
        models, images, maps, targets, "integrated_gradients", val.masks[:64]
    )
    for name, hits in scores.pointing.items():
        # 64 images: chance 25 % +- 5.4 % (binomial SE); "well above" = at least 2.5x chance.
        assert hits.mean() > 0.6, f"{name}: pointing game {hits.mean():.2f}"
    rows = scores.summary()
    assert {row["model"] for row in rows} == {"classical", "hybrid"}
    gains = saliency.gains_over_random(
        {
            "integrated_gradients": scores,
            "random": saliency.score_saliency(
                models, images, {n: torch.rand(64, 32, 32) for n in models}, targets, "random"
            ),
        }
    )
    assert len(gains) == 2 and all(row["deletion_gain"] > 0 for row in gains)
    assert "pointing game" in describe_scores(rows, gains, chance)
    assert summary_frame(rows, ["method", "model"]).shape[0] == 2


def test_user_images_from_a_path_or_pil(trained_smoke_cfg, tmp_path):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    photo = pil_image(load_splits(cfg).val[0][0])
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
