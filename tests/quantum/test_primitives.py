"""The fast estimator and adjoint gradient against Qiskit's reference primitives."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

from helpers.quantum import dressed_circuit, simulator
from helpers.quantum.layer import z_observables
from helpers.quantum.observables import compile_observables
from helpers.quantum.primitives import FastAdjointGradient, FastStatevectorEstimator
from helpers.quantum.simulator import compile_circuit
from tests.quantum.circuits import (
    TOLERANCE,
    fast_qnn,
    random_qnn_circuits,
    reference_qnn,
    shared_weight_values,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_qnn_circuits(), seed=st.integers(0, 2**16))
def test_random_circuits_match_statevector_estimator_and_param_shift(case, seed):
    circuit, inputs, weights, observables = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-math.pi, math.pi, (3, len(inputs)))
    w = rng.uniform(-math.pi, math.pi, len(weights))
    reference = reference_qnn(circuit, inputs, weights, observables)
    fast = fast_qnn(circuit, inputs, weights, observables)
    np.testing.assert_allclose(fast.forward(x, w), reference.forward(x, w), atol=TOLERANCE)
    for got, want in zip(fast.backward(x, w), reference.backward(x, w), strict=True):
        np.testing.assert_allclose(got, want, atol=TOLERANCE)


def test_estimator_follows_v2_broadcasting():
    circuit, _inputs, _weights = dressed_circuit(3, 2)
    observables = z_observables(3)
    values = np.random.default_rng(0).uniform(-1, 1, (5, 1, circuit.num_parameters))
    fast = FastStatevectorEstimator().run([(circuit, observables, values)]).result()[0]
    ref = StatevectorEstimator().run([(circuit, observables, values)]).result()[0]
    assert fast.data.evs.shape == ref.data.evs.shape == (5, 3)
    np.testing.assert_allclose(fast.data.evs, ref.data.evs, atol=1e-12)
    assert np.all(fast.data.stds == 0)
    # one observable against a 1-d batch, and a bound circuit with no parameters
    single = FastStatevectorEstimator().run([(circuit, observables[1], values[:, 0])]).result()
    np.testing.assert_allclose(single[0].data.evs, ref.data.evs[:, 1], atol=1e-12)
    bound = circuit.assign_parameters(values[0, 0])
    scalar = FastStatevectorEstimator().run([(bound, observables[2])]).result()[0].data.evs
    np.testing.assert_allclose(scalar, ref.data.evs[0, 2], atol=1e-12)


def test_gradient_run_matches_param_shift_for_mixed_circuit_lists():
    circuit, _, _ = dressed_circuit(2, 2)
    other = QuantumCircuit(2)
    theta = ParameterVector("t", 2)
    other.rx(theta[0], 0)
    other.crz(theta[1], 0, 1)
    other.h(1)
    circuits = [circuit, other, circuit]
    observables = [SparsePauliOp("ZI"), SparsePauliOp("XY"), SparsePauliOp("IZ")]
    rng = np.random.default_rng(2)
    values = [rng.uniform(-2, 2, c.num_parameters) for c in circuits]
    parameters = [None, [theta[1]], list(circuit.parameters)[:3]]
    fast = FastAdjointGradient().run(circuits, observables, values, parameters).result()
    reference_estimator = StatevectorEstimator(default_precision=0.0)
    reference = (
        ParamShiftEstimatorGradient(reference_estimator)
        .run(circuits, observables, values, parameters)
        .result()
    )
    for got, want in zip(fast.gradients, reference.gradients, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_qnn_circuits(), seed=st.integers(0, 2**16))
def test_heisenberg_path_matches_the_adjoint_sweep(case, seed):
    circuit, inputs, weights, observables = case
    if circuit.num_qubits > 4:
        return
    qnn = fast_qnn(circuit, inputs, weights, observables)
    program = compile_circuit(qnn._circuit)
    compiled = compile_observables(observables, circuit.num_qubits)
    n_rows = 4 * 4**circuit.num_qubits + 1  # enough rows for the Heisenberg path to pay
    values = shared_weight_values(np.random.default_rng(seed), n_rows, len(inputs), len(weights))
    fast = program._heisenberg(values, compiled, with_jacobian=True)
    has_shared_suffix = any(
        slot is not None for slot in program._rotation_slots[program._shared_suffix_start(values) :]
    )
    assert (fast is not None) == has_shared_suffix
    evs, jac = program.jacobian(values, compiled)
    np.testing.assert_allclose(program.expectation_values(values, compiled), evs, atol=1e-12)
    reference_evs, reference_jac = program._chunk_jacobian(values, compiled)
    np.testing.assert_allclose(evs, reference_evs, atol=1e-12)
    np.testing.assert_allclose(jac, reference_jac, atol=1e-12)


def test_large_batches_match_qiskit_reference():
    # 2 qubits: the Heisenberg path takes over from 2 * 4**2 = 32 rows on.
    circuit, inputs, weights = dressed_circuit(2, 3)
    for observables in (z_observables(2), [SparsePauliOp("XY"), SparsePauliOp("YI")]):
        values = shared_weight_values(np.random.default_rng(5), 40, 2, 6)
        fast = fast_qnn(circuit, list(inputs), list(weights), observables)
        reference = reference_qnn(circuit, list(inputs), list(weights), observables)
        x, w = values[:, :2], values[0, 2:]
        np.testing.assert_allclose(fast.forward(x, w), reference.forward(x, w), atol=TOLERANCE)
        for got, want in zip(fast.backward(x, w), reference.backward(x, w), strict=True):
            np.testing.assert_allclose(got, want, atol=TOLERANCE)


def test_results_do_not_depend_on_how_the_batch_is_chunked(monkeypatch):
    """Values, Jacobian and vector-Jacobian product of a complex circuit, with weights shared
    (the Heisenberg path) and not: one chunk against chunks of three rows."""
    theta = ParameterVector("t", 4)
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.rx(theta[0], 0)
    circuit.ry(theta[1], 1)
    circuit.cx(0, 1)
    circuit.rz(theta[2], 1)
    circuit.p(theta[3], 0)
    circuit.cry(theta[2], 1, 0)
    compiled = compile_circuit(circuit)
    observables = compile_observables([SparsePauliOp("ZY"), SparsePauliOp("IZ")], 2)
    rng = np.random.default_rng(3)
    for values in (rng.uniform(-3, 3, (70, 4)), shared_weight_values(rng, 70, 2, 2)):
        cotangent = rng.normal(size=(70, 2))

        def everything(values=values, cotangent=cotangent):
            return (
                compiled.expectation_values(values, observables),
                *compiled.jacobian(values, observables),
                compiled.vector_jacobian(values, observables, cotangent),
            )

        whole = everything()
        with monkeypatch.context() as patch:
            patch.setattr(simulator, "CHUNK_AMPLITUDES", 3 * 2**2)
            assert len(compiled._chunks(np.arange(70))) == 24
            for got, want in zip(everything(), whole, strict=True):
                np.testing.assert_allclose(got, want, atol=1e-12)
