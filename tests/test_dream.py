"""DeepDream: the objective rises, images stay valid, runs are seeded."""

import torch

from helpers import dream
from helpers.data import load_splits
from helpers.train import load_trained_models


def _setup(cfg):
    models = load_trained_models(cfg)
    image = load_splits(cfg).val[0][0][None]
    return models, image


def test_the_objective_increases_over_the_iterations(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    hybrid = models["hybrid"]
    for unit, sign in ((0, 1.0), (2, -1.0), (None, 1.0)):
        objective = dream.unit_objective(hybrid, hybrid.head.q_layer, unit, sign)
        result = dream.dream(objective, image, steps=10, octaves=1, seed=0)
        assert result.final_value > result.start_value, (unit, sign, result.history)
        assert len(result.history) == 10
    logit = dream.logit_objective(models["classical"], 1)
    multi = dream.dream(logit, dream.noise_image(32, seed=1), steps=20, octaves=3, seed=0)
    assert multi.octave_sizes == [16, 23, 32]
    assert multi.final_value > multi.start_value


def test_dreams_stay_in_the_valid_pixel_range_and_are_seeded(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    objective = dream.logit_objective(models["hybrid"], 0)
    first = dream.dream(objective, image, steps=15, octaves=2, step_size=0.5, seed=3)
    low, high = dream.valid_range()
    assert torch.all(first.image >= low - 1e-6) and torch.all(first.image <= high + 1e-6)
    assert first.image.shape == image.shape
    again = dream.dream(objective, image, steps=15, octaves=2, step_size=0.5, seed=3)
    torch.testing.assert_close(first.image, again.image)
    other = dream.dream(objective, image, steps=15, octaves=2, step_size=0.5, seed=4)
    assert not torch.equal(first.image, other.image)


def test_difference_objective_is_hybrid_norm_minus_classical_norm(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    hybrid, classical = models["hybrid"], models["classical"]
    difference = dream.difference_objective(
        hybrid, hybrid.head.q_layer, classical, classical.head.activation
    )
    with torch.no_grad():
        features = hybrid.backbone(image)
        q_out = hybrid.head.q_layer(hybrid.head.encode(hybrid.head.pre_net(features)))
        h_out = classical.head.activation(classical.head.pre_net(features))
        expected = q_out.norm(dim=1) - h_out.norm(dim=1)
        torch.testing.assert_close(difference(image), expected)
    noise = dream.noise_image(8, seed=0)
    assert noise.shape == (1, 3, 8, 8)
    low, high = dream.valid_range()
    assert torch.all(noise >= low) and torch.all(noise <= high)
