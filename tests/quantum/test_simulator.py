"""Compiling circuits for the fast simulator: clear errors, real arithmetic where possible;
the forward pass kept for the backward pass."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum import dressed_circuit, simulator
from helpers.quantum.circuits import build_circuit
from helpers.quantum.observables import compile_observables
from helpers.quantum.operators import UnsupportedCircuitError
from helpers.quantum.primitives import FastStatevectorEstimator
from helpers.quantum.simulator import compile_circuit
from tests.quantum.circuits import shared_weight_values


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


@pytest.mark.parametrize("family", ["efficient_su2", "mari"])
def test_backward_reuses_the_forward_pass_only_for_the_same_rows(family, monkeypatch):
    """A vector-Jacobian product after a forward pass on the same rows (kept final states, then
    released), on other rows, and with complex observables after real ones, equals a fresh one;
    batches too large to keep are not kept, and their values (by the Heisenberg path where it
    pays) are the same."""
    spec = build_circuit(family, 3, 2)
    program = compile_circuit(spec.circuit)
    real_obs = compile_observables(list(spec.observables), 3)
    complex_obs = compile_observables([SparsePauliOp("XYZ"), SparsePauliOp("IZY")], 3)
    rng = np.random.default_rng(1)
    values = shared_weight_values(rng, 200, len(spec.inputs), len(spec.weights))
    other = values + rng.normal(0, 0.1, values.shape)
    cotangent = rng.normal(size=(200, 3))

    def fresh(rows, observables):
        program._kept.clear()
        return program.vector_jacobian(rows, observables, cotangent[:, : observables.count])

    for forward_rows, backward_rows, observables in (
        (values, values, real_obs),
        (values, other, real_obs),
        (values, values, complex_obs),
    ):
        want = fresh(backward_rows, observables)
        program.expectation_values(forward_rows, real_obs)
        assert len(program._kept) == 1
        got = program.vector_jacobian(backward_rows, observables, cotangent[:, : observables.count])
        np.testing.assert_allclose(got, want, atol=1e-12)
        assert not program._kept  # released by the backward pass
    kept_values = program.expectation_values(values, real_obs)
    monkeypatch.setattr(simulator, "KEPT_AMPLITUDES", 8 * 199)
    program._kept.clear()
    np.testing.assert_allclose(
        program.expectation_values(values, real_obs), kept_values, atol=1e-12
    )
    assert not program._kept
