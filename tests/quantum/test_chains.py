"""Chains of one-qubit rotations: against their gates one by one, fused against unfused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum import simulator
from helpers.quantum.chains import QubitChain, fuse_chains
from helpers.quantum.circuits import build_circuit
from helpers.quantum.observables import compile_observables
from helpers.quantum.operators import FixedBlock, Rotation, rotation
from helpers.quantum.simulator import compile_circuit
from tests.quantum.circuits import shared_weight_values


def _one_by_one(rotations, state, sweep, n_obs, cos, sin):
    """Forward state, adjoint sweep and overlaps ``(G, J, B)`` through the general (gather)
    path of every rotation in turn."""
    general = [
        Rotation(**{f.name: getattr(op, f.name) for f in dataclasses.fields(Rotation)})
        for op in rotations
    ]
    for g, op in enumerate(general):
        op.forward(state, cos[g : g + 1], sin[g : g + 1], *np.empty((2, *state.shape), state.dtype))
    overlaps = [
        general[g].adjoint_step(
            sweep, n_obs, cos[g : g + 1], sin[g : g + 1], *np.empty((2, *sweep.shape), sweep.dtype)
        )
        for g in reversed(range(len(general)))
    ]
    return state, sweep, np.concatenate(overlaps[::-1])


CHAINS = [
    ("rx",),
    ("ry", "rz"),
    ("ry", "ry", "rz"),
    ("rz", "p"),
    ("rx", "ry", "rz", "p"),
    ("ry", "ry"),
]
# (gates, real amplitudes): only RY keeps amplitudes real
CASES = [(names, False) for names in CHAINS] + [(("ry",), True), (("ry", "ry"), True)]


@pytest.mark.parametrize(("names", "real"), CASES)
@pytest.mark.parametrize("qubit", [0, 1, 2])
@pytest.mark.parametrize("shared", [False, True])
def test_a_chain_matches_its_rotations_applied_one_by_one(names, real, qubit, shared):
    """Forward pass, adjoint sweep and every gate's overlap, on real and complex amplitudes,
    with one angle per column or one for all of them."""
    dtype = np.float64 if real else np.complex128
    rotations = tuple(
        rotation(name, [qubit], 3, k, 1.0, 0.0).astype(np.dtype(dtype))
        for k, name in enumerate(names)
    )
    chain = QubitChain(qubit, rotations)
    rng = np.random.default_rng(qubit)
    half_angle = rng.uniform(-3, 3, (len(names), 1 if shared else 5))
    cos, sin = np.cos(half_angle), np.sin(half_angle)
    state, sweep = rng.normal(size=(8, 5)), rng.normal(size=(8, 3, 5))  # sweep: [λ_1, λ_2, φ]
    if not real:
        state, sweep = state + 1j * rng.normal(size=(8, 5)), sweep + 1j * rng.normal(size=(8, 3, 5))
    want = _one_by_one(rotations, state.copy(), sweep.copy(), 2, cos, sin)
    got_state, got_sweep = state.copy(), sweep.copy()
    chain.forward(got_state, cos, sin)
    got_overlaps = chain.adjoint_step(got_sweep, 2, cos, sin)
    for got, expected in zip((got_state, got_sweep, got_overlaps), want, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_rotations_on_one_qubit_share_a_chain_until_another_kind_of_gate():
    theta = ParameterVector("t", 6)
    circuit = QuantumCircuit(2)
    circuit.ry(theta[0], 0)
    circuit.rz(theta[1], 1)
    circuit.rz(theta[2], 0)
    circuit.cx(0, 1)
    circuit.ry(theta[3], 0)
    circuit.rzz(theta[4], 0, 1)
    circuit.rx(theta[5], 0)
    operations = compile_circuit(circuit).operations
    kinds = [
        (type(op).__name__, op.qubit, [r.param for r in op.rotations])
        if isinstance(op, QubitChain)
        else type(op).__name__
        for op in operations
    ]
    assert kinds == [
        ("QubitChain", 0, [0, 2]),
        ("QubitChain", 1, [1]),
        "FixedBlock",
        ("QubitChain", 0, [3]),
        "Rotation",
        ("QubitChain", 0, [5]),
    ]
    assert isinstance(operations[2], FixedBlock)


def _unfused(operations):
    """Every one-qubit rotation in a chain of its own."""
    return tuple(
        single
        for op in fuse_chains(operations)
        for single in (
            [QubitChain(op.qubit, (rot,)) for rot in op.rotations]
            if isinstance(op, QubitChain)
            else [op]
        )
    )


@pytest.mark.parametrize("family", ["efficient_su2", "real_amplitudes"])
def test_fused_chains_give_what_single_gates_give(family, monkeypatch):
    """Values, Jacobian and vector-Jacobian product, weights shared (the Heisenberg path) and
    not, in one chunk and in chunks of three rows: fused chains against one gate per pass."""
    spec = build_circuit(family, 3, 2)
    fused = compile_circuit(spec.circuit)
    with monkeypatch.context() as patch:
        patch.setattr(simulator, "fuse_chains", _unfused)
        single = compile_circuit(spec.circuit)
    assert len(single.operations) > len(fused.operations)
    observables = compile_observables([*spec.observables, SparsePauliOp("XYZ")], 3)
    rng = np.random.default_rng(7)
    n_inputs, n_weights = len(spec.inputs), len(spec.weights)
    for values in (
        rng.uniform(-3, 3, (300, n_inputs + n_weights)),
        shared_weight_values(rng, 300, n_inputs, n_weights),
    ):
        cotangent = rng.normal(size=(300, observables.count))
        whole = None
        for chunk_amplitudes in (simulator.CHUNK_AMPLITUDES, 3 * 2**3):
            monkeypatch.setattr(simulator, "CHUNK_AMPLITUDES", chunk_amplitudes)
            for program in (fused, single):
                found = (
                    program.expectation_values(values, observables),
                    *program.jacobian(values, observables),
                    program.vector_jacobian(values, observables, cotangent),
                    program.states(values[:5]),
                )
                whole = whole or found
                for got, want in zip(found, whole, strict=True):
                    np.testing.assert_allclose(got, want, atol=1e-12)
