"""Entanglement on the data: the layer's states against Qiskit, and the measures on known states."""

from __future__ import annotations

from collections import OrderedDict
from functools import reduce

import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import Statevector

from helpers.analysis.lens import entanglement
from helpers.analysis.lens.entanglement import (
    bloch_vectors,
    layer_states,
    meyer_wallach,
    qubit_entropies,
    reduced_qubit_states,
    summarise_states,
)
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import CircuitSpec, build_circuit, unentangled
from helpers.quantum.layer import z_observables
from helpers.quantum.operators import UnsupportedCircuitError


def _layer(spec: CircuitSpec, seed: int, **kwargs) -> QuantumLayer:
    weights = torch.randn(len(spec.weights), generator=torch.Generator().manual_seed(seed))
    return QuantumLayer(circuit=spec, initial_weights=weights, **kwargs)


def _inputs(spec: CircuitSpec, rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, (rows, len(spec.inputs)))


def _reference_states(layer: QuantumLayer, inputs: np.ndarray) -> np.ndarray:
    spec = layer.spec
    weights = layer.weight.detach().double().numpy()
    parameters = [*spec.inputs, *spec.weights]
    bound = [dict(zip(parameters, [*x, *weights], strict=True)) for x in inputs]
    return np.stack([Statevector(spec.circuit.assign_parameters(b)).data for b in bound])


def _random_qubits(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random one-qubit states ``(n, 2)``, complex, normalised."""
    qubits = rng.normal(size=(n, 2)) + 1j * rng.normal(size=(n, 2))
    return qubits / np.linalg.norm(qubits, axis=1, keepdims=True)


def _product(qubits: np.ndarray) -> np.ndarray:
    """The product state of ``qubits`` (qubit 0 first): little-endian, so qubit 0 is kron'd last."""
    return reduce(np.kron, qubits[::-1])


def _ghz(n: int) -> np.ndarray:
    state = np.zeros(2**n, dtype=complex)
    state[[0, -1]] = 2**-0.5
    return state


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_product_states_have_no_entanglement_and_their_factors_bloch_vectors(n):
    rng = np.random.default_rng(n)
    factors = np.stack([_random_qubits(rng, n) for _ in range(6)])  # (B, n, 2)
    states = np.stack([_product(qubits) for qubits in factors])
    np.testing.assert_allclose(meyer_wallach(states, n), 0.0, atol=1e-12)
    np.testing.assert_allclose(qubit_entropies(states, n), 0.0, atol=1e-6)
    a, b = factors[..., 0], factors[..., 1]  # each qubit a|0⟩ + b|1⟩
    expected = np.stack(
        [2 * (a.conj() * b).real, 2 * (a.conj() * b).imag, abs(a) ** 2 - abs(b) ** 2], axis=-1
    )
    np.testing.assert_allclose(bloch_vectors(states, n), expected, atol=1e-12)
    rho = reduced_qubit_states(states, n)
    np.testing.assert_allclose(rho, np.einsum("bki,bkj->bkij", factors, factors.conj()), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_ghz_states_are_maximally_entangled(n):
    states = _ghz(n)[None]
    np.testing.assert_allclose(meyer_wallach(states, n), [1.0], atol=1e-12)
    np.testing.assert_allclose(qubit_entropies(states, n), np.ones((1, n)), atol=1e-12)
    np.testing.assert_allclose(bloch_vectors(states, n), np.zeros((1, n, 3)), atol=1e-12)


def test_bell_pair_has_one_bit_per_qubit_and_a_product_state_none():
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    product = np.kron([1, 1j], [np.cos(0.3), np.sin(0.3)]) / np.sqrt(2)
    entropies = qubit_entropies(np.stack([bell, product]), 2)
    np.testing.assert_allclose(entropies, [[1.0, 1.0], [0.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(meyer_wallach(np.stack([bell, product]), 2), [1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("family", ["mari", "reuploading", "efficient_su2"])
def test_layer_states_match_qiskit_statevector(family):
    spec = build_circuit(family, 3, 2)
    layer = _layer(spec, seed=3)
    inputs = _inputs(spec, 16, seed=4)
    states = layer_states(layer, torch.from_numpy(inputs))
    assert states.shape == (16, 8) and states.dtype == np.complex128
    np.testing.assert_allclose(states, _reference_states(layer, inputs), atol=1e-10)
    if family == "efficient_su2":  # RZ and RX layers: the amplitudes are genuinely complex
        assert np.abs(states.imag).max() > 0.1


@pytest.mark.parametrize("family", ["mari", "efficient_su2"])
def test_fallback_gives_the_fast_simulators_states(family, monkeypatch):
    spec = build_circuit(family, 3, 2)
    layer = _layer(spec, seed=5)
    inputs = _inputs(spec, 8, seed=6)
    fast = layer_states(layer, inputs)

    def refuse(*args, **kwargs):
        raise UnsupportedCircuitError("refused for the test")

    monkeypatch.setattr(entanglement, "compile_circuit", refuse)
    monkeypatch.setattr(entanglement, "_COMPILED", OrderedDict())
    np.testing.assert_allclose(layer_states(layer, inputs), fast, atol=1e-10)


def test_fallback_on_a_gate_the_fast_simulator_refuses():
    """U(θ, 0, 0) is RY(θ) but a parametrised ``u`` is refused: the states must be Mari's."""
    mari = build_circuit("mari", 3, 2)
    circuit = QuantumCircuit(3)
    for item in mari.circuit.data:
        if item.operation.name == "ry":
            circuit.u(item.operation.params[0], 0, 0, item.qubits[0])
        else:
            circuit.append(item)
    spec = CircuitSpec("u", circuit, mari.inputs, mari.weights, mari.observables)
    with pytest.raises(UnsupportedCircuitError):
        entanglement.compile_circuit(circuit)
    weights = torch.randn(len(mari.weights), generator=torch.Generator().manual_seed(7))
    inputs = _inputs(mari, 8, seed=8)
    refused = QuantumLayer(circuit=spec, initial_weights=weights, backend="reference")
    expected = layer_states(QuantumLayer(circuit=mari, initial_weights=weights), inputs)
    np.testing.assert_allclose(layer_states(refused, inputs), expected, atol=1e-10)


def test_qubit_order_is_qiskits():
    x = ParameterVector("x", 3)
    w = ParameterVector("w", 1)
    circuit = QuantumCircuit(3)
    circuit.x(1)
    for qubit in range(3):
        circuit.ry(x[qubit], qubit)
    circuit.rz(w[0], 0)  # leaves every ⟨Z⟩ alone
    spec = CircuitSpec("x1", circuit, tuple(x), tuple(w), tuple(z_observables(3)))
    layer = QuantumLayer(circuit=spec, initial_weights=[0.4])
    bloch = bloch_vectors(layer_states(layer, np.zeros((1, 3))), 3)
    np.testing.assert_allclose(bloch[0, :, 2], [1.0, -1.0, 1.0], atol=1e-12)
    # qubit 0 on |+i⟩ (⟨Y⟩ = 1), qubit 1 on |1⟩, qubit 2 on |−⟩ (⟨X⟩ = −1)
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.s(0)
    circuit.x(1)
    circuit.x(2)
    circuit.h(2)
    bloch = bloch_vectors(Statevector(circuit).data[None], 3)[0]
    np.testing.assert_allclose(bloch, [[0, 1, 0], [0, 0, -1], [-1, 0, 0]], atol=1e-12)


def test_bloch_z_is_the_layers_output():
    spec = build_circuit("mari", 4, 3)
    layer = _layer(spec, seed=9)
    inputs = _inputs(spec, 32, seed=10)
    with torch.no_grad():
        outputs = layer(torch.from_numpy(inputs)).numpy()
    summary = summarise_states(layer, inputs)
    np.testing.assert_allclose(summary.bloch[..., 2], outputs, atol=1e-9)
    states = layer_states(layer, inputs)
    np.testing.assert_allclose(summary.meyer_wallach, meyer_wallach(states, 4), atol=1e-14)
    np.testing.assert_allclose(summary.entropies, qubit_entropies(states, 4), atol=1e-12)


def test_unentangled_control_prepares_product_states_and_mari_does_not():
    spec = build_circuit("mari", 4, 3)
    inputs = _inputs(spec, 64, seed=11)
    control = summarise_states(_layer(unentangled(spec), seed=12), inputs)
    np.testing.assert_allclose(control.meyer_wallach, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(control.bloch, axis=-1), 1.0, atol=1e-12)
    entangled = summarise_states(_layer(spec, seed=12), inputs)
    assert entangled.meyer_wallach.max() > 0.1
    assert np.all((entangled.meyer_wallach > -1e-12) & (entangled.meyer_wallach < 1 + 1e-12))


def test_shapes_are_checked_and_an_empty_batch_is_empty():
    layer = QuantumLayer(3, 1)
    assert layer_states(layer, np.zeros((0, 3))).shape == (0, 8)
    with pytest.raises(ValueError, match="inputs of shape"):
        layer_states(layer, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="states of shape"):
        meyer_wallach(np.zeros((2, 8)), 2)
