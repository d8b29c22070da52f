"""ZNE's noise scaling: every gate folded, scheduled circuits rescheduled, checked on a known
depolarising channel and on a fake device."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.noise import NoiseModel, depolarizing_error

from helpers.quantum import QuantumLayer
from helpers.quantum.devices import fake_device, measured_noise_factors, noise_model
from helpers.quantum.folding import effective_noise_factors, fold_gates, noisy_gates
from helpers.quantum.sampled import ZNE_FACTORS, SampledEstimator

P = 0.01  # depolarising probability of every physical gate
BLOCKS = 4


def _depolarising() -> NoiseModel:
    """Depolarising error p on every physical gate; rz is virtual (error-free), as on IBM."""
    model = NoiseModel(basis_gates=["rz", "sx", "x", "cx"])
    model.add_all_qubit_quantum_error(depolarizing_error(P, 1), ["sx", "x"])
    model.add_all_qubit_quantum_error(depolarizing_error(P, 2), ["cx"])
    return model


def _decaying_circuit() -> tuple[QuantumCircuit, int]:
    """A circuit whose ⟨Z_1⟩ is +1 noiselessly and in which every physical gate touches Z_1's
    Heisenberg-picture Pauli, so under depolarising noise ⟨Z_1⟩ = (1 - p)^(noisy gates); and
    that count."""
    circuit = QuantumCircuit(2)
    for _ in range(BLOCKS):
        circuit.x(0)
        circuit.rz(0.3, 0)
        circuit.sx(1)
        circuit.sx(1)
    circuit.cx(0, 1)
    return circuit, 3 * BLOCKS + 1


def _z1(estimator: SampledEstimator, circuit: QuantumCircuit) -> float:
    return float(estimator.run([(circuit, SparsePauliOp("ZI"))]).result()[0].data.evs)


def test_folding_multiplies_a_depolarising_decay_exponent_by_the_factor():
    circuit, noisy = _decaying_circuit()
    model = _depolarising()
    assert noisy_gates(circuit, model) == noisy
    exact = SampledEstimator(shots=None, noise_model=model)
    scaled = {f: _z1(exact, fold_gates(circuit, f)) for f in ZNE_FACTORS}
    for factor, value in scaled.items():  # ⟨Z_1⟩ = (1 - p)^(λ · noisy gates)
        assert value == pytest.approx((1 - P) ** (factor * noisy), rel=1e-9)
    measured = effective_noise_factors({f: np.array([v]) for f, v in scaled.items()}, np.ones(1))
    assert measured == pytest.approx({1: 1.0, 3: 3.0, 5: 5.0}, rel=1e-6)
    # the folded circuits are the same unitary
    for factor in ZNE_FACTORS:
        assert Statevector(fold_gates(circuit, factor)).equiv(Statevector(circuit))


def test_zne_recovers_the_noiseless_value_of_a_depolarising_decay_within_richardsons_bound():
    circuit, noisy = _decaying_circuit()
    model = _depolarising()
    unmitigated = _z1(SampledEstimator(shots=None, noise_model=model), circuit)
    mitigated = _z1(SampledEstimator(shots=None, noise_model=model, mitigation=("zne",)), circuit)
    # v(λ) = exp(-γλ): Richardson through λ = 1, 3, 5 misses v(0) = 1 by at most
    # |v'''| / 3! · 1 · 3 · 5 <= 2.5 γ³
    gamma = -noisy * math.log(1 - P)
    assert 1 - unmitigated == pytest.approx(1 - math.exp(-gamma))  # the bias: 0.12
    assert abs(mitigated - 1) <= 2.5 * gamma**3 < (1 - unmitigated) / 20


def test_a_scheduled_circuit_is_rescheduled_so_idle_time_scales_with_the_factor():
    device = fake_device("FakeManilaV2")
    layer = QuantumLayer(4, 2, backend="aer", noise_model=noise_model(device), target=device)
    circuit = layer.neural_network.circuit
    counts = circuit.count_ops()
    duration = circuit.estimate_duration(device.target)
    for factor in (3, 5):
        folded = fold_gates(circuit, factor, device)
        ops = folded.count_ops()
        for gate in ("cx", "sx", "x"):
            assert ops.get(gate, 0) == factor * counts.get(gate, 0)
        # every gate's time is multiplied: the critical path and the idle ancilla's delay too
        assert folded.estimate_duration(device.target) == pytest.approx(factor * duration)
        idle = [i for i in folded.data if i.operation.name == "delay" and
                folded.find_bit(i.qubits[0]).index == 4]  # fmt: skip
        assert sum(i.operation.duration for i in idle) == pytest.approx(
            factor * duration / device.target.dt
        )
    with pytest.raises(ValueError, match="scheduled"):
        fold_gates(circuit, 3)


def test_on_a_fake_device_every_circuit_reaches_about_the_nominal_factors():
    """The device's gate and idle noise (readout left out): hybrid depth 3 and depth 0, whose
    only noisy gates are single-qubit ones (two-qubit folding would leave it at factor 1). The
    measure assumes a decay toward 0; T1 relaxes toward |0⟩ instead, which makes it read the
    short depth-0 circuit about 10 % low, hence the tolerance."""
    device = fake_device("FakeManilaV2")
    angles = torch.rand(16, 4, generator=torch.Generator().manual_seed(2)) * 2 - 1
    for depth in (0, 3):
        weights = 0.3 * torch.randn(4 * depth, generator=torch.Generator().manual_seed(3))
        ideal = QuantumLayer(4, depth, initial_weights=weights)(angles.double()).detach().numpy()
        layer = QuantumLayer(4, depth, backend="aer", noise_model=noise_model(device),
                             initial_weights=weights, target=device)  # fmt: skip
        qnn = layer.neural_network
        rows = np.hstack([angles.double().numpy(), np.tile(weights.numpy(), (16, 1))])
        values = {(*qnn.input_params, *qnn.weight_params): rows[:, None, :]}
        measured = measured_noise_factors(qnn.circuit, qnn.observables, values, ideal, device)
        for factor in ZNE_FACTORS[1:]:  # measured: depth 0 2.69, 4.39; depth 3 3.08, 5.27
            assert measured[factor] == pytest.approx(factor, rel=0.15), (depth, measured)


def test_a_circuit_with_nothing_noisy_to_fold_gets_no_zne():
    circuit = QuantumCircuit(2)
    circuit.rz(0.4, 1)  # virtual: the noise model has no error on it
    model = _depolarising()
    assert noisy_gates(circuit, model) == 0 and noisy_gates(circuit, None) == 0
    estimator = SampledEstimator(shots=64, seed=0, noise_model=model, mitigation=("zne",))
    with pytest.raises(ValueError, match="no error on any gate"):
        _z1(estimator, circuit)


def test_bad_factors_and_gates_are_refused_with_what_to_change():
    circuit, _ = _decaying_circuit()
    with pytest.raises(ValueError, match="odd"):
        fold_gates(circuit, 2)
    for factors in [(1, 2, 3), (3, 5), (1,), (1, 3, 3)]:
        with pytest.raises(ValueError, match="distinct odd factors, 1 first"):
            SampledEstimator(zne_factors=factors, mitigation=("zne",))
    s_gate = QuantumCircuit(1)
    s_gate.s(0)
    with pytest.raises(ValueError, match=r"'sdg'.*transpile"):
        fold_gates(s_gate, 3)
    measured = QuantumCircuit(1, 1)
    measured.measure(0, 0)
    with pytest.raises(ValueError, match="no gate"):
        fold_gates(measured, 3)
