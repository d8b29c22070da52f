"""A user's own circuit, as a researcher would hand it to the series (``circuit`` parameter
``tests/user_circuit.py:build``): fewer inputs than qubits, an input used twice, an RZ gate and
a Z₀Z₁ observable."""

from __future__ import annotations

from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum.circuits import CircuitSpec


def build(n_qubits: int = 3, q_depth: int = 1) -> CircuitSpec:
    """The circuit on 3 qubits (it has no depth: ``q_depth`` is ignored)."""
    inputs, weights = ParameterVector("x", 2), ParameterVector("w", 3)
    circuit = QuantumCircuit(3)
    circuit.h([0, 1, 2])
    circuit.ry(inputs[0], 0)
    circuit.ry(inputs[1], 1)
    circuit.ry(2 * inputs[0] - 0.3, 2)  # x_0 again, scaled and shifted
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.rz(weights[0], 1)
    circuit.ry(weights[1], 0)
    circuit.rx(weights[2], 2)
    observables = (SparsePauliOp("IZZ"), SparsePauliOp("ZII"))  # Z₀Z₁ and Z₂
    return CircuitSpec("mine", circuit, tuple(inputs), tuple(weights), observables)
