"""Loss landscapes: centre, filter normalisation, batched grids, periodicity, Hessian, PCA, and
sharpness invariant to the heads' function-preserving reparametrisations."""

import collections
import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from qiskit.circuit import Parameter
from qiskit.circuit.library import CRYGate, RXGate, RYGate
from sklearn.decomposition import PCA
from torch import nn

from helpers.analysis import landscape
from helpers.analysis.landscape.directions import flatten, periodic_direction
from helpers.analysis.landscape.grid import evaluate_points, stackable
from helpers.analysis.landscape.invariant import (
    RELU_FACTORS,
    adaptive_sharpness,
    centred_parameters,
    gate_periods,
    perturbation_scales,
    shift_softmax,
)
from helpers.analysis.landscape.sharpness import (
    DROPPED,
    Sharpness,
    hessian_vector_product,
    invariance_report,
    loss_function,
    radius_sharpness,
    top_hessian_eigenvalue,
)
from helpers.analysis.landscape.spectrum import fourier_spectrum, frequency_bounds, largest_beyond
from helpers.analysis.landscape.trajectory import pca_plane
from helpers.model.backbone import cached_features
from helpers.model.checkpoints import load_trained_head
from helpers.model.heads import (
    AngleEncoding,
    DressedQuantumHead,
    TransferModel,
    build_head,
    classical_head,
)
from helpers.model.train import evaluate
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import build_circuit
from tests import user_circuit


@pytest.fixture(scope="module")
def smoke_heads(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    features = cached_features(cfg)
    heads = {kind: load_trained_head(cfg, kind)[0] for kind in ("classical", "hybrid")}
    return heads, features.train[:96], features.train_labels[:96]


@pytest.mark.parametrize("kind", ["classical", "hybrid"])
def test_the_landscape_centre_is_the_trained_models_loss(smoke_heads, kind):
    heads, inputs, labels = smoke_heads
    head = heads[kind]
    centre = landscape.trained_parameters(head)
    generator = torch.Generator().manual_seed(0)
    quantum = landscape.quantum_parameters(head)
    directions = [landscape.filter_normalised_direction(centre, generator, quantum) for _ in "ab"]
    alphas = np.linspace(-1, 1, 5)
    result = landscape.landscape(head, centre, directions, inputs, labels, alphas, alphas, kind)
    trained_loss, trained_accuracy, _ = evaluate(head, inputs, labels)
    assert result.centre_loss == pytest.approx(trained_loss, rel=1e-6)
    assert result.loss[2, 2] == pytest.approx(trained_loss, rel=1e-6)
    assert result.accuracy[2, 2] == pytest.approx(trained_accuracy)
    assert result.loss.shape == (5, 5) and result.loss.max() > trained_loss


def test_filter_normalised_directions_match_the_weights_filter_norms(smoke_heads):
    head = smoke_heads[0]["hybrid"]
    centre = landscape.trained_parameters(head)
    quantum = landscape.quantum_parameters(head)
    assert quantum == {"q_layer.weight": 4}  # the layer's own width, no n_qubits passed in
    d = landscape.filter_normalised_direction(centre, torch.Generator().manual_seed(1), quantum)
    for name in ("pre_net.weight", "post_net.weight"):
        torch.testing.assert_close(d[name].norm(dim=1), centre[name].norm(dim=1))
    for name in ("pre_net.bias", "post_net.bias"):
        assert torch.all(d[name] == 0)
    torch.testing.assert_close(  # each circuit layer's angles are one filter
        d["q_layer.weight"].view(-1, 4).norm(dim=1),
        centre["q_layer.weight"].view(-1, 4).norm(dim=1),
    )
    report = landscape.normalisation_report(centre, d, quantum)
    assert (
        max(r["max_filter_mismatch"] for r in report if not math.isnan(r["max_filter_mismatch"]))
        < 1e-5
    )
    periodic = landscape.filter_normalised_direction(
        centre, torch.Generator().manual_seed(1), quantum, quantum_scale="period"
    )
    rms = periodic["q_layer.weight"].pow(2).mean().sqrt()
    assert rms == pytest.approx(math.pi, rel=1e-5)  # each angle moves by about ±π at α = 1
    with pytest.raises(ValueError, match="quantum_scale"):
        landscape.filter_normalised_direction(centre, torch.Generator(), quantum, "degrees")


def test_convolution_filters_are_normalised_per_output_channel():
    conv = nn.Conv2d(3, 5, 3)
    centre = landscape.trained_parameters(conv)
    d = landscape.filter_normalised_direction(centre, torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        d["weight"].flatten(1).norm(dim=1), conv.weight.flatten(1).norm(dim=1)
    )


@pytest.mark.parametrize("kind", ["classical", "hybrid"])
def test_stacked_grid_evaluation_equals_point_by_point(smoke_heads, kind):
    heads, inputs, labels = smoke_heads
    head = heads[kind]
    assert stackable(head)
    centre = landscape.trained_parameters(head)
    generator = torch.Generator().manual_seed(2)
    offsets = [
        {n: 0.3 * torch.randn(p.shape, generator=generator) for n, p in centre.items()}
        for _ in range(5)
    ]
    losses, accuracies, _ = evaluate_points(head, centre, offsets, inputs, labels, chunk=2)
    for offset, loss, accuracy in zip(offsets, losses, accuracies, strict=True):
        moved = {n: centre[n] + offset[n] for n in centre}
        logits = torch.func.functional_call(head, moved, (inputs,))
        expected = nn.functional.cross_entropy(logits, labels).item()
        assert loss == pytest.approx(expected, rel=1e-5)
        assert accuracy == pytest.approx((logits.argmax(1) == labels).float().mean().item())


def test_whole_network_landscape_runs_point_by_point_and_keeps_its_centre():
    torch.manual_seed(0)
    model = TransferModel(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(512)),
        nn.Sequential(nn.Linear(512, 2)),
    ).eval()
    images, labels = torch.randn(6, 3, 6, 6), torch.tensor([0, 1] * 3)
    model(images)
    for param in model.backbone.parameters():
        param.requires_grad_(False)
    params = landscape.trained_parameters(model, trainable_only=False)
    assert "backbone.0.weight" in params and not stackable(model)
    direction = landscape.filter_normalised_direction(params, torch.Generator().manual_seed(0))
    assert torch.all(direction["backbone.1.weight"] == 0)  # BatchNorm: not perturbed
    result = landscape.landscape(model, params, [direction], images, labels, np.linspace(-1, 1, 3))
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(images), labels).item()
    assert result.loss[1] == pytest.approx(expected, rel=1e-6) and result.loss[0] != result.loss[1]


def test_quantum_only_directions_are_exactly_periodic(smoke_heads):
    heads, inputs, labels = smoke_heads
    head = heads["hybrid"]
    centre = landscape.trained_parameters(head)
    quantum = landscape.quantum_parameters(head)
    d = periodic_direction(centre, quantum, torch.Generator().manual_seed(0))
    assert set(d["q_layer.weight"].unique().tolist()) <= {-1.0, 1.0}
    assert torch.all(d["pre_net.weight"] == 0)
    ts = np.array([-math.pi, -1.0, 0.0, 1.0, math.pi, 2 * math.pi - 1.0])
    result = landscape.landscape(head, centre, [d], inputs, labels, ts, progress=False)
    assert result.loss[0] == pytest.approx(result.loss[4], rel=1e-5)
    assert result.loss[1] == pytest.approx(result.loss[5], rel=1e-5)
    with pytest.raises(ValueError, match="no quantum weights"):
        periodic_direction(centre, set(), torch.Generator())


def test_fourier_spectrum_finds_the_frequencies_of_a_periodic_surface():
    t = np.linspace(-np.pi, np.pi, 16, endpoint=False)
    a, b = np.meshgrid(t, t, indexing="ij")
    spectrum = fourier_spectrum(2 + np.cos(a) + 0.5 * np.cos(2 * b))
    centre = 8
    assert spectrum[centre, centre] == pytest.approx(2)
    assert spectrum[centre + 1, centre] == pytest.approx(0.5)
    assert spectrum[centre, centre + 2] == pytest.approx(0.25)
    assert spectrum.sum() == pytest.approx(2 + 1 + 0.5)


def _dense_hessian(loss, params):
    names = list(params)
    flat = torch.cat([params[n].reshape(-1) for n in names]).double()

    def unflatten(vector):
        out, start = {}, 0
        for n in names:
            out[n] = vector[start : start + params[n].numel()].view_as(params[n])
            start += params[n].numel()
        return out

    return torch.autograd.functional.hessian(lambda v: loss(unflatten(v)), flat)


def test_top_hessian_eigenvalue_matches_a_dense_eigendecomposition():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    inputs, labels = torch.randn(40, 5), torch.randint(0, 3, (40,))
    eigenvalue, _ = top_hessian_eigenvalue(
        model, inputs, labels, torch.Generator().manual_seed(0), iterations=500, tolerance=1e-10
    )
    params = {n: p.detach().double() for n, p in model.named_parameters()}
    loss = loss_function(model.double(), inputs.double(), labels)
    dense = torch.linalg.eigvalsh(_dense_hessian(loss, params))
    model.float()
    assert eigenvalue == pytest.approx(dense[dense.abs().argmax()].item(), rel=1e-5)


def test_hessian_through_the_quantum_layer_matches_a_dense_eigendecomposition():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 2), AngleEncoding(), QuantumLayer(2, 1, q_delta=0.5), nn.Linear(2, 2)
    )
    inputs, labels = torch.randn(12, 3), torch.randint(0, 2, (12,))
    eigenvalue, _ = top_hessian_eigenvalue(
        model, inputs, labels, torch.Generator().manual_seed(0), iterations=500, tolerance=1e-9
    )
    params = {n: p.detach().double() for n, p in model.named_parameters()}
    loss = loss_function(model.double(), inputs.double(), labels)
    names = list(params)
    size = sum(p.numel() for p in params.values())
    columns = []
    for k in range(size):  # dense Hessian: one exact HVP per unit vector
        unit = torch.zeros(size, dtype=torch.float64)
        unit[k] = 1
        pieces, start = {}, 0
        for n in names:
            pieces[n] = unit[start : start + params[n].numel()].view_as(params[n])
            start += params[n].numel()
        product = hessian_vector_product(loss, params, pieces, exact=False)
        columns.append(torch.cat([product[n].reshape(-1) for n in names]))
    hessian = torch.stack(columns, dim=1)
    model.float()
    assert torch.allclose(hessian, hessian.T, atol=1e-5)  # finite differences of exact gradients
    dense = torch.linalg.eigvalsh((hessian + hessian.T) / 2)
    assert eigenvalue == pytest.approx(dense[dense.abs().argmax()].item(), rel=1e-4)


def test_pca_plane_recovers_a_planar_trajectory(smoke_heads):
    head = smoke_heads[0]["classical"]
    centre = landscape.trained_parameters(head)
    flat = torch.cat([p.reshape(-1) for p in centre.values()])
    generator = torch.Generator().manual_seed(0)
    u, v = torch.randn(2, len(flat), generator=generator)
    steps = torch.linspace(1, 0, 11)
    vectors = flat + steps[:, None] * u + (steps * (1 - steps))[:, None] * v
    trajectory = {"vectors": vectors, "names": list(centre), "epochs": torch.linspace(0, 1, 11)}
    plane = pca_plane(trajectory, centre, generator)
    assert plane.explained_variance.sum() == pytest.approx(1.0, abs=1e-6)
    basis = torch.stack([torch.cat([d[n].reshape(-1) for n in centre]) for d in plane.directions])
    reconstructed = torch.from_numpy(plane.coordinates).float() @ basis
    torch.testing.assert_close(reconstructed, vectors - flat, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(basis @ basis.T, torch.eye(2), atol=1e-5, rtol=0)
    line = {**trajectory, "vectors": flat + steps[:, None] * u}
    rank_one = pca_plane(line, centre, generator)
    first, second = (torch.cat([d[n].reshape(-1) for n in centre]) for d in rank_one.directions)
    assert abs(float(first @ second)) < 1e-5 and float(second.norm()) == pytest.approx(1, abs=1e-5)


def test_landscapes_round_trip_through_npz(tmp_path):
    result = landscape.Landscape(
        "hybrid",
        np.linspace(-1, 1, 3),
        np.linspace(-1, 1, 4),
        np.random.rand(3, 4),
        np.random.rand(3, 4),
        0.25,
    )
    path = result.save(tmp_path / "sub" / "grid.npz")
    loaded = landscape.Landscape.load(path)
    assert loaded.kind == "hybrid" and loaded.centre_loss == 0.25
    np.testing.assert_array_equal(loaded.loss, result.loss)
    np.testing.assert_array_equal(loaded.betas, result.betas)
    assert loaded.outputs.size == 0 and loaded.probe == "logits"
    probed = dataclasses.replace(result, outputs=np.random.rand(3, 4, 2), probe="q_layer")
    reloaded = landscape.Landscape.load(probed.save(tmp_path / "probed.npz"))
    np.testing.assert_array_equal(reloaded.outputs, probed.outputs)
    assert reloaded.probe == "q_layer"
    older = {k: v for k, v in dataclasses.asdict(result).items() if k not in ("outputs", "probe")}
    np.savez(tmp_path / "older.npz", **older)  # written before outputs were stored
    assert landscape.Landscape.load(tmp_path / "older.npz").outputs.size == 0


def _sharpness(eigenvalue: float, adaptive: np.ndarray, fixed: np.ndarray, filtered: np.ndarray):
    return Sharpness(eigenvalue, 10, 0.1, adaptive, fixed, filtered)


def test_landscape_results_compare_adaptive_sharpness_with_fixed_angles_as_the_verdict(
    smoke_heads,
):
    heads, inputs, labels = smoke_heads
    increases = {
        kind: radius_sharpness(
            head, inputs, labels, torch.Generator().manual_seed(0), radius=0.1, n_directions=8
        )
        for kind, head in heads.items()
    }
    assert all(values.shape == (8,) for values in increases.values())
    fixed = {"classical": np.array([0.01, 0.03]), "hybrid": np.array([0.05, 0.07])}
    per_seed = {
        seed: {
            kind: _sharpness(
                eigenvalue * (1 + seed),
                # the angles add 0.06 to the hybrid (a share of 1 - 0.06 / 0.12 at seed 0)
                fixed[kind] * (1 + seed) + (0.06 if kind == "hybrid" else 0.0),
                fixed[kind] * (1 + seed),
                increases[kind] + seed,
            )
            for kind, eigenvalue in (("classical", 2.0), ("hybrid", 4.0))
        }
        for seed in range(3)
    }
    per_seed[3] = {  # not a minimum: a negative eigenvalue and a negative adaptive sharpness
        "classical": _sharpness(
            2.0, fixed["classical"], fixed["classical"], increases["classical"] + 3
        ),
        "hybrid": _sharpness(-1.0, fixed["hybrid"], -fixed["hybrid"], increases["hybrid"] + 3),
    }
    moved = {s: {"hybrid": 0.1 * s} for s in range(4)}
    results = landscape.landscape_results(per_seed, moved, margin=1.5)
    name = "adaptive sharpness, circuit angles fixed, hybrid vs classical"
    assert list(results.family.comparisons) == [name]
    verdict = results.family.comparisons[name]
    assert verdict.ratio == pytest.approx(3.0) and verdict.margin == 1.5  # 0.06 / 0.02
    assert (verdict.n, verdict.n_dropped, verdict.unit) == (3, 1, "seeds")
    assert results.number(DROPPED, model="hybrid")["mean"] == 1  # stated, per model
    assert results.number(DROPPED, model="classical")["mean"] == 0
    assert results.number(DROPPED, model="hybrid")["n"] == 4
    every = results.exploratory[
        "adaptive sharpness, circuit angles fixed, as a difference over every seed, "
        "hybrid vs classical"
    ]
    assert (every.n, every.n_dropped) == (4, 0)  # the difference keeps every seed
    assert every.difference == pytest.approx(((0.06 - 0.02) * (1 + 2 + 3) - 0.06 - 0.02) / 4)
    row = results.number("adaptive sharpness, circuit angles fixed", model="hybrid")
    assert row["mean"] == pytest.approx((0.06 * (1 + 2 + 3) - 0.06) / 4)
    with_angles = "adaptive sharpness with the circuit angles (P/2π convention)"
    exploratory = results.exploratory[f"{with_angles}, hybrid vs classical"]
    assert exploratory.n == 4 and exploratory.margin == 1.5
    share = results.number("circuit angles' share of adaptive sharpness (P/2π convention)")
    assert share["model"] == "hybrid"  # the classical twin has no angles to share
    expected = [0.06 / (0.06 * (1 + s) + 0.06) for s in range(3)] + [1 + 1]
    assert share["mean"] == pytest.approx(np.mean(expected))
    ratio = results.exploratory["top Hessian eigenvalue, hybrid vs classical"]
    assert ratio.ratio == pytest.approx(2.0) and (ratio.n, ratio.n_dropped) == (3, 1)
    name = "loss increase at the filter-normalised radius, hybrid vs classical"
    gap = increases["hybrid"].mean() - increases["classical"].mean()
    assert results.exploratory[name].difference == pytest.approx(gap)
    row = results.number("loss increase at the filter-normalised radius", model="hybrid")
    assert row["mean"] == pytest.approx(increases["hybrid"].mean() + 1.5) and row["n"] == 4
    assert results.number("top Hessian eigenvalue", model="hybrid")["n"] == 4  # signed, stated
    moved = results.number("circuit weights moved ‖w − w₀‖", model="hybrid")
    assert moved["mean"] == pytest.approx(0.15)


def test_sharpness_combines_every_measure_with_the_same_generator_stream(smoke_heads):
    heads, inputs, labels = smoke_heads
    for kind, head in heads.items():
        result = landscape.sharpness(
            head, inputs, labels, torch.Generator().manual_seed(3), 0.2, n_directions=8
        )
        generator = torch.Generator().manual_seed(3)
        eigenvalue, iterations = top_hessian_eigenvalue(head, inputs, labels, generator)
        adaptive = adaptive_sharpness(head, inputs, labels, generator, 0.2, 8)
        if kind == "hybrid":
            fixed = adaptive_sharpness(head, inputs, labels, generator, 0.2, 8, angles=False)
            assert not np.allclose(fixed, adaptive)  # the angles count
        else:
            fixed = adaptive  # nothing to hold fixed
        increases = radius_sharpness(head, inputs, labels, generator, 0.2, 8)
        assert (result.eigenvalue, result.iterations, result.radius) == (
            eigenvalue,
            iterations,
            0.2,
        )
        for got, expected in zip(
            (result.adaptive, result.adaptive_fixed_angles, result.filter_normalised),
            (adaptive, fixed, increases),
            strict=True,
        ):
            np.testing.assert_array_equal(got, expected)


def test_gate_periods_come_from_the_generators_spectrum():
    t = Parameter("t")
    assert [p / math.pi for p in gate_periods(RYGate(t), t)] == pytest.approx([4.0, 2.0])
    # a controlled RY's generator has eigenvalues 0, 0, ±½: its outputs repeat only after 4π
    assert [p / math.pi for p in gate_periods(CRYGate(t), t)] == pytest.approx([4.0, 4.0])
    assert [p / math.pi for p in gate_periods(RXGate(2 * t + 1), t)] == pytest.approx([2.0, 1.0])


def test_angle_periods_are_the_periods_of_the_circuit_outputs():
    torch.manual_seed(0)
    layer = QuantumLayer(3, 2, q_delta=1.0)
    periods = landscape.angle_periods(layer)
    torch.testing.assert_close(periods, torch.full((6,), 2 * math.pi))
    angles = torch.rand(16, 3) * math.pi - math.pi / 2
    rows = layer.weight.detach().expand(16, -1)

    def outputs(weights: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(layer.forward_rows(angles, weights))

    reference = outputs(rows)
    for i in range(6):
        step = torch.zeros(6)
        step[i] = periods[i]
        torch.testing.assert_close(outputs(rows + step), reference, atol=1e-6, rtol=0)
        assert (outputs(rows + step / 2) - reference).abs().max() > 1e-2  # not half of it


def test_perturbation_scales_are_relative_for_classical_weights_and_periodic_for_angles(
    smoke_heads,
):
    head = smoke_heads[0]["hybrid"]
    centre = landscape.trained_parameters(head)
    scales = perturbation_scales(head, centre)
    for name in ("pre_net.weight", "pre_net.bias", "post_net.weight", "post_net.bias"):
        torch.testing.assert_close(scales[name], centre[name].abs())
    torch.testing.assert_close(scales["q_layer.weight"], torch.ones_like(centre["q_layer.weight"]))
    fixed = perturbation_scales(head, centre, angles=False)
    assert torch.all(fixed["q_layer.weight"] == 0)


def test_adaptive_sharpness_is_the_mean_loss_increase_of_antithetic_relative_steps():
    head = nn.Sequential(collections.OrderedDict(post_net=nn.Linear(5, 2)))
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(32, 5, generator=generator)
    labels = torch.randint(0, 2, (32,), generator=generator)
    increases = adaptive_sharpness(head, inputs, labels, torch.Generator().manual_seed(1), 0.3, 4)
    draws = torch.Generator().manual_seed(1)
    weight, bias = head.post_net.weight.detach(), head.post_net.bias.detach()
    weight, bias = weight - weight.mean(dim=0), bias - bias.mean()  # centred: the same function
    steps = [0.3 * p.abs() * torch.randn((4, *p.shape), generator=draws) for p in (weight, bias)]
    steps = [step - step.mean(dim=1, keepdim=True) for step in steps]  # zero class mean

    def loss(w: torch.Tensor, b: torch.Tensor) -> float:
        return float(nn.functional.cross_entropy(inputs @ w.T + b, labels))

    expected = [
        (
            loss(weight + steps[0][k], bias + steps[1][k])
            + loss(weight - steps[0][k], bias - steps[1][k])
        )
        / 2
        - loss(weight, bias)
        for k in range(4)
    ]
    np.testing.assert_allclose(increases, expected, rtol=1e-5, atol=5e-7)  # float32 losses
    assert (increases > 0).all()  # a convex loss: every antithetic pair rises


@pytest.mark.parametrize("factor", RELU_FACTORS)
def test_adaptive_sharpness_is_invariant_to_rescaling_a_relu_unit(smoke_heads, factor):
    heads, inputs, labels = smoke_heads
    head = heads["classical"]
    rescaled = landscape.rescale_relu_unit(head, 0, factor)
    with torch.no_grad():
        torch.testing.assert_close(rescaled(inputs), head(inputs), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(rescaled.pre_net.weight, head.pre_net.weight)

    def both(model: nn.Module) -> tuple[float, float]:
        adaptive = adaptive_sharpness(model, inputs, labels, torch.Generator().manual_seed(0))
        filtered = radius_sharpness(model, inputs, labels, torch.Generator().manual_seed(0), 0.5)
        return float(adaptive.mean()), float(filtered.mean())

    (adaptive, filtered), (adaptive_after, filtered_after) = both(head), both(rescaled)
    assert adaptive_after == pytest.approx(adaptive, rel=1e-4)
    assert filtered_after != pytest.approx(filtered, rel=0.05)  # the old test is not invariant


def test_adaptive_sharpness_is_invariant_to_rescaling_every_relu_unit(smoke_heads):
    heads, inputs, labels = smoke_heads
    head = heads["classical"]
    rescaled = head
    for unit, factor in enumerate((0.2, 5.0, 20.0, 0.5)):
        rescaled = landscape.rescale_relu_unit(rescaled, unit, factor)
    before = adaptive_sharpness(head, inputs, labels, torch.Generator().manual_seed(2))
    after = adaptive_sharpness(rescaled, inputs, labels, torch.Generator().manual_seed(2))
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-7)  # direction by direction


@pytest.mark.parametrize("shift", ["every angle", "one angle", "mixed whole periods"])
def test_adaptive_sharpness_is_invariant_to_whole_periods_of_the_circuit_angles(smoke_heads, shift):
    heads, inputs, labels = smoke_heads
    head = heads["hybrid"]
    count = head.q_layer.weight.numel()
    periods = {
        "every angle": torch.ones(count),
        "one angle": torch.eye(count)[1],
        "mixed whole periods": torch.tensor([(-2, 1, 0, 3)[i % 4] for i in range(count)]),
    }[shift]
    shifted = landscape.shift_angles(head, periods.float())
    moved = shifted.q_layer.weight - head.q_layer.weight
    torch.testing.assert_close(moved, periods * 2 * math.pi, atol=1e-5, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(shifted(inputs), head(inputs), atol=1e-5, rtol=1e-5)
    before = adaptive_sharpness(head, inputs, labels, torch.Generator().manual_seed(0))
    after = adaptive_sharpness(shifted, inputs, labels, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-6)
    filtered = radius_sharpness(head, inputs, labels, torch.Generator().manual_seed(0), 0.5)
    filtered_after = radius_sharpness(
        shifted, inputs, labels, torch.Generator().manual_seed(0), 0.5
    )
    assert filtered_after.mean() != pytest.approx(filtered.mean(), rel=0.05)


@pytest.mark.parametrize("kind", ["classical", "hybrid"])
def test_adaptive_sharpness_changes_when_the_function_changes(smoke_heads, kind):
    heads, inputs, labels = smoke_heads
    head = heads[kind]
    changed = copy.deepcopy(head)
    with torch.no_grad():
        changed.post_net.weight *= 0.3  # softer logits: a different, flatter function
        assert not torch.allclose(changed(inputs), head(inputs))
    before = adaptive_sharpness(head, inputs, labels, torch.Generator().manual_seed(0)).mean()
    after = adaptive_sharpness(changed, inputs, labels, torch.Generator().manual_seed(0)).mean()
    assert after < 0.75 * before


def test_half_a_period_of_the_angles_changes_the_hybrids_adaptive_sharpness(smoke_heads):
    heads, inputs, labels = smoke_heads
    head = heads["hybrid"]
    half = landscape.shift_angles(head, 0.5)  # not a symmetry: another function
    before = adaptive_sharpness(head, inputs, labels, torch.Generator().manual_seed(0)).mean()
    after = adaptive_sharpness(half, inputs, labels, torch.Generator().manual_seed(0)).mean()
    assert after != pytest.approx(before, rel=0.05)


def test_symmetries_are_the_heads_function_preserving_reparametrisations(smoke_heads):
    heads = smoke_heads[0]
    shift = "softmax shift (bias + 3, rows + 0.5)"
    assert list(landscape.symmetries(heads["classical"])) == [
        *(f"ReLU unit 0 × {c:g}" for c in RELU_FACTORS),
        shift,
    ]
    assert list(landscape.symmetries(heads["hybrid"])) == [
        "every angle + 1 period",
        "angle 0 + 1 period",
        shift,
    ]
    assert list(landscape.symmetries(DressedQuantumHead(4, 0))) == [shift]  # tanh, no angles
    with pytest.raises(ValueError, match="ReLU"):
        landscape.rescale_relu_unit(heads["hybrid"], 0, 2.0)
    with pytest.raises(ValueError, match="factor"):
        landscape.rescale_relu_unit(classical_head("512_nq_n", 4, 2), 0, -1.0)


def _three_heads(smoke_heads, trained_smoke_cfg) -> dict[str, nn.Module]:
    heads = dict(smoke_heads[0])
    torch.manual_seed(0)
    heads["product"] = build_head("product", trained_smoke_cfg)  # untrained: any weights do
    heads["three classes"] = classical_head("512_nq_n", 4, 3)
    return heads


@pytest.mark.parametrize("kind", ["classical", "hybrid", "product", "three classes"])
@pytest.mark.parametrize("angles", [True, False])
def test_adaptive_sharpness_is_invariant_to_the_softmax_shift(
    smoke_heads, trained_smoke_cfg, kind, angles
):
    heads, inputs = _three_heads(smoke_heads, trained_smoke_cfg), smoke_heads[1]
    head = heads[kind]
    with torch.no_grad():
        labels = head(inputs).argmax(-1)  # a real minimum's labels for the untrained heads too
    shifts = {
        "bias + 3": shift_softmax(head, 3.0, 0.0),
        "rows + 0.5": shift_softmax(head, 0.0, 0.5),
        "both, a random row vector": shift_softmax(
            head, -2.0, torch.randn(head.post_net.in_features)
        ),
    }

    def measure(model: nn.Module) -> np.ndarray:
        draws = torch.Generator().manual_seed(5)
        return adaptive_sharpness(model, inputs, labels, draws, 0.5, 8, angles=angles)

    before = measure(head)
    for label, shifted in shifts.items():
        with torch.no_grad():
            torch.testing.assert_close(
                shifted(inputs).softmax(-1), head(inputs).softmax(-1), atol=1e-5, rtol=0
            )
            assert not torch.allclose(shifted(inputs), head(inputs)), label  # logits moved
        np.testing.assert_allclose(measure(shifted), before, rtol=1e-4, atol=1e-7, err_msg=label)


def test_the_uncentred_measure_was_not_invariant_to_the_softmax_shift(smoke_heads):
    """What centring fixes: T = |θ| of the uncentred logits layer grows with the shift."""
    heads, inputs, labels = smoke_heads
    head = heads["classical"]

    def uncentred(model: nn.Module) -> float:
        centre = landscape.trained_parameters(model)
        draws = torch.Generator().manual_seed(0)
        steps = {
            name: 0.5 * scale * torch.randn((8, *scale.shape), generator=draws)
            for name, scale in perturbation_scales(model, centre).items()
        }
        offsets = {name: torch.cat([step, -step]) for name, step in steps.items()}
        losses, _, _ = evaluate_points(model, centre, offsets, inputs, labels)
        return float(losses.mean()) - float(evaluate(model, inputs, labels)[0])

    assert uncentred(shift_softmax(head, 3.0, 0.0)) > 3 * uncentred(head)


def test_centred_parameters_keep_the_function_and_remove_the_class_mean(smoke_heads):
    heads, inputs, _ = smoke_heads
    for head in heads.values():
        centre = centred_parameters(head)
        for name in ("post_net.weight", "post_net.bias"):
            assert centre[name].mean(dim=0).abs().max() < 1e-6
        shifted = centred_parameters(shift_softmax(head))
        for name, value in centre.items():
            torch.testing.assert_close(shifted[name], value, atol=1e-5, rtol=0)
        with torch.no_grad():
            logits = torch.func.functional_call(head, centre, (inputs,))
            torch.testing.assert_close(
                logits.softmax(-1), head(inputs).softmax(-1), atol=1e-6, rtol=0
            )
    with pytest.raises(ValueError, match="post_net"):
        centred_parameters(nn.Linear(4, 2))


def test_invariance_report_keeps_the_function_and_the_adaptive_sharpness(smoke_heads):
    heads, inputs, labels = smoke_heads
    rows = invariance_report(heads["hybrid"], inputs, labels, seed=0, radius=0.5)
    assert [row["reparametrisation"] for row in rows] == [
        "as trained",
        "every angle + 1 period",
        "angle 0 + 1 period",
        "softmax shift (bias + 3, rows + 0.5)",
    ]
    assert max(row["max probability change"] for row in rows) < 1e-5
    for column, angles in (
        ("adaptive sharpness, angles fixed", False),
        ("adaptive sharpness, with angles", True),
    ):
        adaptive = [row[column] for row in rows]
        assert adaptive == pytest.approx([adaptive[0]] * 4, rel=1e-4)
        expected = adaptive_sharpness(
            heads["hybrid"], inputs, labels, torch.Generator().manual_seed(0), 0.5, 16, angles
        )
        assert adaptive[0] == pytest.approx(float(expected.mean()))
    filtered = [row["filter-normalised increase"] for row in rows]
    assert filtered[1] != pytest.approx(filtered[0], rel=0.05)


def test_pca_plane_centres_the_offsets_like_sklearn_pca():
    generator = torch.Generator().manual_seed(0)
    draw = {"generator": generator, "dtype": torch.float64}
    centre = {"layer.weight": torch.randn(4, 5, **draw), "layer.bias": torch.randn(4, **draw)}
    size = len(flatten(centre))
    rotation, _ = torch.linalg.qr(torch.randn(size, size, **draw))
    spread = torch.tensor([3.0, 1.0] + [0.3] * (size - 2), dtype=torch.float64)
    noise = torch.randn(15, size, **draw) * spread @ rotation.T
    mean = 20 * torch.randn(size, **draw) / math.sqrt(size)
    offsets = mean + noise  # a large common mean: uncentred PCA's first direction points at it
    vectors, epochs = flatten(centre) + offsets, torch.linspace(0, 3, 15)
    trajectory = {"vectors": vectors, "names": list(centre), "epochs": epochs}
    plane = pca_plane(trajectory, centre, generator)
    pca = PCA(n_components=2).fit(offsets.numpy())
    basis = torch.stack([flatten(d) for d in plane.directions]).numpy()
    signs = np.sign((basis * pca.components_).sum(axis=1))
    np.testing.assert_allclose(basis * signs[:, None], pca.components_, atol=1e-10)
    np.testing.assert_allclose(plane.explained_variance, pca.explained_variance_ratio_, rtol=1e-10)
    # the coordinates are the offsets themselves on the plane: the trained model is the origin
    np.testing.assert_allclose(plane.coordinates, offsets.numpy() @ basis.T, atol=1e-10)


def test_parameter_displacement_reports_how_far_training_moved_each_tensor():
    initial = {
        "pre.weight": torch.tensor([[0.0, 0.0]]),
        "q_layer.weight": torch.tensor([0.1, -0.1, 0.2, 0.0]),
        "post.bias": torch.tensor([1.0]),
    }
    trained = {  # the best validation state, which need not be the last snapshot
        "pre.weight": torch.tensor([[3.0, 4.0]]),
        "q_layer.weight": torch.tensor([0.13, -0.07, 0.23, 0.03]),
        "post.bias": torch.tensor([1.0]),
    }
    trajectory = {
        "vectors": torch.stack([flatten(initial), flatten(trained) + 1, flatten(trained) - 1]),
        "epochs": torch.tensor([0.0, 0.5, 1.0]),
        "names": list(initial),
        "shapes": [tuple(p.shape) for p in initial.values()],
    }
    rows = landscape.parameter_displacement(trajectory, trained, {"q_layer.weight": 4})
    assert [row["parameter"] for row in rows] == [*initial, "total"]
    assert [row["shape"] for row in rows] == [(1, 2), (4,), (1,), (7,)]
    expected = {  # (‖w − w₀‖, ‖w₀‖, ‖w‖, RMS change per angle)
        "pre.weight": (5.0, 0.0, 5.0, math.nan),
        "q_layer.weight": (0.06, math.sqrt(0.06), math.sqrt(0.0756), 0.03),
        "post.bias": (0.0, 1.0, 1.0, math.nan),
        "total": (math.sqrt(25.0036), math.sqrt(1.06), math.sqrt(26.0756), math.nan),
    }
    keys = ("norm_change", "norm_initial", "norm_trained", "rms_angle_change")
    for row in rows:
        np.testing.assert_allclose([row[k] for k in keys], expected[row["parameter"]], rtol=1e-5)
    with pytest.raises(ValueError, match="differ from the model"):
        landscape.parameter_displacement({**trajectory, "names": ["a", "b", "c"]}, trained)
    with pytest.raises(ValueError, match="expected"):
        landscape.parameter_displacement({**trajectory, "vectors": torch.zeros(3, 6)}, trained)


# Highest frequency of <Z_j> (frequency_bounds). One layer: its RYs follow its CNOTs, so only
# qubit j's own angle reaches Z_j, a degree-1 trigonometric polynomial of it: 1. Two layers, Z_1
# from the end: RY(w_{1,1}) -> {Z_1, X_1}; CX(1,2): X_1 -> X_1 X_2; CX(0,1): Z_1 -> Z_0 Z_1,
# CX(2,3): X_2 -> X_2 X_3; layer 0's RYs then act on up to 3 qubits: 1 + 3. Z_0: {Z_0, X_0},
# CX(0,1): X_0 -> X_0 X_1: 1 + 2. Qubits 2 and 3 mirror 1 and 0. (Resolution > 2 * bound.)
@pytest.mark.parametrize(
    ("q_depth", "resolution", "expressible"), [(1, 8, [1, 1, 1, 1]), (2, 10, [3, 4, 4, 3])]
)
def test_the_periodic_spectrum_of_the_circuit_outputs_stays_within_what_it_expresses(
    q_depth, resolution, expressible
):
    torch.manual_seed(0)
    head = DressedQuantumHead(4, q_depth, 2, q_delta=1.0)
    with torch.no_grad():
        head.post_net.weight.mul_(4)  # a clearly nonlinear loss
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(16, 512, generator=generator)
    labels = torch.randint(0, 2, (16,), generator=generator)
    centre = landscape.trained_parameters(head)
    result = landscape.periodic_landscape(head, centre, inputs, labels, resolution, generator)
    bounds = frequency_bounds(head.q_layer)
    np.testing.assert_array_equal(bounds, expressible)
    np.testing.assert_array_equal(result.bounds, bounds)
    middle = resolution // 2  # t = s = 0: the trained model's mean <Z_j>
    expected = head.q_layer(head.encode(head.pre_net(inputs))).detach().double().mean(dim=0)
    np.testing.assert_allclose(result.surface.outputs[middle, middle], expected, atol=1e-6)
    assert result.qubit_spectra.shape == (4, resolution, resolution)
    np.testing.assert_allclose(result.spectrum, result.qubit_spectra.mean(axis=0))
    np.testing.assert_allclose(result.loss_spectrum, fourier_spectrum(result.surface.loss))
    for spectrum, bound in zip(result.qubit_spectra, bounds, strict=True):
        assert largest_beyond(spectrum, bound) < 1e-6  # nothing beyond the bound
        assert largest_beyond(spectrum, bound - 1) > 1e-3  # and the bound is reached
    # the cross-entropy, a nonlinear function of the <Z_j>, has harmonics the circuit lacks
    assert largest_beyond(result.loss_spectrum, int(bounds.max())) > 1e-2


def test_probed_outputs_agree_between_stacked_and_point_by_point_evaluation():
    torch.manual_seed(0)
    head = DressedQuantumHead(2, 1, 2, q_delta=0.5)
    inputs, labels = torch.randn(6, 512), torch.tensor([0, 1] * 3)
    centre = landscape.trained_parameters(head)
    quantum, q = landscape.quantum_parameters(head), "q_layer"
    direction = periodic_direction(centre, quantum, torch.Generator().manual_seed(0))
    alphas = np.array([-1.0, 0.0, 2.0])
    stacked = landscape.landscape(head, centre, [direction], inputs, labels, alphas, probe=q)
    assert stackable(head) and stacked.probe == q and stacked.outputs.shape == (3, 2)
    partial = {n: p for n, p in centre.items() if n != "post_net.bias"}  # point by point
    hooked = landscape.landscape(head, partial, [direction], inputs, labels, alphas, probe=q)
    np.testing.assert_allclose(hooked.outputs, stacked.outputs, atol=1e-6)
    np.testing.assert_allclose(hooked.loss, stacked.loss, rtol=1e-6)
    logits = landscape.landscape(head, centre, [direction], inputs, labels, alphas, progress=False)
    assert logits.probe == "logits" and logits.outputs.shape == (3, 2)
    mean_logits = head(inputs).detach().double().mean(dim=0)
    np.testing.assert_allclose(logits.outputs[1], mean_logits, atol=1e-6)
    with pytest.raises(ValueError, match="not a layer of the head"):
        landscape.landscape(head, centre, [direction], inputs, labels, alphas, probe="nowhere")


@pytest.mark.parametrize("family", ["reuploading", "real_amplitudes", "efficient_su2", "user"])
def test_the_frequency_bound_holds_for_every_family_and_a_user_circuit(family):
    """The bound is derived from the circuit (Pauli paths through any gates): nothing of the
    periodic spectrum lies beyond it, and with these weights every bound is reached."""
    spec = user_circuit.build() if family == "user" else build_circuit(family, 3, 2)
    torch.manual_seed(0)
    head = DressedQuantumHead(circuit=spec, q_delta=1.0)
    bounds = frequency_bounds(head.q_layer)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 512, generator=generator)
    labels = torch.randint(0, 2, (8,), generator=generator)
    centre = landscape.trained_parameters(head)
    resolution = 2 * int(bounds.max()) + 2
    result = landscape.periodic_landscape(head, centre, inputs, labels, resolution, generator)
    np.testing.assert_array_equal(result.bounds, bounds)
    for spectrum, bound in zip(result.qubit_spectra, bounds, strict=True):
        assert largest_beyond(spectrum, bound) < 1e-6  # nothing beyond the bound
        assert largest_beyond(spectrum, bound - 1) > 1e-5  # reached here (seeded weights)


@pytest.mark.parametrize("angle", ["axis", "square"])
def test_a_weight_whose_gate_is_no_rotation_in_it_has_no_period_and_says_so(angle):
    from qiskit.circuit import Parameter
    from qiskit.circuit.library import RGate, RYGate

    from helpers.analysis.landscape.invariant import gate_frequency

    w = Parameter("w")
    gate = RGate(math.pi / 2, w) if angle == "axis" else RYGate(w**2)
    with pytest.raises(ValueError, match=r"is not a rotation .* decompose it"):
        gate_frequency(gate, w)
