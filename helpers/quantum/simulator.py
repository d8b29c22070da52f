"""Exact statevector simulation of parametrised circuits, vectorised over parameter sets.

A circuit is compiled once into a :class:`CompiledCircuit`: every run of consecutive fixed gates
is fused into one full-register operator (a gather when it is a permutation with phases, as CNOT
layers are, a matrix product otherwise), and every rotation gate ``U(θ) = exp(-iθ/2·G)`` is kept
with its generator. Evaluating a batch of B parameter sets then costs a few NumPy operations on a
``(B, 2**n)`` array per gate, and the adjoint method (Jones & Gacon, arXiv:2009.02823) gives the
exact Jacobian of several observables for about ``2 + n_observables`` times that.

When the initial state, every fixed block, every rotation and every observable keep amplitudes
real (Mari's H / RY / CNOT circuit measured in Z does), the simulation runs in float64 instead
of complex128.

Supported: any parameter-free gate with a matrix (h, x, y, z, s, t, sx, cx, cy, cz, ch, swap,
ccx, ...), the rotations in :data:`ROTATION_GENERATORS`, barriers; gate angles that are numbers
or affine functions ``a·θ + b`` of one circuit parameter. Anything else raises
:class:`UnsupportedCircuitError` naming the instruction.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit
from qiskit.quantum_info import Operator, SparsePauliOp

MAX_QUBITS = 10
# Parameter sets evaluated together: small enough for the adjoint sweep to stay in cache.
CHUNK = 256
_ATOL = 1e-12

_I2 = np.eye(2, dtype=complex)
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
_IGNORED = frozenset({"barrier", "delay"})


class UnsupportedCircuitError(ValueError):
    """The circuit holds an instruction the fast simulator cannot evaluate exactly."""


# Arrays below are laid out amplitude-first: a state is (D, B), the adjoint sweep (D, J+1, B), so
# that permuting amplitudes copies contiguous rows of B values and every update runs in place.


def _column(vector: np.ndarray, ndim: int) -> np.ndarray:
    """Shape a (D,) vector to broadcast along axis 0 of an ``ndim``-dimensional array."""
    return vector.reshape((-1,) + (1,) * (ndim - 1))


@dataclasses.dataclass(frozen=True)
class _Monomial:
    """A D×D matrix with at most one non-zero per row: ``(M ψ)[i] = phase[i] · ψ[perm[i]]``."""

    perm: np.ndarray
    phase: np.ndarray

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> _Monomial | None:
        nonzero = np.abs(matrix) > _ATOL
        if (nonzero.sum(axis=1) > 1).any():
            return None
        perm = np.argmax(nonzero, axis=1)
        return cls(perm=perm, phase=matrix[np.arange(len(perm)), perm])

    def apply(self, state: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.take(state, self.perm, axis=0, out=out)
        out *= _column(self.phase, out.ndim)
        return out

    def astype(self, dtype: np.dtype) -> _Monomial:
        return _Monomial(self.perm, self.phase.real if dtype == np.float64 else self.phase)


@dataclasses.dataclass(frozen=True)
class _FixedBlock:
    """A fused run of parameter-free gates: matrix U and its adjoint, as gathers when possible."""

    matrix: np.ndarray
    forward: _Monomial | None
    inverse: _Monomial | None

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> _FixedBlock:
        return cls(matrix, _Monomial.from_matrix(matrix), _Monomial.from_matrix(matrix.conj().T))

    def apply(self, state: np.ndarray, out: np.ndarray, adjoint: bool = False) -> np.ndarray:
        """``U state`` (or ``U† state``) written to ``out``; ``state`` is left unchanged."""
        gather = self.inverse if adjoint else self.forward
        if gather is not None:
            return gather.apply(state, out)
        matrix = self.matrix.conj().T if adjoint else self.matrix
        out[...] = np.tensordot(matrix, state, axes=(1, 0))
        return out

    def astype(self, dtype: np.dtype) -> _FixedBlock:
        real = dtype == np.float64
        return _FixedBlock(
            self.matrix.real if real else self.matrix,
            self.forward.astype(dtype) if self.forward else None,
            self.inverse.astype(dtype) if self.inverse else None,
        )


@dataclasses.dataclass(frozen=True)
class _Rotation:
    """``U(θ) = 1 + (cos(sθ/2) − 1)·K² + sin(sθ/2)·M`` with ``G = s·K``, ``M = −iK``.

    K has eigenvalues in {−1, 0, 1} and is a monomial; K² is diagonal (``k2``, None when 1).
    θ = ``coeff · values[param] + offset``.
    """

    param: int
    coeff: float
    offset: float
    scale: float
    m: _Monomial
    k2: np.ndarray | None

    def apply_inplace(
        self,
        state: np.ndarray,
        cos: np.ndarray,
        sin: np.ndarray,
        rotated: np.ndarray,
        scratch: np.ndarray,
    ) -> None:
        """``state ← U state`` given ``rotated = M state``; cos/sin of the half angle are (B,).

        Pass ``-sin`` for the adjoint. ``rotated`` and ``scratch`` are overwritten.
        """
        if self.k2 is not None:
            np.multiply(state, _column(self.k2, state.ndim), out=scratch)
            scratch *= cos - 1.0
            state += scratch
        else:
            state *= cos
        rotated *= sin
        state += rotated

    def astype(self, dtype: np.dtype) -> _Rotation:
        return dataclasses.replace(self, m=self.m.astype(dtype))


def _full_register(local: np.ndarray, qubits: Sequence[int], n_qubits: int) -> np.ndarray:
    """Embed a 2^k×2^k matrix acting on ``qubits`` into the n-qubit register."""
    identity = Operator(np.eye(2**n_qubits, dtype=complex))
    return identity.compose(Operator(local), qargs=list(qubits)).data


def _affine_angle(angle: object, parameters: Sequence[Parameter]) -> tuple[int, float, float]:
    """(parameter index, coeff, offset) with angle = coeff · parameter + offset."""
    if not isinstance(angle, ParameterExpression):
        return -1, 0.0, float(angle)
    if len(angle.parameters) != 1:
        raise UnsupportedCircuitError(
            f"gate angle {angle} depends on {len(angle.parameters)} parameters; "
            "the fast simulator needs each angle to depend on one parameter."
        )
    (param,) = angle.parameters
    coeff = angle.gradient(param)
    if isinstance(coeff, ParameterExpression):
        raise UnsupportedCircuitError(
            f"gate angle {angle} is not affine in {param}; the fast simulator supports a·θ + b."
        )
    offset = float(angle.bind({param: 0.0}))
    return list(parameters).index(param), float(coeff), offset


def _rotation(
    gate_name: str, qubits: Sequence[int], n_qubits: int, param: int, coeff: float, offset: float
) -> _Rotation:
    generator = _full_register(ROTATION_GENERATORS[gate_name], qubits, n_qubits)
    scale = float(np.max(np.abs(np.linalg.eigvalsh(generator))))
    k = generator / scale
    k_monomial = _Monomial.from_matrix(k)
    k2 = np.diag(k @ k).real
    if k_monomial is None or not np.allclose(k @ k, np.diag(k2), atol=_ATOL):
        raise UnsupportedCircuitError(f"generator of {gate_name} is not of the supported form")
    m = _Monomial(k_monomial.perm, -1j * k_monomial.phase)
    return _Rotation(param, coeff, offset, scale, m, None if np.allclose(k2, 1.0) else k2)


@dataclasses.dataclass(frozen=True, eq=False)
class CompiledCircuit:
    """A circuit ready for batched evaluation; build it with :func:`compile_circuit`."""

    n_qubits: int
    n_parameters: int
    initial_state: np.ndarray  # after the leading fixed gates, shape (2**n,)
    operations: tuple[_FixedBlock | _Rotation, ...]
    real: bool

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64 if self.real else np.complex128)

    @functools.cached_property
    def _rotations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Parameter index, slope and offset of every rotation's half angle ``sθ/2``."""
        rotations = [op for op in self.operations if isinstance(op, _Rotation)]
        return (
            np.array([op.param for op in rotations], dtype=int),
            np.array([op.coeff * op.scale / 2 for op in rotations]),
            np.array([op.offset * op.scale / 2 for op in rotations]),
        )

    def _half_angle_trig(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of every rotation's half angle: two ``(R, B)`` arrays."""
        params, slope, offset = self._rotations
        half = values[:, params].T * slope[:, None] + offset[:, None]
        return np.cos(half), np.sin(half)

    def _values(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"expected parameter values of shape (B, {self.n_parameters}), got {values.shape}"
            )
        return values

    def _run(
        self, values: np.ndarray, trig: tuple[np.ndarray, np.ndarray], complex_amplitudes: bool
    ) -> np.ndarray:
        """Final states, amplitude-first: ``(D, B)``."""
        dtype = np.complex128 if complex_amplitudes or not self.real else np.float64
        state = np.repeat(self.initial_state.astype(dtype)[:, None], len(values), axis=1)
        buffer, scratch = np.empty_like(state), np.empty_like(state)
        cos, sin = trig
        rotation = 0
        for op in self.operations:
            if isinstance(op, _Rotation):
                op.apply_inplace(
                    state, cos[rotation], sin[rotation], op.m.apply(state, buffer), scratch
                )
                rotation += 1
            else:
                state, buffer = op.apply(state, buffer), state
        return state

    def statevectors(self, values: np.ndarray, complex_amplitudes: bool = False) -> np.ndarray:
        """Final states ``(B, 2**n)`` for parameter values ``(B, n_parameters)``.

        Real circuits give float64 states unless ``complex_amplitudes`` asks for complex128.
        """
        values = self._values(values)
        return self._run(values, self._half_angle_trig(values), complex_amplitudes).T

    def expectation_values(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> np.ndarray:
        """``<O_j>`` for every parameter set and observable: shape ``(B, J)``."""
        values = self._values(values)
        return np.concatenate(
            [
                observables.expectation(
                    self._run(chunk, self._half_angle_trig(chunk), not observables.real)
                )
                for chunk in np.array_split(values, max(1, -(-len(values) // CHUNK)))
            ]
        )

    def jacobian(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact values ``(B, J)`` and Jacobian ``(B, J, n_parameters)`` by the adjoint method.

        The sweep carries ``[O_1 ψ, ..., O_J ψ, ψ]`` as one ``(D, J+1, B)`` array back through
        the circuit; at rotation k, ``d<O_j>/dθ_k = s_k · Re <λ_j| M_k |φ_k>``.
        """
        values = self._values(values)
        parts = [
            self._jacobian_chunk(chunk, observables)
            for chunk in np.array_split(values, max(1, -(-len(values) // CHUNK)))
        ]
        return (
            np.concatenate([evs for evs, _ in parts]),
            np.concatenate([jac for _, jac in parts]),
        )

    def _jacobian_chunk(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> tuple[np.ndarray, np.ndarray]:
        cos, sin = self._half_angle_trig(values)
        state = self._run(values, (cos, sin), not observables.real)
        evs = observables.expectation(state)
        n_obs = observables.count
        sweep = np.concatenate([observables.apply(state), state[:, None, :]], axis=1)
        buffer, scratch = np.empty_like(sweep), np.empty_like(sweep)
        complex_sweep = np.iscomplexobj(sweep)
        jac = np.zeros((self.n_parameters, n_obs, len(values)))
        params, slope, _ = self._rotations
        rotation = len(params)
        for op in reversed(self.operations):
            if rotation == 0:
                break
            if isinstance(op, _Rotation):
                rotation -= 1
                rotated = op.m.apply(sweep, buffer)
                lam = sweep[:, :n_obs]
                overlap = np.einsum(
                    "djb,db->jb", lam.conj() if complex_sweep else lam, rotated[:, n_obs]
                )
                jac[op.param] += (2 * slope[rotation]) * overlap.real
                op.apply_inplace(sweep, cos[rotation], -sin[rotation], rotated, scratch)
            else:
                sweep, buffer = op.apply(sweep, buffer, adjoint=True), sweep
        return evs, jac.transpose(2, 1, 0)


def compile_circuit(
    circuit: QuantumCircuit, parameters: Sequence[Parameter] | None = None
) -> CompiledCircuit:
    """Compile ``circuit``; values are later given in the order of ``parameters``.

    ``parameters`` defaults to ``circuit.parameters`` (Qiskit's sorted order, as primitives use).
    """
    n = circuit.num_qubits
    if n > MAX_QUBITS:
        raise UnsupportedCircuitError(
            f"the fast simulator handles up to {MAX_QUBITS} qubits, this circuit has {n}; "
            "use backend='aer' for larger circuits."
        )
    if circuit.num_clbits or any(
        inst.operation.name in ("measure", "reset") for inst in circuit.data
    ):
        raise UnsupportedCircuitError(
            "measurements and resets are not supported: the estimator measures the observables."
        )
    params = list(circuit.parameters if parameters is None else parameters)
    dim = 2**n
    operations: list[_FixedBlock | _Rotation] = []
    pending = np.eye(dim, dtype=complex)
    pending_used = False

    def flush() -> None:
        nonlocal pending, pending_used
        if pending_used:
            operations.append(_FixedBlock.from_matrix(pending))
        pending, pending_used = np.eye(dim, dtype=complex), False

    for inst in circuit.data:
        gate, qubits = inst.operation, [circuit.find_bit(q).index for q in inst.qubits]
        if gate.name in _IGNORED:
            continue
        if any(isinstance(value, ParameterExpression) for value in gate.params):
            if gate.name not in ROTATION_GENERATORS:
                raise UnsupportedCircuitError(
                    f"parametrised gate '{gate.name}' is not supported by the fast simulator; "
                    f"supported rotations: {sorted(ROTATION_GENERATORS)}. Decompose it first "
                    "(e.g. circuit.decompose()) or use backend='reference'."
                )
            index, coeff, offset = _affine_angle(gate.params[0], params)
            flush()
            operations.append(_rotation(gate.name, qubits, n, index, coeff, offset))
            continue
        try:
            local = Operator(gate).data
        except Exception as exc:  # qiskit raises several types for matrix-less instructions
            raise UnsupportedCircuitError(
                f"instruction '{gate.name}' has no matrix and cannot be simulated: {exc}"
            ) from exc
        pending = _full_register(local, qubits, n) @ pending
        pending_used = True
    flush()
    if circuit.global_phase and isinstance(circuit.global_phase, ParameterExpression):
        raise UnsupportedCircuitError("a parametrised global phase is not supported.")

    initial = np.zeros(dim, dtype=complex)
    initial[0] = 1.0
    while operations and isinstance(operations[0], _FixedBlock):
        initial = operations.pop(0).matrix @ initial
    real = np.allclose(initial.imag, 0, atol=_ATOL) and all(
        np.allclose(op.matrix.imag, 0, atol=_ATOL)
        if isinstance(op, _FixedBlock)
        else np.allclose(op.m.phase.imag, 0, atol=_ATOL)
        for op in operations
    )
    dtype = np.dtype(np.float64 if real else np.complex128)
    return CompiledCircuit(
        n_qubits=n,
        n_parameters=len(params),
        initial_state=initial.real.copy() if real else initial,
        operations=tuple(op.astype(dtype) for op in operations),
        real=real,
    )


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
        return self.diagonals is not None or bool(np.allclose(self.matrices.imag, 0, atol=_ATOL))

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
