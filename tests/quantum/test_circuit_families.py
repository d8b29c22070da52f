"""The circuit families against Qiskit's reference estimator with parameter shift."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import FAMILIES, build_circuit, unentangled
from helpers.quantum.operators import UnsupportedCircuitError
from tests import user_circuit
from tests.quantum.circuits import TOLERANCE, fast_qnn, reference_qnn

CASES = [(family, n, depth) for family in FAMILIES for n in (2, 3, 4, 6) for depth in (0, 1, 2, 4)]


def _qnns(spec):
    arguments = (spec.circuit, list(spec.inputs), list(spec.weights), list(spec.observables))
    return fast_qnn(*arguments), reference_qnn(*arguments)


@pytest.mark.parametrize(("family", "n_qubits", "depth"), CASES)
def test_values_and_gradients_match_the_reference(family, n_qubits, depth):
    spec = build_circuit(family, n_qubits, depth)
    rng = np.random.default_rng(n_qubits * 10 + depth)
    inputs = rng.uniform(-np.pi / 2, np.pi / 2, (3, len(spec.inputs)))
    weights = rng.normal(0, 1, len(spec.weights))
    fast, reference = _qnns(spec)
    np.testing.assert_allclose(
        fast.forward(inputs, weights), reference.forward(inputs, weights), atol=TOLERANCE
    )
    for got, expected in zip(
        fast.backward(inputs, weights), reference.backward(inputs, weights), strict=True
    ):
        if expected is None:
            assert got is None or got.size == 0
        else:
            np.testing.assert_allclose(got, expected, atol=TOLERANCE)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_outputs_one_z_per_qubit_and_uses_every_parameter(family):
    spec = build_circuit(family, 4, 2)
    assert len(spec.observables) == spec.n_qubits == len(spec.inputs) == 4
    assert set(spec.circuit.parameters) == {*spec.inputs, *spec.weights}


def test_reuploading_encodes_before_every_layer_and_matches_mari_at_depth_zero():
    spec = build_circuit("reuploading", 3, 4)
    encodings = [item for item in spec.circuit.data if item.operation.params
                 and item.operation.params[0] in set(spec.inputs)]  # fmt: skip
    assert len(encodings) == 3 * 4
    inputs = np.random.default_rng(0).uniform(-1, 1, (5, 3))
    zero, mari = build_circuit("reuploading", 3, 0), build_circuit("mari", 3, 0)
    np.testing.assert_allclose(_qnns(zero)[0].forward(inputs, []), -np.sin(inputs), atol=1e-12)
    np.testing.assert_allclose(_qnns(mari)[0].forward(inputs, []), -np.sin(inputs), atol=1e-12)


def test_reuploading_reaches_higher_frequencies_than_one_encoding():
    """⟨Z⟩ as a function of one input: one encoding has frequencies ≤ 1, depth d ≤ d."""
    grid = np.linspace(-np.pi, np.pi, 64, endpoint=False)
    for family, depth, highest in (("mari", 3, 1), ("reuploading", 3, 3)):
        spec = build_circuit(family, 2, depth)
        weights = np.random.default_rng(1).normal(0, 1, len(spec.weights))
        inputs = np.stack([grid, np.full_like(grid, 0.3)], axis=1)
        values = _qnns(spec)[0].forward(inputs, weights)[:, 0]
        spectrum = np.abs(np.fft.rfft(values)) / len(grid)
        assert spectrum[highest] > 1e-3 and spectrum[highest + 1 :].max() < 1e-9


def test_unentangled_control_keeps_the_weights_and_makes_each_output_local():
    spec = unentangled(build_circuit("mari", 4, 3))
    assert {item.operation.name for item in spec.circuit.data} == {"h", "ry"}
    assert len(spec.weights) == 12
    rng = np.random.default_rng(2)
    inputs, weights = rng.uniform(-1, 1, (4, 4)), rng.normal(0, 1, 12)
    moved = inputs.copy()
    moved[:, 1:] = rng.uniform(-1, 1, (4, 3))  # change every input but x_0
    qnn = _qnns(spec)[0]
    np.testing.assert_allclose(qnn.forward(inputs, weights)[:, 0],
                               qnn.forward(moved, weights)[:, 0], atol=1e-12)  # fmt: skip


def test_bad_family_qubits_and_depth_are_named():
    with pytest.raises(ValueError, match="circuit='qaoa' is unknown; use one of mari"):
        build_circuit("qaoa", 4, 2)
    with pytest.raises(ValueError, match="n_qubits=1: the reuploading circuit needs 2 or more"):
        build_circuit("reuploading", 1, 2)
    assert build_circuit("mari", 1, 2).n_qubits == 1  # Mari's circuit, as before the families
    with pytest.raises(ValueError, match="q_depth=-1"):
        build_circuit("mari", 4, -1)


def test_a_user_circuit_runs_through_the_quantum_layer_as_the_reference_computes_it():
    spec = user_circuit.build()
    torch.manual_seed(0)
    initial = torch.randn(3)
    angles = torch.rand(4, 2, dtype=torch.float64) * 2 - 1
    found = []
    for backend in ("fast", "reference"):
        layer = QuantumLayer(circuit=spec, backend=backend, initial_weights=initial)
        x = angles.clone().requires_grad_(True)
        out = layer(x)
        assert out.shape == (4, 2) and layer.n_inputs == 2 and layer.n_qubits == 3
        (out * torch.tensor([1.0, -2.0], dtype=out.dtype)).sum().backward()
        found.append((out.detach(), x.grad, layer.weight.grad))
    for fast, reference in zip(*found, strict=True):
        torch.testing.assert_close(fast, reference.to(fast.dtype), atol=1e-6, rtol=0)
    assert "circuit='mine'" in repr(QuantumLayer(circuit=spec))


def test_an_unsupported_gate_is_named_with_its_fallback():
    spec = user_circuit.build()
    circuit = spec.circuit.copy()
    circuit.rzz(spec.inputs[0] * spec.inputs[1], 0, 1)  # ZZFeatureMap's product of inputs
    layer = QuantumLayer(circuit=dataclasses.replace(spec, circuit=circuit))
    with pytest.raises(
        UnsupportedCircuitError, match=r"gate 'rzz' on \[0, 1\].*backend='reference'"
    ):
        layer(torch.rand(2, 2))
    reference = QuantumLayer(
        circuit=dataclasses.replace(spec, circuit=circuit), backend="reference"
    )
    assert reference(torch.rand(2, 2)).shape == (2, 2)
