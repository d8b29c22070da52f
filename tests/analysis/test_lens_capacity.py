"""Fisher information, effective dimension and gradient variance against independent references:
a per-sample autograd loop, Qiskit ML's ``LocalEffectiveDimension``, closed forms."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.neural_networks import (
    EstimatorQNN,
    LocalEffectiveDimension,
    SamplerQNN,
)
from torch import nn

from helpers.analysis.lens.capacity import (
    fisher_information,
    fisher_parameters,
    gradient_variance,
    local_effective_dimension,
)
from helpers.model.heads import DressedQuantumHead, classical_head
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import build_circuit

SIZES = np.array([100, 1000, 10**5])


def _brute_force_fisher(head: nn.Module, features: torch.Tensor) -> np.ndarray:
    """Σ_c p_c ∇log p_c ∇log p_cᵀ averaged over samples: one autograd backward per sample and
    class, through the head's own forward (the QNN's adjoint vector-Jacobian product)."""
    head = copy.deepcopy(head).double()
    params = [p for p in head.parameters() if p.requires_grad]
    size = sum(p.numel() for p in params)
    total = torch.zeros(size, size, dtype=torch.float64)
    for row in features.double():
        log_probs = torch.log_softmax(head(row[None])[0], dim=0)
        for c, log_prob in enumerate(log_probs):
            grads = torch.autograd.grad(log_prob, params, retain_graph=c < len(log_probs) - 1)
            grad = torch.cat([g.reshape(-1) for g in grads])
            total += log_prob.exp().detach() * torch.outer(grad, grad)
    return (total / len(features)).numpy()


def _features(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 512, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("make", "size"),
    [
        (lambda: DressedQuantumHead(2, 2, 3, q_delta=1.0), 2 * 513 + 4 + 3 * 3),
        (lambda: DressedQuantumHead(circuit=build_circuit("reuploading", 3, 1), q_delta=1.0), None),
        (lambda: DressedQuantumHead(2, 0, 2), 2 * 513 + 0 + 2 * 3),  # no circuit weights
        (lambda: classical_head("512_nq_n", 3, 2), 3 * 513 + 2 * 4),
        (lambda: classical_head("512_n", 3, 3), 3 * 513),
    ],
    ids=["hybrid", "reuploading", "product", "classical_twin", "classical_linear"],
)
def test_chunked_fisher_equals_a_per_sample_autograd_loop(make, size):
    torch.manual_seed(0)
    head = make()
    features = _features()
    found = fisher_information(head, features, chunk_size=4)  # two chunks, one partial
    expected = _brute_force_fisher(head, features)
    if size is not None:
        assert found.shape == (size, size)
    assert found.shape[0] == sum(np.prod(shape) for _, shape in fisher_parameters(head))
    assert np.abs(expected).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-8)
    assert head.training  # the mode is restored


def test_parameter_order_is_named_parameters_order():
    names = [name for name, _ in fisher_parameters(DressedQuantumHead(2, 1))]
    assert names == [
        "pre_net.weight",
        "pre_net.bias",
        "q_layer.weight",
        "post_net.weight",
        "post_net.bias",
    ]


def test_softmax_likelihood_equals_probabilities_of_the_softmax_outputs():
    torch.manual_seed(1)
    head = classical_head("512_nq_n", 4, 3)
    with_softmax = nn.Sequential(head, nn.Softmax(dim=1))
    features = _features(5, seed=1)
    np.testing.assert_allclose(
        fisher_information(with_softmax, features, likelihood="probabilities"),
        fisher_information(head, features),
        atol=1e-12,
    )


def _toy_circuit() -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    inputs, weights = ParameterVector("x", 2), ParameterVector("w", 4)
    circuit = QuantumCircuit(2)
    circuit.ry(inputs[0], 0)
    circuit.ry(inputs[1], 1)
    circuit.cx(0, 1)
    circuit.ry(weights[0], 0)
    circuit.ry(weights[1], 1)
    circuit.cx(1, 0)
    circuit.ry(weights[2], 0)
    circuit.ry(weights[3], 1)
    return circuit, inputs, weights


def _connector(qnn: SamplerQNN | EstimatorQNN, weights: np.ndarray) -> TorchConnector:
    """The QNN as a torch module holding ``weights`` in float64 (TorchConnector rounds its
    initial weights to float32, a 1e-8 change Qiskit's own computation does not make)."""
    connector = TorchConnector(qnn, initial_weights=weights)
    connector.weight.data = torch.as_tensor(weights, dtype=torch.float64)
    return connector


def _toy_samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 2)), rng.uniform(0, 1, 4)


def test_effective_dimension_matches_qiskit_local_effective_dimension_of_a_sampler_qnn():
    # Qiskit's Fisher is taken in the QNN's weights only (inputs are data), with the outputs as
    # the class probabilities: the connector's Fisher under likelihood="probabilities"
    circuit, inputs, weights = _toy_circuit()
    qnn = SamplerQNN(circuit=circuit, input_params=inputs, weight_params=weights)  # exact
    samples, trained = _toy_samples()
    reference = LocalEffectiveDimension(qnn, weight_samples=trained, input_samples=samples)
    grads, outputs = reference.run_monte_carlo()
    fisher = fisher_information(_connector(qnn, trained), samples, likelihood="probabilities")
    expected_fisher = reference.get_fisher_information(grads, outputs).mean(axis=0)
    np.testing.assert_allclose(fisher, expected_fisher, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        local_effective_dimension(fisher, SIZES),
        reference.get_effective_dimension(SIZES),
        rtol=1e-6,
    )
    assert local_effective_dimension(fisher, 1000) == pytest.approx(
        float(reference.get_effective_dimension(1000)), rel=1e-6
    )


def test_issue_1003_exact_estimator_qnn_with_negative_outputs_is_finite_in_qiskit_0_9_1():
    # Qiskit ML maps each <Z_j> to the two outcomes (1 ± <Z_j>)/2, which are in [0, 1] for
    # any exact <Z_j>: a negative <Z_j> alone never gave a NaN
    circuit, inputs, weights = _toy_circuit()
    observables = [SparsePauliOp("IZ"), SparsePauliOp("ZI")]
    qnn = EstimatorQNN(
        circuit=circuit,
        input_params=inputs,
        weight_params=weights,
        observables=observables,
        default_precision=0.0,
    )
    samples, trained = _toy_samples()
    assert qnn.forward(samples, trained).min() < -0.3
    reference = LocalEffectiveDimension(qnn, weight_samples=trained, input_samples=samples)
    expected = reference.get_effective_dimension(SIZES)
    assert np.all(np.isfinite(expected))
    fisher = fisher_information(_connector(qnn, trained), samples, likelihood="expectations")
    expected_fisher = reference.get_fisher_information(*reference.run_monte_carlo()).mean(axis=0)
    np.testing.assert_allclose(fisher, expected_fisher, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(local_effective_dimension(fisher, SIZES), expected, rtol=1e-6)


def test_issue_1003_noisy_expectations_beyond_one_gave_nan_and_are_now_clipped():
    # With a precision > 0 the estimator adds Gaussian noise: near <Z> = 1 an estimate exceeds
    # 1, an outcome probability (1 - <Z>)/2 is negative, and 0.8.4's sqrt(p) * g / p is NaN
    circuit, inputs, weights = _toy_circuit()
    qnn = EstimatorQNN(
        circuit=circuit,
        input_params=inputs,
        weight_params=weights,
        observables=[SparsePauliOp("IZ"), SparsePauliOp("ZI")],
        estimator=StatevectorEstimator(seed=1),
        default_precision=1 / 64,
    )
    rng = np.random.default_rng(0)
    samples, near_zero = rng.normal(0, 0.05, (20, 2)), rng.normal(0, 0.05, 4)  # <Z_j> ≈ 1
    reference = LocalEffectiveDimension(qnn, weight_samples=near_zero, input_samples=samples)
    grads, outputs = reference.run_monte_carlo()
    assert outputs.min() < 0
    with pytest.warns(RuntimeWarning, match="invalid value encountered in sqrt"):
        old = np.sqrt(outputs[:, :, None]) * grads / outputs[:, :, None]  # 0.8.4, line 211
    assert np.isnan(old).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0.9.1 clips the negative outcomes to 0, silently
        assert np.isfinite(reference.get_effective_dimension(1000))
    with pytest.raises(ValueError, match="not a probability"):  # ours refuses them
        fisher_information(_connector(qnn, near_zero), samples, likelihood="expectations")


def _random_fisher(size: int = 12, rank: int = 12, seed: int = 0) -> np.ndarray:
    factor = np.random.default_rng(seed).normal(size=(size, rank))
    return factor @ factor.T


def test_effective_dimension_is_invariant_to_rescaling_the_fisher():
    torch.manual_seed(2)
    fisher = fisher_information(DressedQuantumHead(2, 1, 2, q_delta=1.0), _features(8))
    np.testing.assert_allclose(
        local_effective_dimension(7 * fisher, SIZES),
        local_effective_dimension(fisher, SIZES),
        rtol=1e-10,
    )


def test_effective_dimension_equals_the_slogdet_formula():
    fisher, gamma = _random_fisher(rank=7), 0.5
    sizes = np.array([1e3, 1e5])
    normalised = len(fisher) * fisher / np.trace(fisher)
    kappa = gamma * sizes / (2 * np.pi * np.log(sizes))
    expected = [
        np.linalg.slogdet(np.eye(len(fisher)) + k * normalised)[1] / np.log(k) for k in kappa
    ]
    np.testing.assert_allclose(local_effective_dimension(fisher, sizes, gamma), expected)


def test_effective_dimension_bounds_are_attained_by_identity_and_rank_one_fishers():
    size, n = 12, 1000.0
    kappa = n / (2 * np.pi * np.log(n))
    upper, lower = size * np.log1p(kappa) / np.log(kappa), np.log1p(kappa * size) / np.log(kappa)
    assert local_effective_dimension(np.eye(size), n) == pytest.approx(upper)
    rank_one = np.outer(np.arange(1.0, size + 1), np.arange(1.0, size + 1))
    assert local_effective_dimension(rank_one, n) == pytest.approx(lower)
    for seed in range(3):
        assert lower <= local_effective_dimension(_random_fisher(size, 5, seed), n) <= upper
    # [0, P] holds up to the factor log(1 + κ)/log κ, which tends to 1
    assert 0 < lower < upper and size < upper < 1.02 * size
    assert local_effective_dimension(np.eye(size), 1e12) == pytest.approx(size, rel=2e-3)


def test_effective_dimension_tends_to_the_rank_as_n_grows():
    fisher = np.diag([1.0, 2.0, 3.0, 0.0, 0.0])
    sizes = np.array([1e3, 1e6, 1e12, 1e50, 1e100])
    dims = local_effective_dimension(fisher, sizes)
    assert dims.shape == sizes.shape
    assert np.all(np.diff(np.abs(dims - 3)) < 0)
    assert dims[-1] == pytest.approx(3, abs=0.01)
    with pytest.raises(ValueError, match="κ"):
        local_effective_dimension(fisher, 10)


def test_gradient_variance_falls_with_depth_from_its_closed_form_at_depth_0():
    # RealAmplitudes at reps 0 on 4 qubits: <Z_0> = cos(x_0 + w_0), so Var ∂/∂w_0 = 1/2 and
    # the other three weights have no gradient (mean over k: 1/8)
    result = gradient_variance(("real_amplitudes", 4), [0, 6], samples=64, seed=3)
    assert result.depths == (0, 6) and result.n_qubits == 4
    assert result.first[0] == pytest.approx(0.5, abs=4 * result.first_ses[0])
    assert result.variances[0] == pytest.approx(0.125, abs=4 * result.ses[0])
    assert result.first[0] - result.first[1] > 4 * (result.first_ses[0] + result.first_ses[1])
    assert result.variances[0] > result.variances[1]
    again = gradient_variance(("real_amplitudes", 4), [6], samples=64, seed=3)
    assert again.variances[0] == result.variances[1]  # each depth its own seeded draws
    other = gradient_variance(("real_amplitudes", 4), [6], samples=64, seed=4)
    assert other.variances[0] != result.variances[1]


def test_gradient_variance_of_a_depth_without_weights_is_nan():
    result = gradient_variance(lambda depth: build_circuit("mari", 3, depth), [0, 1], samples=4)
    assert np.isnan(result.variances[0]) and np.isnan(result.first_ses[0])
    assert np.isfinite(result.variances[1]) and result.variances[1] > 0


def test_gradient_study_sweeps_depth_from_both_starts_and_width_at_the_deepest_depth():
    from helpers.analysis.lens.capacity_study import gradient_study
    from helpers.config import Config

    cfg = Config(n_qubits=4, q_depth=2, q_delta=0.01, seed=0)
    found = gradient_study(cfg, [1, 4], 48)
    assert set(found) == {"uniform", "heads' start", "width"}
    assert found["uniform"].depths == (1, 4) and found["width"].depths == (2, 4, 6, 8)
    # near w = 0 the ladder circuit's gradients are not those of random circuits
    assert not np.allclose(found["heads' start"].variances, found["uniform"].variances)
    width = found["width"]
    assert width.variances[0] > width.variances[-1] + 3 * (width.ses[0] + width.ses[-1])


def test_the_trained_qnns_effective_dimension_matches_qiskit_ml_under_its_likelihood():
    from helpers.analysis.lens.capacity_study import qiskit_cross_check

    layer = QuantumLayer(
        3, 2, initial_weights=torch.randn(6, generator=torch.Generator().manual_seed(2))
    )
    angles = np.random.default_rng(3).uniform(-np.pi / 2, np.pi / 2, (40, 3))
    ours, theirs = qiskit_cross_check(layer, angles, [1e3, 1e5])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert 0 < ours[0] < ours[1] <= 6 * 1.2
    assert qiskit_cross_check(QuantumLayer(3, 0), angles, [1e3]) is None  # no weights: no check
