"""Compiling circuits for the fast simulator: clear errors, real arithmetic where possible."""

from __future__ import annotations

import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum import dressed_circuit
from helpers.quantum.operators import UnsupportedCircuitError
from helpers.quantum.primitives import FastStatevectorEstimator
from helpers.quantum.simulator import compile_circuit


def test_unsupported_instructions_fail_clearly():
    estimator = FastStatevectorEstimator()
    theta = ParameterVector("t", 3)
    circuit = QuantumCircuit(1)
    circuit.u(theta[0], theta[1], theta[2], 0)
    with pytest.raises(UnsupportedCircuitError, match="parametrised gate 'u' is not supported"):
        estimator.run([(circuit, SparsePauliOp("Z"), [0.1, 0.2, 0.3])]).result()
    measured = QuantumCircuit(1, 1)
    measured.measure(0, 0)
    with pytest.raises(UnsupportedCircuitError, match="measurements"):
        compile_circuit(measured)
    nonlinear = QuantumCircuit(1)
    nonlinear.ry(theta[0] * theta[0], 0)
    with pytest.raises(UnsupportedCircuitError, match="not affine"):
        compile_circuit(nonlinear)


def test_real_circuits_use_real_arithmetic():
    assert compile_circuit(dressed_circuit(4, 6)[0]).real
    complex_circuit = QuantumCircuit(1)
    complex_circuit.rx(ParameterVector("t", 1)[0], 0)
    assert not compile_circuit(complex_circuit).real
