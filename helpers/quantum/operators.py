"""Gates, observables and Hermitian forms of the fast simulator (:mod:`helpers.quantum.simulator`).

A rotation gate ``U(θ) = exp(-iθ/2·G)`` is kept with its generator; a run of parameter-free
gates is fused into one full-register operator, applied as a gather when it is a permutation
with phases (CNOT layers are). Observables are Pauli sums, diagonal where possible. Arrays are
laid out amplitude-first: a state is (D, B), the adjoint sweep (D, J+1, B), so that permuting
amplitudes copies contiguous rows of B values and every update runs in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression
from qiskit.quantum_info import Operator, SparsePauliOp

ATOL = 1e-12


_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1.0, -1.0]).astype(complex)
_P1 = np.diag([0.0, 1.0]).astype(complex)  # |1><1|


def _controlled(target_generator: np.ndarray) -> np.ndarray:
    """Generator of a singly controlled rotation; qargs (control, target), little-endian."""
    return np.kron(target_generator, _P1)


# U(θ) = exp(-i θ/2 · G) in Qiskit's little-endian matrix convention (qargs[0] least significant).
ROTATION_GENERATORS: dict[str, np.ndarray] = {
    "rx": _X,
    "ry": _Y,
    "rz": _Z,
    "p": -2.0 * _P1,
    "u1": -2.0 * _P1,
    "rxx": np.kron(_X, _X),
    "ryy": np.kron(_Y, _Y),
    "rzz": np.kron(_Z, _Z),
    "rzx": np.kron(_X, _Z),
    "crx": _controlled(_X),
    "cry": _controlled(_Y),
    "crz": _controlled(_Z),
    "cp": _controlled(-2.0 * _P1),
    "cu1": _controlled(-2.0 * _P1),
}
IGNORED = frozenset({"barrier", "delay"})


class UnsupportedCircuitError(ValueError):
    """The circuit holds an instruction the fast simulator cannot evaluate exactly."""


FALLBACK = "use backend='reference' (Qiskit's statevector) or backend='aer' for this circuit"


# Arrays below are laid out amplitude-first: a state is (D, B), the adjoint sweep (D, J+1, B), so
# that permuting amplitudes copies contiguous rows of B values and every update runs in place.


def column(vector: np.ndarray, ndim: int) -> np.ndarray:
    """Shape a (D,) vector to broadcast along axis 0 of an ``ndim``-dimensional array."""
    return vector.reshape((-1,) + (1,) * (ndim - 1))


@dataclasses.dataclass(frozen=True)
class Monomial:
    """A D×D matrix with at most one non-zero per row: ``(M ψ)[i] = phase[i] · ψ[perm[i]]``."""

    perm: np.ndarray
    phase: np.ndarray

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Monomial | None:
        nonzero = np.abs(matrix) > ATOL
        if (nonzero.sum(axis=1) > 1).any():
            return None
        perm = np.argmax(nonzero, axis=1)
        return cls(perm=perm, phase=matrix[np.arange(len(perm)), perm])

    def apply(self, state: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.take(state, self.perm, axis=0, out=out)
        out *= column(self.phase, out.ndim)
        return out

    def astype(self, dtype: np.dtype) -> Monomial:
        return Monomial(self.perm, self.phase.real if dtype == np.float64 else self.phase)


@dataclasses.dataclass(frozen=True)
class FixedBlock:
    """A fused run of parameter-free gates: matrix U and its adjoint, as gathers when possible."""

    matrix: np.ndarray
    forward: Monomial | None
    inverse: Monomial | None

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> FixedBlock:
        return cls(matrix, Monomial.from_matrix(matrix), Monomial.from_matrix(matrix.conj().T))

    def apply(self, state: np.ndarray, out: np.ndarray, adjoint: bool = False) -> np.ndarray:
        """``U state`` (or ``U† state``) written to ``out``; ``state`` is left unchanged."""
        gather = self.inverse if adjoint else self.forward
        if gather is not None:
            return gather.apply(state, out)
        matrix = self.matrix.conj().T if adjoint else self.matrix
        out[...] = np.tensordot(matrix, state, axes=(1, 0))
        return out

    def astype(self, dtype: np.dtype) -> FixedBlock:
        real = dtype == np.float64
        return FixedBlock(
            self.matrix.real if real else self.matrix,
            self.forward.astype(dtype) if self.forward else None,
            self.inverse.astype(dtype) if self.inverse else None,
        )


@dataclasses.dataclass(frozen=True)
class Rotation:
    """``U(θ) = exp(−iθ/2·G) = 1 + (cos − 1)·K² + sin·M`` with ``G = s·K``, ``M = −iK``.

    cos and sin are of the half angle ``sθ/2``, θ = ``coeff·values[param] + offset``, one value
    per parameter set (shape ``(B,)``). K has eigenvalues in {−1, 0, 1} and is a monomial; K² is
    diagonal (``k2``, None when it is the identity). Applied in place to states ``(D, B)`` and
    adjoint sweeps ``(D, J+1, B)``.
    """

    param: int
    coeff: float
    offset: float
    scale: float
    m: Monomial
    k2: np.ndarray | None

    def _apply(
        self,
        state: np.ndarray,
        cos: np.ndarray,
        sin: np.ndarray,
        rotated: np.ndarray,
        scratch: np.ndarray,
    ) -> None:
        if self.k2 is not None:
            np.multiply(state, column(self.k2, state.ndim), out=scratch)
            scratch *= cos - 1.0
            state += scratch
        else:
            state *= cos
        rotated *= sin
        state += rotated

    def forward(
        self,
        state: np.ndarray,
        cos: np.ndarray,
        sin: np.ndarray,
        buffer: np.ndarray,
        scratch: np.ndarray,
    ) -> None:
        """``state ← U state``; ``buffer`` and ``scratch`` (shaped like state) are overwritten."""
        self._apply(state, cos, sin, self.m.apply(state, buffer), scratch)

    def adjoint_step(
        self,
        sweep: np.ndarray,
        n_obs: int,
        cos: np.ndarray,
        sin: np.ndarray,
        buffer: np.ndarray,
        scratch: np.ndarray,
    ) -> np.ndarray:
        """``Re <λ_j| M |φ>`` ``(J, B)`` for the sweep ``[λ.., φ]``, then ``sweep ← U† sweep``."""
        rotated = self.m.apply(sweep, buffer)
        lam = sweep[:, :n_obs]
        overlap = np.einsum(
            "djb,db->jb", lam.conj() if np.iscomplexobj(lam) else lam, rotated[:, n_obs]
        )
        self._apply(sweep, cos, -sin, rotated, scratch)
        return overlap.real

    def is_real(self) -> bool:
        return bool(np.allclose(self.m.phase.imag, 0, atol=ATOL))

    def astype(self, dtype: np.dtype) -> Rotation:
        return dataclasses.replace(self, m=self.m.astype(dtype))


def full_register(local: np.ndarray, qubits: Sequence[int], n_qubits: int) -> np.ndarray:
    """Embed a 2^k×2^k matrix acting on ``qubits`` into the n-qubit register."""
    identity = Operator(np.eye(2**n_qubits, dtype=complex))
    return identity.compose(Operator(local), qargs=list(qubits)).data


def affine_angle(angle: object, parameters: Sequence[Parameter]) -> tuple[int, float, float]:
    """(parameter index, coeff, offset) with angle = coeff · parameter + offset."""
    if not isinstance(angle, ParameterExpression):
        return -1, 0.0, float(angle)
    if len(angle.parameters) != 1:
        raise UnsupportedCircuitError(
            f"gate angle {angle} depends on {len(angle.parameters)} parameters; "
            f"the fast simulator needs each angle to depend on one parameter; {FALLBACK}."
        )
    (param,) = angle.parameters
    coeff = angle.gradient(param)
    if isinstance(coeff, ParameterExpression):
        raise UnsupportedCircuitError(
            f"gate angle {angle} is not affine in {param}; the fast simulator supports a·θ + b; "
            f"{FALLBACK}."
        )
    offset = float(angle.bind({param: 0.0}))
    return list(parameters).index(param), float(coeff), offset


def rotation(
    gate_name: str, qubits: Sequence[int], n_qubits: int, param: int, coeff: float, offset: float
) -> Rotation:
    local = ROTATION_GENERATORS[gate_name]
    scale = float(np.max(np.abs(np.linalg.eigvalsh(local))))
    k = full_register(local, qubits, n_qubits) / scale
    k_monomial = Monomial.from_matrix(k)
    k2 = np.diag(k @ k).real
    if k_monomial is None or not np.allclose(k @ k, np.diag(k2), atol=ATOL):
        raise UnsupportedCircuitError(
            f"generator of {gate_name} is not of the supported form; {FALLBACK}."
        )
    m = Monomial(k_monomial.perm, -1j * k_monomial.phase)
    return Rotation(param, coeff, offset, scale, m, None if np.allclose(k2, 1.0) else k2)


def probe_states(dim: int, complex_amplitudes: bool) -> tuple[np.ndarray, tuple]:
    """Probe states ``(D, n_probes)``: e_a, e_a + e_c, e_a − e_c (, e_a − i e_c, e_a + i e_c)."""
    upper, lower = np.triu_indices(dim, 1)
    identity = np.eye(dim)
    blocks = [
        identity,
        identity[:, upper] + identity[:, lower],
        identity[:, upper] - identity[:, lower],
    ]
    if complex_amplitudes:
        blocks += [
            identity[:, upper] - 1j * identity[:, lower],
            identity[:, upper] + 1j * identity[:, lower],
        ]
    probes = np.ascontiguousarray(
        np.concatenate(blocks, axis=1), dtype=np.complex128 if complex_amplitudes else np.float64
    )
    return probes, (upper, lower, complex_amplitudes)


def form_coefficients(values_on_probes: np.ndarray, pairs: tuple) -> np.ndarray:
    """Coefficients ``(F, X)`` of Hermitian forms from their values ``(n_probes, X)`` on probes:
    diagonal ``A_aa``, then ``Re A_ac`` and (complex) ``Im A_ac`` for a < c."""
    upper, _, complex_amplitudes = pairs
    dim, n_pairs = (
        values_on_probes.shape[0] - (4 if complex_amplitudes else 2) * len(upper),
        len(upper),
    )
    q = values_on_probes
    blocks = [q[:dim], (q[dim : dim + n_pairs] - q[dim + n_pairs : dim + 2 * n_pairs]) / 4]
    if complex_amplitudes:
        start = dim + 2 * n_pairs
        blocks.append((q[start : start + n_pairs] - q[start + n_pairs : start + 2 * n_pairs]) / 4)
    return np.concatenate(blocks)


def form_features(phi: np.ndarray, pairs: tuple) -> np.ndarray:
    """Features ``(F, B)`` of states ``(D, B)`` with ``Re φ†Aφ = coefficients.T @ features``."""
    upper, lower, complex_amplitudes = pairs
    dim, n_pairs = phi.shape[0], len(upper)
    features = np.empty((dim + n_pairs * (2 if complex_amplitudes else 1), phi.shape[1]))
    if complex_amplitudes:
        products = phi[upper].conj() * phi[lower]
        features[:dim] = phi.real**2 + phi.imag**2
        np.multiply(products.real, 2, out=features[dim : dim + n_pairs])
        np.multiply(products.imag, -2, out=features[dim + n_pairs :])
    else:
        np.square(phi, out=features[:dim])
        np.multiply(phi[upper], phi[lower], out=features[dim:])
        features[dim:] *= 2
    return features


def hermitian_matrices(coefficients: np.ndarray, pairs: tuple, dim: int) -> np.ndarray:
    """The matrices ``(X, D, D)`` of Hermitian forms given by their coefficients ``(F, X)``."""
    upper, lower, complex_amplitudes = pairs
    n_pairs = len(upper)
    dtype = np.complex128 if complex_amplitudes else np.float64
    matrices = np.zeros((coefficients.shape[1], dim, dim), dtype=dtype)
    diagonal = np.arange(dim)
    matrices[:, diagonal, diagonal] = coefficients[:dim].T
    off = coefficients[dim : dim + n_pairs].T.astype(dtype)
    if complex_amplitudes:
        off = off + 1j * coefficients[dim + n_pairs :].T
    matrices[:, upper, lower] = off
    matrices[:, lower, upper] = off.conj()
    return matrices


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
