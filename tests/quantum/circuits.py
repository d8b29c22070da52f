"""Shared by the quantum tests: random QNN circuits (hypothesis) and reference/fast QNNs."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN

from helpers.quantum.layer import BatchedEstimatorQNN, make_backend

FIXED_1Q = ("h", "x", "y", "z", "s", "sdg", "t", "sx")
FIXED_2Q = ("cx", "cy", "cz", "swap")
ROTATIONS_1Q = ("rx", "ry", "rz", "p")
ROTATIONS_2Q = ("rxx", "ryy", "rzz", "rzx", "crx", "cry", "crz", "cp")
TOLERANCE = 1e-6


@st.composite
def random_qnn_circuits(draw):
    """A random circuit on 1-6 qubits, 0-8 gate layers, with input and weight parameters."""
    n_qubits = draw(st.integers(1, 6))
    depth = draw(st.integers(0, 8))
    n_inputs, n_weights = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    inputs, weights = ParameterVector("x", n_inputs), ParameterVector("w", n_weights)
    pool = list(inputs) + list(weights)
    circuit = QuantumCircuit(n_qubits)
    for qubit in range(n_qubits):  # every parameter appears at least once
        circuit.ry(pool[qubit % len(pool)], qubit)
    for param in pool[n_qubits:]:
        circuit.rx(param, draw(st.integers(0, n_qubits - 1)))
    for _ in range(depth):
        for _ in range(draw(st.integers(1, n_qubits))):
            two_qubit = n_qubits > 1 and draw(st.booleans())
            names = (FIXED_2Q + ROTATIONS_2Q) if two_qubit else (FIXED_1Q + ROTATIONS_1Q)
            name = draw(st.sampled_from(names))
            qubits = draw(
                st.lists(
                    st.integers(0, n_qubits - 1),
                    min_size=2 if two_qubit else 1,
                    max_size=2 if two_qubit else 1,
                    unique=True,
                )
            )
            if name in ROTATIONS_1Q + ROTATIONS_2Q:
                param = draw(st.sampled_from(pool))
                angle = draw(st.sampled_from([param, 2 * param - 0.4, 0.7]))
                getattr(circuit, name)(angle, *qubits)
            else:
                getattr(circuit, name)(*qubits)
    labels = st.text(alphabet="IXYZ", min_size=n_qubits, max_size=n_qubits)
    observables = [SparsePauliOp(label) for label in draw(st.lists(labels, min_size=1, max_size=3))]
    return circuit, list(inputs), list(weights), observables


def reference_qnn(circuit, inputs, weights, observables):
    estimator = StatevectorEstimator(default_precision=0.0)
    return EstimatorQNN(
        circuit=circuit,
        estimator=estimator,
        observables=observables,
        input_params=inputs,
        weight_params=weights,
        input_gradients=True,
        gradient=ParamShiftEstimatorGradient(estimator),
        default_precision=0.0,
    )


def fast_qnn(circuit, inputs, weights, observables):
    backend = make_backend("fast")
    return BatchedEstimatorQNN(
        circuit=circuit,
        estimator=backend.estimator,
        gradient=backend.gradient,
        observables=observables,
        input_params=inputs,
        weight_params=weights,
        input_gradients=True,
        default_precision=0.0,
    )


def shared_weight_values(rng, n_rows, n_inputs, n_weights):
    """Rows of [inputs, weights] with the weights shared, as a QNN batch has them."""
    inputs = rng.uniform(-math.pi, math.pi, (n_rows, n_inputs))
    weights = np.broadcast_to(rng.uniform(-math.pi, math.pi, n_weights), (n_rows, n_weights))
    return np.concatenate([inputs, weights], axis=1)
