"""SampledEstimator: bit-strings sampled on qiskit-aer, device noise, M3 and ZNE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from helpers.quantum import QuantumLayer
from helpers.quantum.sampled import SampledEstimator

WEIGHTS = 0.7 * torch.randn(12, generator=torch.Generator().manual_seed(0))
ANGLES = torch.rand(6, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1
# P(measured | prepared) per qubit: rows prepared 0 / 1
READOUT = [
    [[0.9, 0.1], [0.2, 0.8]],
    [[0.95, 0.05], [0.05, 0.95]],
    [[0.8, 0.2], [0.1, 0.9]],
    [[0.97, 0.03], [0.3, 0.7]],
]


def _readout_only() -> NoiseModel:
    model = NoiseModel()
    for qubit, probabilities in enumerate(READOUT):
        model.add_readout_error(ReadoutError(probabilities), [qubit])
    return model


def _predicted_readout(exact: torch.Tensor) -> torch.Tensor:
    """<Z> read through P(m | p): P(0) = p0 (1 - e0) + p1 e1, so <Z> -> (1 - e0 - e1) <Z> + e1 - e0
    with e0 = P(1 | 0) and e1 = P(0 | 1)."""
    e0 = torch.tensor([m[0][1] for m in READOUT], dtype=exact.dtype)
    e1 = torch.tensor([m[1][0] for m in READOUT], dtype=exact.dtype)
    return (1 - e0 - e1) * exact + (e1 - e0)


def _layer(**options) -> QuantumLayer:
    return QuantumLayer(4, 3, backend="aer", initial_weights=WEIGHTS, **options)


def test_the_same_seed_repeats_a_run_bit_for_bit_and_another_seed_differs():
    first = _layer(shots=64, seed=123)(ANGLES)
    assert torch.equal(first, _layer(shots=64, seed=123)(ANGLES))
    assert not torch.equal(first, _layer(shots=64, seed=124)(ANGLES))
    # every estimate is a frequency of 64 bit-strings: (2 k - 64) / 64 for an integer k
    counts = (first.double() * 64 + 64) / 2
    torch.testing.assert_close(counts, counts.round(), atol=1e-4, rtol=0)
    noisy = {"shots": 64, "noise_model": _readout_only(), "mitigation": ("m3",)}
    assert torch.equal(_layer(seed=5, **noisy)(ANGLES), _layer(seed=5, **noisy)(ANGLES))


def test_variance_at_64_shots_is_the_binomial_one_at_several_values():
    rows = 1500
    # depth 0: <Z_j> = -sin(x_j); the four qubits take four values from 0 to -0.95
    z = torch.tensor([0.0, 0.5, -0.8, -0.95], dtype=torch.float64)
    angles = torch.arcsin(-z).repeat(rows, 1)
    layer = QuantumLayer(4, 0, backend="aer", shots=64, seed=11)
    estimates = layer(angles).double()
    assert estimates.abs().max() <= 1.0
    p = (1 + z) / 2  # P(bit 0)
    variance = (1 - z**2) / 64
    # the sample variance over rows has variance sigma^4 (2 / (rows - 1) + kurtosis / rows)
    kurtosis = (1 - 6 * p * (1 - p)) / (64 * p * (1 - p))
    se_variance = variance * torch.sqrt(2 / (rows - 1) + kurtosis / rows)
    observed = estimates.var(dim=0)
    assert torch.all((observed - variance).abs() < 4 * se_variance), (observed, variance)
    # and the estimates are unbiased: within 4 standard errors of the mean
    assert torch.all((estimates.mean(dim=0) - z).abs() < 4 * torch.sqrt(variance / rows))


def test_noiseless_shots_converge_to_the_exact_values():
    exact = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES).double()
    errors = []
    for shots in (64, 1024, 65_536):
        estimate = _layer(shots=shots, seed=2)(ANGLES).double()
        errors.append((estimate - exact).pow(2).mean().sqrt().item())
        # the root-mean-square error of a frequency of `shots` bit-strings: sqrt((1 - Z^2)/shots)
        expected = ((1 - exact**2) / shots).mean().sqrt().item()
        assert errors[-1] < 2 * expected
    assert errors[0] > errors[1] > errors[2]


def test_readout_error_moves_outputs_as_its_confusion_matrices_predict_and_m3_undoes_it():
    exact = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES.double())
    predicted = _predicted_readout(exact)
    # exact evaluation (no shots): the confusion matrices applied to the exact probabilities
    read = _layer(noise_model=_readout_only())(ANGLES.double())
    torch.testing.assert_close(read, predicted, atol=1e-9, rtol=0)
    assert (read - exact).abs().mean() > 0.1
    # sampled: within 4 standard errors of the prediction
    shots = 20_000
    sampled = _layer(shots=shots, seed=3, noise_model=_readout_only())(ANGLES.double())
    assert torch.all((sampled - predicted).abs() < 4 * torch.sqrt((1 - predicted**2) / shots))
    # M3 on the same counts: back to the exact values within 4 standard errors: the counts'
    # (amplified by 1 / fidelity) and the calibration's (10,000 shots per prepared state), by
    # the derivatives of (<Z>_read + e0 - e1) / (1 - e0 - e1) in e0 and e1
    mitigated = _layer(shots=shots, seed=3, noise_model=_readout_only(), mitigation=("m3",))
    e0 = torch.tensor([m[0][1] for m in READOUT], dtype=exact.dtype)
    e1 = torch.tensor([m[1][0] for m in READOUT], dtype=exact.dtype)
    fidelity = 1 - e0 - e1
    calibration = ((1 + exact) ** 2 * e0 * (1 - e0) + (1 - exact) ** 2 * e1 * (1 - e1)) / 10_000
    se = torch.sqrt((1 - predicted**2) / shots + calibration) / fidelity
    assert torch.all((mitigated(ANGLES.double()) - exact).abs() < 4 * se)


def test_m3_calibrates_balanced_on_a_simulator_of_the_device():
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from helpers.analysis.hardware import hardware_budget

    device = FakeManilaV2()
    model = NoiseModel.from_backend(device)
    layer = _layer(shots=64, seed=1, noise_model=model, mitigation=("m3",), target=device)
    layer(ANGLES[:2])
    [mitigator] = layer.backend.estimator._mitigators.values()
    assert mitigator.num_qubits == device.num_qubits  # not a bare 30-qubit AerSimulator
    # balanced, as on hardware, so the calibration is what hardware_budget counts
    assert mitigator.cal_method == "balanced"
    extra = hardware_budget(1, 64, ("m3",))["shots"] - 64
    assert mitigator._balanced_shots == extra


def test_exact_device_noise_agrees_with_many_sampled_shots_of_the_same_noise():
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    device = FakeManilaV2()
    model = NoiseModel.from_backend(device)
    exact = _layer(noise_model=model, target=device)(ANGLES.double())
    shots = 50_000
    sampled = _layer(shots=shots, seed=4, noise_model=model, target=device)(ANGLES.double())
    assert torch.all((sampled - exact).abs() < 4 * torch.sqrt((1 - exact**2) / shots))
    noiseless = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES.double())
    assert (exact - noiseless).abs().mean() > 0.02  # the device's noise is visible


def test_zero_noise_extrapolation_removes_most_of_a_gate_noise_bias():
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cx"])
    noiseless = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES.double())
    noisy = _layer(noise_model=model)(ANGLES.double())
    extrapolated = _layer(noise_model=model, mitigation=("zne",))(ANGLES.double())
    bias, remaining = (noisy - noiseless).abs().mean(), (extrapolated - noiseless).abs().mean()
    assert bias > 0.01 and remaining < bias / 4, (bias, remaining)


def test_gradients_through_the_estimator_follow_the_readout_scaling():
    exact_layer = QuantumLayer(4, 3, initial_weights=WEIGHTS)
    read_layer = _layer(noise_model=_readout_only())
    gradients = []
    for layer in (exact_layer, read_layer):
        angles = ANGLES[:3].double().requires_grad_(True)
        layer(angles)[:, 0].sum().backward()
        gradients.append(angles.grad)
    scale = 1 - READOUT[0][0][1] - READOUT[0][1][0]  # parameter shift sees the scaled <Z_0>
    torch.testing.assert_close(gradients[1], scale * gradients[0], atol=1e-7, rtol=0)


def test_every_observable_of_a_row_comes_from_the_same_bit_strings():
    # a Bell pair: Z0 and Z1 are always equal on every shot, so their estimates are identical
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    observables = [SparsePauliOp("IZ"), SparsePauliOp("ZI"), SparsePauliOp("ZZ")]
    data = SampledEstimator(shots=100, seed=0).run([(circuit, observables)]).result()[0].data
    assert data.evs[0] == data.evs[1] != 0 and data.evs[2] == 1.0
    np.testing.assert_allclose(data.stds[:2], math.sqrt((1 - data.evs[0] ** 2) / 100))


def test_bad_requests_name_what_to_change():
    circuit = QuantumCircuit(1)
    with pytest.raises(ValueError, match="not diagonal"):
        SampledEstimator().run([(circuit, SparsePauliOp("X"))]).result()
    with pytest.raises(ValueError, match="give shots"):
        SampledEstimator(shots=None, mitigation=("m3",))
    with pytest.raises(ValueError, match="unknown"):
        SampledEstimator(mitigation=("pec",))
    with pytest.raises(ValueError, match="backend='aer'"):
        QuantumLayer(4, 1, mitigation=("m3",))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ibm_runtime_estimator_runs_the_layer_through_the_same_interface():
    # the README's hardware snippet, in IBM Runtime's local mode (a fake device, no account)
    from qiskit_ibm_runtime import EstimatorV2
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    device = FakeManilaV2()
    estimator = EstimatorV2(mode=device, options={"simulator": {"seed_simulator": 3}})
    layer = QuantumLayer(
        4, 3, backend=estimator, shots=1024, target=device, initial_weights=WEIGHTS
    )
    exact = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES)
    noisy = layer(ANGLES)
    assert noisy.shape == exact.shape and noisy.abs().max() <= 1
    assert 0 < (noisy - exact).abs().mean() < 0.2  # device noise and shots, not garbage


def test_a_readout_error_on_every_qubit_applies_to_each_measured_qubit():
    model = NoiseModel()
    model.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.25, 0.75]]))
    exact = QuantumLayer(4, 3, initial_weights=WEIGHTS)(ANGLES.double())
    read = _layer(noise_model=model)(ANGLES.double())
    torch.testing.assert_close(read, (1 - 0.1 - 0.25) * exact + (0.25 - 0.1), atol=1e-9, rtol=0)


def _estimate(estimator: SampledEstimator, circuit, angles) -> np.ndarray:
    observables = [SparsePauliOp(label) for label in ("IIIZ", "IIZI", "IZII", "ZIII")]
    pub = (circuit, observables, np.asarray(angles)[:, None, :])
    return estimator.run([pub]).result()[0].data.evs


def _bound_circuit() -> QuantumCircuit:
    """The layer's circuit with its weights bound, leaving the four input angles."""
    layer = QuantumLayer(4, 3, initial_weights=WEIGHTS)
    circuit = layer.circuit
    weights = [p for p in circuit.parameters if p.name.startswith("w")]
    return circuit.assign_parameters(dict(zip(weights, WEIGHTS.tolist(), strict=True)))


def test_reset_starts_a_run_that_repeats_a_new_estimator_bit_for_bit():
    circuit, angles = _bound_circuit(), ANGLES.double().numpy()
    noisy = {"noise_model": _readout_only()}
    estimator = SampledEstimator(shots=64, seed=9, **noisy)
    _estimate(estimator, circuit, angles)  # a run, then a new one on the same estimator
    for shots, seed, mitigation in [(256, 5, ("m3",)), (64, 9, ()), (None, 0, ())]:
        estimator.reset(shots=shots, seed=seed, mitigation=mitigation)
        again = _estimate(estimator, circuit, angles)
        fresh = SampledEstimator(shots=shots, seed=seed, mitigation=mitigation, **noisy)
        np.testing.assert_array_equal(again, _estimate(fresh, circuit, angles))
        assert estimator.shots == shots and estimator.mitigation == mitigation
    # M3 recalibrates in a new run; reset validates as the constructor does
    estimator.reset(shots=64, seed=1, mitigation=("m3",))
    _estimate(estimator, circuit, angles)
    first = next(iter(estimator._mitigators.values()))
    estimator.reset(shots=64, seed=1, mitigation=("m3",))
    assert not estimator._mitigators
    _estimate(estimator, circuit, angles)
    assert next(iter(estimator._mitigators.values())) is not first
    with pytest.raises(ValueError, match="give shots"):
        estimator.reset(shots=None, seed=0, mitigation=("m3",))
    with pytest.raises(ValueError, match="unknown"):
        estimator.reset(shots=64, seed=0, mitigation=("pec",))
    with pytest.raises(ValueError, match="positive"):
        estimator.reset(shots=0, seed=0)


def test_exact_probabilities_are_simulated_once_for_every_shot_count_and_seed(monkeypatch):
    from qiskit_aer import AerSimulator

    runs = []
    original = AerSimulator.run

    def counted(self, *args, **kwargs):
        runs.append(kwargs.get("shots"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AerSimulator, "run", counted)
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cx"])
    circuit, angles = _bound_circuit(), ANGLES.double().numpy()
    estimator = SampledEstimator(shots=64, seed=0, noise_model=model, mitigation=("zne",))
    first = _estimate(estimator, circuit, angles)
    assert len(runs) == 3  # noise factors 1, 3 and 5
    for shots, seed in [(64, 0), (1024, 1), (None, 0)]:
        estimator.reset(shots=shots, seed=seed, mitigation=("zne",))
        values = _estimate(estimator, circuit, angles)
    assert len(runs) == 3  # remembered across runs
    estimator.reset(shots=64, seed=0, mitigation=("zne",))
    np.testing.assert_array_equal(_estimate(estimator, circuit, angles), first)
    assert len(runs) == 3
    # other rows are new: simulated, factor 1 only without ZNE
    estimator.reset(shots=64, seed=0)
    _estimate(estimator, circuit, angles[:3])
    assert len(runs) == 4
    assert np.abs(values).max() <= 1


def test_zne_extrapolates_from_the_very_counts_the_m3_run_of_the_same_seed_corrects(
    monkeypatch,
):
    import helpers.quantum.sampled as sampled

    scaled = []
    original = sampled._extrapolate
    monkeypatch.setattr(
        sampled, "_extrapolate", lambda f, v: scaled.append(v.copy()) or original(f, v)
    )
    model = _readout_only()
    model.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cx"])
    circuit, angles = _bound_circuit(), ANGLES.double().numpy()
    estimator = SampledEstimator(shots=256, seed=4, noise_model=model, mitigation=("m3",))
    m3 = _estimate(estimator, circuit, angles)
    estimator.reset(shots=256, seed=4, mitigation=("m3", "zne"))
    _estimate(estimator, circuit, angles)
    np.testing.assert_array_equal(np.clip(scaled[0][0], -1, 1), m3)


def test_the_aer_fallback_for_quantum_measurement_errors_agrees_in_distribution():
    # a bit flip before every measurement (a quantum error on 'measure': Aer samples shot by
    # shot) is the same as a symmetric readout error (exact probabilities, multinomial counts)
    from qiskit_aer.noise import ReadoutError, pauli_error

    flip = 0.1
    quantum, classical = NoiseModel(), NoiseModel()
    quantum.add_all_qubit_quantum_error(pauli_error([("X", flip), ("I", 1 - flip)]), ["measure"])
    classical.add_all_qubit_readout_error(ReadoutError([[1 - flip, flip], [flip, 1 - flip]]))
    with pytest.raises(ValueError, match="quantum error on 'measure'"):
        SampledEstimator(shots=None, noise_model=quantum)
    circuit = _bound_circuit()
    angles = np.tile(ANGLES[:2].double().numpy(), (1000, 1))  # two rows, 1000 times each
    shots = 64
    estimates = {}
    for name, model in (("quantum", quantum), ("classical", classical)):
        estimator = SampledEstimator(shots=shots, seed=6, noise_model=model)
        observables = [SparsePauliOp(label) for label in ("IIIZ", "IIZI", "IZII", "ZIII")]
        result = estimator.run([(circuit, observables, angles[:, None, :])]).result()[0]
        assert ("shot by shot" in result.metadata["simulator"]) == (name == "quantum")
        estimates[name] = result.data.evs.reshape(1000, 2, 4)
    exact = SampledEstimator(shots=None, noise_model=classical)
    z = _estimate(exact, circuit, ANGLES[:2].double().numpy())  # (2, 4)
    se = np.sqrt((1 - z**2) / shots / 1000)
    for values in estimates.values():
        assert np.all(np.abs(values.mean(axis=0) - z) < 4 * se)
        # the spread of one row's estimates is the binomial one, within 20 % (4.5 SE)
        np.testing.assert_allclose(values.var(axis=0, ddof=1), (1 - z**2) / shots, rtol=0.2)
