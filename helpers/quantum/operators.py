"""Gates of the fast simulator (:mod:`helpers.quantum.simulator`).

A rotation gate ``U(θ) = exp(-iθ/2·G)`` is kept with its generator; a run of parameter-free
gates is fused into one full-register operator, applied as a gather when it is a permutation
with phases (CNOT layers are); one-qubit rotations act on the register's two halves
(:mod:`helpers.quantum.chains`). Arrays
are laid out amplitude-first: a state is (D, B), the adjoint sweep (D, J+1, B), so that permuting
amplitudes copies contiguous rows of B values and every update runs in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression

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


def real_overlaps(lam: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``Re <λ_j|φ>`` per column: λ ``(D, J, B)``, φ ``(D, B)`` -> ``(J, B)``.

    Complex amplitudes are read as pairs of reals (``Re(a* b) = a_re b_re + a_im b_im``): a real
    contraction, about four times faster than conjugating λ for a complex one.
    """
    if not np.iscomplexobj(lam):
        return np.einsum("djb,db->jb", lam, phi)
    pairs = np.einsum("djb,db->jb", lam.view(np.float64), phi.view(np.float64))
    return pairs[:, 0::2] + pairs[:, 1::2]


@dataclasses.dataclass(frozen=True)
class Rotation:
    """``U(θ) = exp(−iθ/2·G) = 1 + (cos − 1)·K² + sin·M`` with ``G = s·K``, ``M = −iK``.

    cos and sin are of the half angle ``sθ/2``, θ = ``coeff·values[param] + offset``: shape
    ``(1, B)``, one value per parameter set (B may be 1: one for every column), as one row of
    a :class:`~helpers.quantum.chains.QubitChain`'s. K has eigenvalues in {−1, 0, 1} and is a
    monomial; K² is diagonal (``k2``, None when it is the identity). Applied in place to states
    ``(D, B)`` and adjoint sweeps ``(D, J+1, B)``.
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
        self._apply(state, cos, sin, self.rotate(state, buffer), scratch)

    def rotate(self, state: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``M state`` written to ``out``."""
        return self.m.apply(state, out)

    def adjoint_step(
        self,
        sweep: np.ndarray,
        n_obs: int,
        cos: np.ndarray,
        sin: np.ndarray,
        buffer: np.ndarray,
        scratch: np.ndarray,
    ) -> np.ndarray:
        """``Re <λ_j| M |φ>`` ``(1, J, B)`` for the sweep ``[λ.., φ]``, then ``sweep ← U† sweep``
        (``U† = U(−θ)``: the forward update with −sin)."""
        rotated = self.rotate(sweep[:, n_obs], buffer[:, n_obs])
        overlap = real_overlaps(sweep[:, :n_obs], rotated)
        self.forward(sweep, cos, -sin, buffer, scratch)
        return overlap[None]

    def is_real(self) -> bool:
        return bool(np.allclose(self.m.phase.imag, 0, atol=ATOL))

    def astype(self, dtype: np.dtype) -> Rotation:
        return dataclasses.replace(self, m=self.m.astype(dtype))


# One entry of a one-qubit rotation's matrix: U_ij = c0 + c1·cos + c2·sin of the half angle.
Entry = tuple[complex, complex, complex]
_ONE: Entry = (1, 0, 0)


@dataclasses.dataclass(frozen=True)
class QubitRotation(Rotation):
    """A one-qubit rotation with its 2×2 matrix, applied (with its neighbours on the same qubit)
    by a :class:`~helpers.quantum.chains.QubitChain` to the two halves of the register.

    ``entries``: U00, U01, U10, U11 as :data:`Entry` (None where zero for every angle);
    ``generator``: the non-zero entries ``(i, j, M_ij)`` of M = −iK.
    """

    qubit: int = 0
    entries: tuple[Entry | None, ...] = (_ONE, None, None, _ONE)
    generator: tuple[tuple[int, int, complex], ...] = ()

    def astype(self, dtype: np.dtype) -> QubitRotation:
        if dtype != np.float64:
            return dataclasses.replace(self, m=self.m.astype(dtype))
        return dataclasses.replace(
            self,
            m=self.m.astype(dtype),
            entries=tuple(
                entry and tuple(float(np.real(v)) for v in entry) for entry in self.entries
            ),
            generator=tuple((i, j, float(np.real(v))) for i, j, v in self.generator),
        )


def qubit_rotation(rotation: Rotation, qubit: int, k_local: np.ndarray) -> QubitRotation:
    """The one-qubit form of ``rotation``, whose generator is ``scale · k_local`` on ``qubit``."""
    generator = -1j * k_local
    square = k_local @ k_local  # U = 1 + (cos − 1)·K² + sin·(−iK)
    entries = []
    for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)):
        entry = ((i == j) - square[i, j], square[i, j], generator[i, j])
        entries.append(
            None if not np.any(np.abs(entry) > ATOL) else tuple(complex(v) for v in entry)
        )
    nonzero = [(int(i), int(j), complex(generator[i, j])) for i, j in np.argwhere(generator)]
    return QubitRotation(
        **vars(rotation), qubit=qubit, entries=tuple(entries), generator=tuple(nonzero)
    )


def apply_local(local: np.ndarray, qubits: Sequence[int], rows: np.ndarray) -> np.ndarray:
    """``(local on qubits) @ rows`` for a ``(2**n, M)`` array, without the 2^n×2^n matrix.

    ``local`` is 2^k×2^k in Qiskit's convention (``qubits[0]`` least significant); the row index
    of ``rows`` is read as n bits, qubit q the axis ``n − 1 − q``. Costs 2^k·2^n·M, where the
    full-register product costs 4^n·M (10 qubits: 1,024 times less).
    """
    n, k = int(rows.shape[0]).bit_length() - 1, len(qubits)
    tensor = rows.reshape((2,) * n + (-1,))
    axes = [n - 1 - q for q in reversed(qubits)]  # local's input axes, most significant first
    gate = local.reshape((2,) * (2 * k))
    moved = np.tensordot(gate, tensor, axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(moved, list(range(k)), axes).reshape(rows.shape)


def full_register(local: np.ndarray, qubits: Sequence[int], n_qubits: int) -> np.ndarray:
    """Embed a 2^k×2^k matrix acting on ``qubits`` into the n-qubit register."""
    return apply_local(local, qubits, np.eye(2**n_qubits, dtype=complex))


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
    local_k = local / scale
    square = local_k @ local_k  # K monomial with K² diagonal on the qubits: so on the register
    if Monomial.from_matrix(local_k) is None or not np.allclose(
        square, np.diag(np.diag(square)), atol=ATOL
    ):
        raise UnsupportedCircuitError(
            f"generator of {gate_name} is not of the supported form; {FALLBACK}."
        )
    k_monomial = Monomial.from_matrix(full_register(local_k, qubits, n_qubits))
    k2 = full_register(np.diag(np.diag(square)), qubits, n_qubits).diagonal().real.copy()
    m = Monomial(k_monomial.perm, -1j * k_monomial.phase)
    general = Rotation(param, coeff, offset, scale, m, None if np.allclose(k2, 1.0) else k2)
    return qubit_rotation(general, qubits[0], local / scale) if len(qubits) == 1 else general
