"""Gate generators of the fast simulator against Qiskit's matrices; one-qubit fast path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator
from scipy.linalg import expm

from helpers.quantum.operators import ROTATION_GENERATORS, QubitRotation, Rotation, rotation


@pytest.mark.parametrize("name", sorted(ROTATION_GENERATORS))
def test_rotation_generators_follow_qiskit_matrices(name):
    gate = type(get_standard_gate_name_mapping()[name])(0.37)
    circuit = QuantumCircuit(gate.num_qubits)
    circuit.append(gate, range(gate.num_qubits))
    expected = expm(-0.5j * 0.37 * ROTATION_GENERATORS[name])
    np.testing.assert_allclose(Operator(circuit).data, expected, atol=1e-12)


@pytest.mark.parametrize("name", ["rx", "ry", "rz", "p"])
@pytest.mark.parametrize("qubit", [0, 1, 2])
def test_one_qubit_rotations_match_the_general_gather_path(name, qubit):
    """QubitRotation (halves of the register) against Rotation (gather) on random states."""
    one_qubit = rotation(name, [qubit], 3, 0, 1.0, 0.0)
    assert isinstance(one_qubit, QubitRotation)
    general = Rotation(**{f.name: getattr(one_qubit, f.name) for f in dataclasses.fields(Rotation)})
    rng = np.random.default_rng(qubit)
    half_angle = rng.uniform(-3, 3, 5)
    cos, sin = np.cos(half_angle), np.sin(half_angle)
    state = rng.normal(size=(8, 5)) + 1j * rng.normal(size=(8, 5))
    sweep = rng.normal(size=(8, 3, 5)) + 1j * rng.normal(size=(8, 3, 5))  # [λ_1, λ_2, φ]
    results = []
    for op in (one_qubit, general):
        state_out, sweep_out = state.copy(), sweep.copy()
        op.forward(state_out, cos, sin, np.empty_like(state), np.empty_like(state))
        overlap = op.adjoint_step(sweep_out, 2, cos, sin, *np.empty((2, *sweep.shape), complex))
        results.append((state_out, sweep_out, overlap))
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)
