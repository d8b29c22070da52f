"""Observables of the fast simulator: Pauli sums compiled to diagonals where possible.

Amplitude-first, as the states of :mod:`helpers.quantum.simulator`: a state is ``(D, B)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum.operators import ATOL


@dataclasses.dataclass(frozen=True)
class CompiledObservables:
    """J Hermitian observables: diagonals ``(J, D)`` if all are diagonal, else dense matrices."""

    diagonals: np.ndarray | None
    matrices: np.ndarray | None

    @property
    def count(self) -> int:
        return len(self.diagonals if self.diagonals is not None else self.matrices)

    @property
    def real(self) -> bool:
        return self.diagonals is not None or bool(np.allclose(self.matrices.imag, 0, atol=ATOL))

    def apply(self, state: np.ndarray) -> np.ndarray:
        """``O_j |ψ>`` for every observable, amplitude-first: state (D, B) -> (D, J, B)."""
        if self.diagonals is not None:
            return self.diagonals.T[:, :, None] * state[:, None, :]
        matrices = self.matrices.real if state.dtype == np.float64 else self.matrices
        return np.einsum("jed,db->ejb", matrices, state)

    def expectation(self, state: np.ndarray) -> np.ndarray:
        """``<ψ|O_j|ψ>`` for amplitude-first states (D, B): shape (B, J)."""
        if self.diagonals is not None:
            return (state.real**2 + state.imag**2).T @ self.diagonals.T
        return np.einsum("db,djb->bj", state.conj(), self.apply(state)).real


def compile_observables(
    observables: Sequence[SparsePauliOp | dict[str, complex]], n_qubits: int
) -> CompiledObservables:
    """Compile Pauli sums (SparsePauliOp, or ``{label: coeff}`` as in an ObservablesArray)."""
    operators = [
        SparsePauliOp.from_list(list(obs.items()), num_qubits=n_qubits)
        if isinstance(obs, dict)
        else SparsePauliOp(obs)
        for obs in observables
    ]
    for op in operators:
        if op.num_qubits != n_qubits:
            raise ValueError(f"observable on {op.num_qubits} qubits for a {n_qubits}-qubit circuit")
    if all(not op.paulis.x.any() for op in operators):
        diagonals = np.array([op.to_matrix(sparse=True).diagonal().real for op in operators])
        return CompiledObservables(diagonals=diagonals, matrices=None)
    return CompiledObservables(
        diagonals=None, matrices=np.array([op.to_matrix() for op in operators])
    )
