"""The lens in function space: the additive part, multi-body shares, the ablation, saturation
and the control at zero weights, each against a case whose answer is known."""

import copy
from functools import partial

import numpy as np
import pytest
import torch

from helpers.analysis.lens import additive, function, saturation
from helpers.analysis.lens.fourier import exact_spectrum
from helpers.model.heads import DressedQuantumHead
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import build_circuit, mari, product_control


def _layer(family: str, n_qubits: int, depth: int, seed: int = 0) -> QuantumLayer:
    spec = build_circuit(family, n_qubits, depth)
    weights = torch.randn(len(spec.weights), generator=torch.Generator().manual_seed(seed))
    return QuantumLayer(circuit=spec, initial_weights=weights)


def _head(n_qubits: int, depth: int, seed: int = 0, scale: float = 1.0) -> DressedQuantumHead:
    torch.manual_seed(seed)
    head = DressedQuantumHead(n_qubits, depth).eval()
    with torch.no_grad():
        head.q_layer.weight.normal_(0.0, 1.0)
        head.pre_net.weight.mul_(scale)
    return head


@pytest.mark.parametrize("family", ["mari", "reuploading", "efficient_su2"])
def test_the_exact_additive_part_is_the_spectrums_terms_of_order_at_most_one(family):
    layer = _layer(family, 3, 2)
    part = additive.additive_part(layer)
    inputs = np.random.default_rng(1).uniform(-np.pi, np.pi, (64, 3))
    expected = exact_spectrum(layer).evaluate(inputs, max_order=1)
    assert part.exact and np.abs(part.evaluate(inputs) - expected).max() < 1e-12
    assert part.main_effects_at(inputs).shape == (64, 3, 3)


def test_the_estimated_additive_part_is_within_its_stated_error(monkeypatch):
    layer = _layer("mari", 4, 5)
    monkeypatch.setattr(additive, "EXACT_EVALUATIONS", 1)  # force the Monte Carlo estimate
    part = additive.additive_part(layer, samples=2000, seed=3)
    inputs = np.random.default_rng(2).uniform(-np.pi, np.pi, (32, 4))
    error = np.abs(part.evaluate(inputs) - exact_spectrum(layer).evaluate(inputs, max_order=1))
    assert not part.exact and part.error.min() > 0
    assert (error.max(axis=0) < 6 * part.error).all()  # the error is stated, not hidden


def test_a_product_head_is_additive_and_its_ablation_changes_nothing():
    head = _head(4, 0)
    features, labels = torch.randn(48, 512), torch.randint(0, 2, (48,))
    fit = function.fit_additive(head.q_layer, function.circuit_inputs(head, torch.randn(80, 512)))
    angles = function.circuit_inputs(head, features)
    outputs, decision = function.multi_body_shares(head, fit, angles)
    assert np.nanmax(outputs) < 1e-12 and decision < 1e-12
    part = additive.additive_part(head.q_layer)
    scores = function.ablation(
        head, {"fitted": fit.evaluate, "uniform": part.evaluate}, features, labels
    )
    for surrogate in ("fitted", "uniform"):
        assert np.array_equal(scores["correct_full"], scores[f"correct_{surrogate}"])
        assert np.abs(scores["loss_full"] - scores[f"loss_{surrogate}"]).max() < 1e-6
    assert function.surrogate_check(head, features) < 1e-12


def test_an_untrained_depth_5_circuit_is_multi_body_except_its_first_output():
    head = _head(4, 5)
    with torch.no_grad():
        head.q_layer.weight.zero_()  # fixed products of sines at 4 qubits, depth 5
    rng = np.random.default_rng(0)
    fit_angles, angles = (rng.uniform(-np.pi / 2, np.pi / 2, (400, 4)) for _ in range(2))
    fit = function.fit_additive(head.q_layer, fit_angles)
    outputs, _ = function.multi_body_shares(head, fit, angles)
    part = additive.additive_part(head.q_layer)
    main = np.abs(part.evaluate(angles) - part.constant).max(axis=0)
    assert main[0] > 0.1 and main[1:].max() < 1e-12  # ⟨Z_0⟩ = −sin(x_0); the rest products
    assert outputs[0] < 1e-12 and outputs[1:].min() > 0.8


def test_the_shares_are_functions_of_the_function():
    head = _head(4, 3, scale=3.0)
    fit_angles = function.circuit_inputs(head, torch.randn(300, 512))
    angles = function.circuit_inputs(head, torch.randn(200, 512))
    fit = function.fit_additive(head.q_layer, fit_angles)
    outputs, decision = function.multi_body_shares(head, fit, angles)
    assert 0 < decision < 1 and np.all((outputs >= 0) & (outputs <= 1.5))
    shifted = copy.deepcopy(head)
    with torch.no_grad():
        shifted.q_layer.weight.add_(4 * np.pi)  # a reparametrisation: RY's period in the state
        shifted.post_net.weight.mul_(7.0)  # and a rescaling of the logits
        shifted.post_net.bias.mul_(7.0)
    moved_fit = function.fit_additive(shifted.q_layer, fit_angles)
    moved_outputs, moved_decision = function.multi_body_shares(shifted, moved_fit, angles)
    assert np.allclose(moved_outputs, outputs, atol=1e-6)
    assert moved_decision == pytest.approx(decision, abs=1e-6)


def test_the_fitted_surrogate_is_the_least_squares_additive_fit_and_its_terms_add_up():
    head = _head(3, 2)
    angles = np.random.default_rng(5).uniform(-1.5, 1.5, (300, 3))
    fit = function.fit_additive(head.q_layer, angles)
    basis = function.additive_basis(angles, np.array([1, 1, 1]))
    assert basis.shape == (300, 7)
    outputs = head.q_layer(torch.from_numpy(angles)).detach().double().numpy()
    residual = outputs - fit.evaluate(angles)
    assert np.abs(basis.T @ residual).max() < 1e-9  # normal equations: residual ⟂ the basis
    constant, terms = fit.terms(angles)
    assert np.allclose(constant + terms.sum(axis=1), fit.evaluate(angles), atol=1e-12)


def test_removing_multi_body_terms_changes_an_entangling_head():
    head = _head(4, 5, scale=0.05)
    features, labels = torch.randn(64, 512), torch.randint(0, 2, (64,))
    part = additive.additive_part(head.q_layer)
    scores = function.ablation(head, {"uniform": part.evaluate}, features, labels)
    assert function.surrogate_check(head, features) < 1e-9
    assert np.abs(scores["loss_full"] - scores["loss_uniform"]).max() > 1e-4


@pytest.mark.parametrize(("n_qubits", "equal"), [(2, [0, 2, 4, 6, 8]), (4, [0, 4, 8]), (5, [0, 8])])
def test_the_untrained_circuit_equals_its_control_at_the_ladders_order(n_qubits, equal):
    distances = function.equals_control_at_zero_weights(
        partial(mari, n_qubits), mari(n_qubits, 0), range(9)
    )
    assert [depth for depth, value in distances.items() if value < 1e-9] == equal


def test_the_distance_from_the_control_splits_into_additive_and_multi_body_parts():
    head = _head(4, 0)
    control = product_control(mari(4, 0))
    angles = function.circuit_inputs(head, torch.randn(64, 512))
    with torch.no_grad():
        head.q_layer.weight.zero_()
    fit = function.fit_additive(head.q_layer, angles)
    split = function.control_difference(head, fit, control, angles)
    assert max(split.values()) < 1e-12  # the product head at zero weights is its control
    entangling = _head(4, 3)
    fit = function.fit_additive(entangling.q_layer, angles)
    split = function.control_difference(entangling, fit, control, angles)
    assert split["multi-body"] > 0.01 and split["total"] > 0.01


def test_the_truth_table_groups_every_image_by_its_signs_with_the_corners_outputs():
    head = _head(3, 2, scale=200.0)  # tanh saturated almost everywhere
    angles = function.circuit_inputs(head, torch.randn(120, 512))
    labels = np.arange(120) % 2
    rows = saturation.truth_table(head, angles, labels, 2)
    assert sum(sum(row["images"]) for row in rows) == 120
    saturated = saturation.saturated(angles).all(axis=1)
    assert sum(row["saturated"] for row in rows) == saturated.sum() > 60
    for row in rows:
        signs = np.array([1.0 if s == "+" else -1.0 for s in row["signs"]])
        members = (np.where(angles >= 0, 1.0, -1.0) == signs).all(axis=1)
        assert row["images"] == np.bincount(labels[members], minlength=2).tolist()
        with torch.no_grad():
            expected = head.q_layer(torch.from_numpy(signs[None] * np.pi / 2)).double()
            decision = int(head.post_net(expected.float()).argmax())
        assert np.allclose(row["outputs"], expected[0].numpy(), atol=1e-12)
        assert row["decision"] == decision
    counts = [sum(row["images"]) for row in rows]
    assert counts == sorted(counts, reverse=True)
