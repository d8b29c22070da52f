"""Gate generators of the fast simulator against Qiskit's matrices."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator
from scipy.linalg import expm

from helpers.quantum.operators import ROTATION_GENERATORS


@pytest.mark.parametrize("name", sorted(ROTATION_GENERATORS))
def test_rotation_generators_follow_qiskit_matrices(name):
    gate = type(get_standard_gate_name_mapping()[name])(0.37)
    circuit = QuantumCircuit(gate.num_qubits)
    circuit.append(gate, range(gate.num_qubits))
    expected = expm(-0.5j * 0.37 * ROTATION_GENERATORS[name])
    np.testing.assert_allclose(Operator(circuit).data, expected, atol=1e-12)
