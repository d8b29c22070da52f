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
# Parameter sets evaluated together: small enough for the working arrays to stay in cache.
CHUNK = 256
# The Heisenberg-picture path needs a D×D pulled-back observable; it pays up to 5 qubits.
HEISENBERG_MAX_DIM = 32
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
    m: _Monomial
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
            np.multiply(state, _column(self.k2, state.ndim), out=scratch)
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
        return bool(np.allclose(self.m.phase.imag, 0, atol=_ATOL))

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
    local = ROTATION_GENERATORS[gate_name]
    scale = float(np.max(np.abs(np.linalg.eigvalsh(local))))
    k = _full_register(local, qubits, n_qubits) / scale
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

    @functools.cached_property
    def _rotations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Parameter index, slope and offset of every rotation's half angle ``sθ/2``."""
        rotations = [op for op in self.operations if isinstance(op, _Rotation)]
        return (
            np.array([op.param for op in rotations], dtype=int),
            np.array([op.coeff * op.scale / 2 for op in rotations]),
            np.array([op.offset * op.scale / 2 for op in rotations]),
        )

    def _half_angle_trig(
        self, values: np.ndarray, count: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of the half angles of the first ``count`` rotations (default all):
        two ``(count, B)`` arrays."""
        params, slope, offset = (part[:count] for part in self._rotations)
        half = values[:, params].T * slope[:, None] + offset[:, None]
        return np.cos(half), np.sin(half)

    def _values(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"expected parameter values of shape (B, {self.n_parameters}), got {values.shape}"
            )
        return values

    @functools.cached_property
    def _rotation_slots(self) -> tuple[int, ...]:
        """For every operation, its index among the rotations (−1 for fixed blocks)."""
        slots, count = [], 0
        for op in self.operations:
            slots.append(count if isinstance(op, _Rotation) else -1)
            count += isinstance(op, _Rotation)
        return tuple(slots)

    def _forward(
        self, state: np.ndarray, start: int, stop: int, cos: np.ndarray, sin: np.ndarray
    ) -> np.ndarray:
        """Apply ``operations[start:stop]`` to contiguous states ``(D, B)``; returns the result."""
        buffer, scratch = np.empty_like(state), np.empty_like(state)
        for op, slot in zip(
            self.operations[start:stop], self._rotation_slots[start:stop], strict=True
        ):
            if slot >= 0:
                op.forward(state, cos[slot], sin[slot], buffer, scratch)
            else:
                state, buffer = op.apply(state, buffer), state
        return state

    def _adjoint(
        self,
        state: np.ndarray,
        lam: np.ndarray,
        start: int,
        stop: int,
        cos: np.ndarray,
        sin: np.ndarray,
    ) -> np.ndarray:
        """Adjoint sweep back through ``operations[start:stop]``.

        ``state`` ``(D, B)`` is the state after ``operations[stop-1]``, ``lam`` ``(D, J, B)``
        the back-propagated ``O_j |ψ>``. Returns ``d<O_j>/dθ_p`` from those operations:
        ``(n_parameters, J, B)``. The sweep carries ``[λ_1, ..., λ_J, φ]`` as one array; at
        rotation k, ``d<O_j>/dθ_k = s_k · Re <λ_j| M_k |φ_k>``.
        """
        n_obs = lam.shape[1]
        sweep = np.empty((state.shape[0], n_obs + 1, state.shape[1]), dtype=state.dtype)
        sweep[:, :n_obs] = lam
        sweep[:, n_obs] = state
        buffer, scratch = np.empty_like(sweep), np.empty_like(sweep)
        jac = np.zeros((self.n_parameters, n_obs, state.shape[1]))
        _, slope, _ = self._rotations
        slots = self._rotation_slots
        first = next((i for i in range(start, stop) if slots[i] >= 0), stop)
        for index in range(stop - 1, first - 1, -1):
            op, slot = self.operations[index], slots[index]
            if slot >= 0:
                overlap = op.adjoint_step(sweep, n_obs, cos[slot], sin[slot], buffer, scratch)
                jac[op.param] += (2 * slope[slot]) * overlap
            else:
                sweep, buffer = op.apply(sweep, buffer, adjoint=True), sweep
        return jac

    def _initial_states(self, batch: int, complex_amplitudes: bool) -> np.ndarray:
        dtype = np.complex128 if complex_amplitudes or not self.real else np.float64
        return np.repeat(self.initial_state.astype(dtype)[:, None], batch, axis=1)

    def expectation_values(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> np.ndarray:
        """``<O_j>`` for every parameter set and observable: shape ``(B, J)``."""
        values = self._values(values)
        heisenberg = self._heisenberg(values, observables, with_jacobian=False)
        if heisenberg is not None:
            return heisenberg[0]
        return np.concatenate(
            [self._chunk_values(chunk, observables) for chunk in _chunks(values, CHUNK)]
        )

    def jacobian(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact values ``(B, J)`` and Jacobian ``(B, J, n_parameters)``.

        By the adjoint method (Jones & Gacon, arXiv:2009.02823), in cache-sized chunks; when the
        trailing gates' parameters are the same for the whole batch (a QNN's weights), through
        observables pulled back over those gates once per call (see :meth:`_heisenberg`).
        """
        values = self._values(values)
        heisenberg = self._heisenberg(values, observables, with_jacobian=True)
        if heisenberg is not None:
            return heisenberg
        parts = [self._chunk_jacobian(chunk, observables) for chunk in _chunks(values, CHUNK)]
        return np.concatenate([e for e, _ in parts]), np.concatenate([j for _, j in parts])

    def _chunk_values(self, values: np.ndarray, observables: CompiledObservables) -> np.ndarray:
        state = self._initial_states(len(values), not observables.real)
        cos, sin = self._half_angle_trig(values)
        return observables.expectation(self._forward(state, 0, len(self.operations), cos, sin))

    def _chunk_jacobian(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> tuple[np.ndarray, np.ndarray]:
        cos, sin = self._half_angle_trig(values)
        state = self._initial_states(len(values), not observables.real)
        state = self._forward(state, 0, len(self.operations), cos, sin)
        jac = self._adjoint(state, observables.apply(state), 0, len(self.operations), cos, sin)
        return observables.expectation(state), jac.transpose(2, 1, 0)

    # ------------------------------------------------------------ Heisenberg-picture suffix
    def _shared_suffix_start(self, values: np.ndarray) -> int:
        """First operation after which every rotation's parameter is the same for all rows."""
        shared = np.all(values == values[:1], axis=0)
        last = -1
        for index, (op, slot) in enumerate(zip(self.operations, self._rotation_slots, strict=True)):
            if slot >= 0 and not shared[op.param]:
                last = index
        return last + 1

    def _heisenberg(
        self, values: np.ndarray, observables: CompiledObservables, with_jacobian: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Values (and Jacobian) through observables pulled back over the shared suffix.

        With the suffix V fixed for the batch, ``<O_j> = φ†(V† O_j V)φ`` and its suffix-parameter
        derivatives are Hermitian forms ``Re φ†Aφ`` of the state φ after the prefix. A form is
        linear in the features ``φ_a φ_c`` (a <= c), and its coefficients follow exactly from
        the form's values on ``e_a`` and ``e_a ± e_c`` (and ``e_a ± i e_c`` for complex
        amplitudes): one adjoint run on at most ``2 D²`` probe states, then one matrix product
        per batch. The prefix's gradient comes from an adjoint sweep seeded with ``(V† O_j V)φ``.
        Returns None where this would not pay (small batch, wide register, no shared suffix).
        """
        dim = len(self.initial_state)
        complex_amplitudes = not (self.real and observables.real)
        n_probes = dim * dim * (2 if complex_amplitudes else 1)
        cut = self._shared_suffix_start(values)
        suffix_has_rotations = any(slot >= 0 for slot in self._rotation_slots[cut:])
        if dim > HEISENBERG_MAX_DIM or len(values) < 2 * n_probes or not suffix_has_rotations:
            return None
        probes, pairs = _probe_states(dim, complex_amplitudes)
        cos_shared, sin_shared = self._half_angle_trig(values[:1])
        probe_out = self._forward(probes, cut, len(self.operations), cos_shared, sin_shared)
        n_obs = observables.count
        pulled_back = _form_coefficients(observables.expectation(probe_out), pairs)
        if with_jacobian:
            probe_jac = self._adjoint(
                probe_out,
                observables.apply(probe_out),
                cut,
                len(self.operations),
                cos_shared,
                sin_shared,
            )
            jac_forms = _form_coefficients(
                probe_jac.transpose(2, 1, 0).reshape(len(probe_jac[0, 0]), -1), pairs
            )
        operators = _hermitian_matrices(pulled_back, pairs, dim)  # V† O_j V: (J, D, D)
        n_prefix_rotations = sum(slot >= 0 for slot in self._rotation_slots[:cut])
        evs, jacs = [], []
        for rows in _chunks(np.arange(len(values)), CHUNK):
            cos, sin = self._half_angle_trig(values[rows], n_prefix_rotations)
            phi = self._initial_states(len(rows), complex_amplitudes)
            phi = self._forward(phi, 0, cut, cos, sin)
            lam = np.einsum("jac,cb->ajb", operators, phi)  # (V† O_j V) φ: (D, J, B)
            evs.append(np.einsum("ab,ajb->bj", phi.conj(), lam).real)
            if not with_jacobian:
                continue
            jac = (jac_forms.T @ _form_features(phi, pairs)).T
            jac = jac.reshape(len(rows), n_obs, self.n_parameters)
            jac += self._adjoint(phi, np.ascontiguousarray(lam), 0, cut, cos, sin).transpose(
                2, 1, 0
            )
            jacs.append(jac)
        return np.concatenate(evs), (np.concatenate(jacs) if with_jacobian else None)


def _chunks(array: np.ndarray, size: int) -> list[np.ndarray]:
    return np.array_split(array, max(1, -(-len(array) // size)))


def _probe_states(dim: int, complex_amplitudes: bool) -> tuple[np.ndarray, tuple]:
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


def _form_coefficients(values_on_probes: np.ndarray, pairs: tuple) -> np.ndarray:
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


def _form_features(phi: np.ndarray, pairs: tuple) -> np.ndarray:
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


def _hermitian_matrices(coefficients: np.ndarray, pairs: tuple, dim: int) -> np.ndarray:
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
        np.allclose(op.matrix.imag, 0, atol=_ATOL) if isinstance(op, _FixedBlock) else op.is_real()
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
