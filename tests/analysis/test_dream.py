"""DeepDream: the objective rises, images stay valid, runs are seeded."""

import copy

import torch

from helpers.analysis import dream
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits


def _setup(cfg):
    models = load_trained_models(cfg)
    image = load_splits(cfg).val[0][0][None]
    return models, image


def test_the_objective_increases_over_the_iterations(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    hybrid = models["hybrid"]
    objectives = {
        "+Z_0": dream.unit_objective(hybrid, hybrid.head.q_layer, 0, 1.0),
        "-Z_2": dream.unit_objective(hybrid, hybrid.head.q_layer, 2, -1.0),
        "norm": dream.norm_objective(hybrid, hybrid.head.q_layer),
    }
    for name, objective in objectives.items():
        result = dream.dream(objective, image, steps=10, octaves=1, seed=0)
        assert result.final_value > result.start_value, (name, result.history)
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


def test_difference_objective_compares_standardised_norms(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    hybrid, classical = models["hybrid"], models["classical"]
    reference = torch.randn(12, *image.shape[1:], generator=torch.Generator().manual_seed(0))
    difference = dream.difference_objective(
        hybrid, hybrid.head.q_layer, classical, classical.head.activation, reference
    )

    def norms(images):
        features = hybrid.backbone(images)
        q_out = hybrid.head.q_layer(hybrid.head.encode(hybrid.head.pre_net(features)))
        h_out = classical.head.activation(classical.head.pre_net(features))
        return q_out.norm(dim=1), h_out.norm(dim=1)

    with torch.no_grad():
        (q_ref, h_ref), (q, h) = norms(reference), norms(image)
        expected = (q - q_ref.mean()) / q_ref.std() - (h - h_ref.mean()) / h_ref.std()
        torch.testing.assert_close(difference(image), expected)
        # on the reference itself both z-scores have mean 0: the difference is not dominated
        # by whichever layer happens to have the larger scale (ReLU norms are unbounded)
        assert abs(float(difference(reference).mean())) < 1e-5
        rescaled = copy.deepcopy(classical)  # every hidden ReLU unit × 5: ‖h_out‖ × 5
        rescaled.head.pre_net.weight.mul_(5.0)
        rescaled.head.pre_net.bias.mul_(5.0)
        scaled = dream.difference_objective(
            hybrid, hybrid.head.q_layer, rescaled, rescaled.head.activation, reference
        )
        torch.testing.assert_close(scaled(image), difference(image), rtol=1e-4, atol=1e-5)
    noise = dream.noise_image(8, seed=0)
    assert noise.shape == (1, 3, 8, 8)
    low, high = dream.valid_range()
    assert torch.all(noise >= low) and torch.all(noise <= high)


def test_objectives_are_the_units_values_and_norms(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    hybrid = models["hybrid"]
    with torch.no_grad():
        q_out = hybrid.head.q_layer(hybrid.head.encode(hybrid.head.pre_net(hybrid.backbone(image))))
        torch.testing.assert_close(
            dream.unit_objective(hybrid, hybrid.head.q_layer, 1, -1.0)(image), -q_out[:, 1]
        )
        torch.testing.assert_close(
            dream.norm_objective(hybrid, hybrid.head.q_layer)(image), q_out.norm(dim=1)
        )


def test_dream_tables_hold_every_unit_and_target(trained_smoke_cfg):
    models, image = _setup(trained_smoke_cfg)
    layers = {
        "hybrid": models["hybrid"].head.q_layer,
        "classical": models["classical"].head.activation,
    }
    settings = {"steps": 2, "octaves": 1, "seed": 0}
    units = dream.unit_dreams(models, layers, image, **settings)
    assert list(units.images["hybrid qubits"]) == [
        f"{sign}⟨Z_{j}⟩" for j in range(4) for sign in ("+", "−")
    ]
    assert list(units.images["classical units"]) == [f"+h_{j}" for j in range(4)]
    assert len(units.histories) == 12 and all(len(h) == 2 for h in units.histories.values())
    single = dream.dream(
        dream.unit_objective(models["hybrid"], layers["hybrid"], 3, -1.0), image, **settings
    )
    torch.testing.assert_close(units.images["hybrid qubits"]["−⟨Z_3⟩"], single.image)
    objectives = dream.target_objectives(models, layers, ["red", "blue"], image.repeat(4, 1, 1, 1))
    assert len(objectives) == 3 + 2 * 2
    starts = {"image": image, "noise": dream.noise_image(32, seed=0)}
    targets = dream.target_dreams(objectives, starts, **settings)
    assert list(targets.images) == ["image", "noise"]
    assert len(targets.values) == 2 * len(objectives)
