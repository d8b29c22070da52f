"""Exact statevector simulation of parametrised circuits, vectorised over parameter sets.

A circuit is compiled once into a :class:`CompiledCircuit`: every run of consecutive fixed gates
is fused into one full-register operator (a gather when it is a permutation with phases, as CNOT
layers are, a matrix product otherwise), and every rotation gate ``U(θ) = exp(-iθ/2·G)`` is kept
with its generator, the one-qubit ones on a qubit in chains (:mod:`helpers.quantum.chains`).
Evaluating a batch of B parameter sets then costs one pass over a ``(2**n, B)`` array per chain
or fixed block, a few NumPy operations per other gate, and the adjoint method (Jones & Gacon,
arXiv:2009.02823) gives the exact Jacobian of several observables for about
``2 + n_observables`` times that.

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
from qiskit.quantum_info import Operator

from helpers.config import FAST_MAX_QUBITS
from helpers.quantum.chains import Operation, fuse_chains, rotations_of
from helpers.quantum.forms import form_coefficients, form_features, hermitian_matrices, probe_states
from helpers.quantum.observables import CompiledObservables
from helpers.quantum.operators import (
    ATOL,
    IGNORED,
    ROTATION_GENERATORS,
    FixedBlock,
    Rotation,
    UnsupportedCircuitError,
    affine_angle,
    apply_local,
    real_overlaps,
    rotation,
)

MAX_QUBITS = FAST_MAX_QUBITS
# Amplitudes evaluated together (parameter sets × 2**n): small enough for the working arrays to
# stay in cache, large enough for each NumPy call to hide its overhead (4 qubits, batch 4096:
# 48,000 -> 92,000 samples/s forward + backward against 256 parameter sets at a time).
CHUNK_AMPLITUDES = 2**16
# The Heisenberg-picture path needs a D×D pulled-back observable; it pays up to 5 qubits.
HEISENBERG_MAX_DIM = 32
# Final states of a forward pass kept for the backward pass that follows (4 MB complex).
KEPT_AMPLITUDES = 2**18


@dataclasses.dataclass(frozen=True, eq=False)
class CompiledCircuit:
    """A circuit ready for batched evaluation; build it with :func:`compile_circuit`."""

    n_qubits: int
    n_parameters: int
    initial_state: np.ndarray  # after the leading fixed gates, shape (2**n,)
    operations: tuple[Operation, ...]
    real: bool
    _kept: list = dataclasses.field(default_factory=list, init=False, repr=False)

    @functools.cached_property
    def _rotations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Parameter index, slope and offset of every rotation's half angle ``sθ/2``."""
        rotations = [rot for op in self.operations for rot in rotations_of(op)]
        return (
            np.array([op.param for op in rotations], dtype=int),
            np.array([op.coeff * op.scale / 2 for op in rotations]),
            np.array([op.offset * op.scale / 2 for op in rotations]),
        )

    def _half_angle_trig(
        self, values: np.ndarray, count: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of the half angles of the first ``count`` rotations (default all):
        two ``(count, B)`` arrays. An angle shared by every row (a QNN's weight) is evaluated
        once."""
        params, slope, offset = (part[:count] for part in self._rotations)
        half = values[:, params].T * slope[:, None] + offset[:, None]
        shared = np.all(half == half[:, :1], axis=1)
        cos, sin = np.empty_like(half), np.empty_like(half)
        for rows, angles in ((shared, half[shared, :1]), (~shared, half[~shared])):
            cos[rows], sin[rows] = np.cos(angles), np.sin(angles)
        return cos, sin

    def _chunks(self, rows: np.ndarray) -> list[np.ndarray]:
        """``rows`` split into parameter sets evaluated together (:data:`CHUNK_AMPLITUDES`)."""
        size = max(1, CHUNK_AMPLITUDES >> self.n_qubits)
        return np.array_split(rows, max(1, -(-len(rows) // size)))

    def _values(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_parameters:
            raise ValueError(
                f"expected parameter values of shape (B, {self.n_parameters}), got {values.shape}"
            )
        return values

    @functools.cached_property
    def _rotation_slots(self) -> tuple[slice | None, ...]:
        """Per operation, the rows of its rotations among all of them (None: a fixed block)."""
        slots, count = [], 0
        for op in self.operations:
            width = len(rotations_of(op))
            slots.append(slice(count, count + width) if width else None)
            count += width
        return tuple(slots)

    def _forward(
        self, state: np.ndarray, start: int, stop: int, cos: np.ndarray, sin: np.ndarray
    ) -> np.ndarray:
        """Apply ``operations[start:stop]`` to contiguous states ``(D, B)``; returns the result."""
        buffer, scratch = np.empty_like(state), np.empty_like(state)
        for op, slot in zip(
            self.operations[start:stop], self._rotation_slots[start:stop], strict=True
        ):
            if slot is not None:
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
        params, slope, _ = self._rotations
        slots = self._rotation_slots
        first = next((i for i in range(start, stop) if slots[i] is not None), stop)
        for index in range(stop - 1, first - 1, -1):
            op, slot = self.operations[index], slots[index]
            if slot is not None:
                overlaps = op.adjoint_step(sweep, n_obs, cos[slot], sin[slot], buffer, scratch)
                for k, overlap in zip(range(slot.start, slot.stop), overlaps, strict=True):
                    jac[params[k]] += (2 * slope[k]) * overlap
            else:
                sweep, buffer = op.apply(sweep, buffer, adjoint=True), sweep
        return jac

    def _initial_states(self, batch: int, complex_amplitudes: bool) -> np.ndarray:
        dtype = np.complex128 if complex_amplitudes or not self.real else np.float64
        return np.repeat(self.initial_state.astype(dtype)[:, None], batch, axis=1)

    def states(self, values: np.ndarray) -> np.ndarray:
        """Final statevectors ``(B, 2**n)`` (complex128, Qiskit's little-endian amplitude order)
        for parameter sets ``(B, n_parameters)``, in cache-sized chunks."""
        values = self._values(values)
        parts = [state.T for state in self._final_states(values, False)] if len(values) else []
        return np.concatenate([np.zeros((0, len(self.initial_state))), *parts]).astype(complex)

    def _final_states(self, values: np.ndarray, complex_amplitudes: bool) -> list[np.ndarray]:
        """The final state ``(D, B)`` of every chunk of ``values``, kept (up to
        :data:`KEPT_AMPLITUDES`) for the next call, which reuses them for the same rows: a layer's
        backward pass skips the forward pass (efficient_su2, 4 qubits, batch 4096: -25% time),
        and releases them."""
        chunks = self._chunks(values)
        key = (complex_amplitudes, tuple(len(chunk) for chunk in chunks))
        kept = self._kept[:]  # one snapshot, whatever other threads do
        if kept and kept[0][1] == key and np.array_equal(kept[0][0], values):
            return kept[0][2]
        states = []
        for chunk in chunks:
            cos, sin = self._half_angle_trig(chunk)
            state = self._initial_states(len(chunk), complex_amplitudes)
            states.append(self._forward(state, 0, len(self.operations), cos, sin))
        keep = values.shape[0] * len(self.initial_state) <= KEPT_AMPLITUDES
        self._kept[:] = [(values.copy(), key, states)] if keep else []
        return states

    def expectation_values(
        self, values: np.ndarray, observables: CompiledObservables
    ) -> np.ndarray:
        """``<O_j>`` for every parameter set and observable: shape ``(B, J)``; through the final
        states, kept for a backward pass (:meth:`_final_states`), or for batches too large to
        keep through the Heisenberg picture (:meth:`_heisenberg`)."""
        values = self._values(values)
        if len(values) * len(self.initial_state) > KEPT_AMPLITUDES:
            heisenberg = self._heisenberg(values, observables, with_jacobian=False)
            if heisenberg is not None:
                return heisenberg[0]
        states = self._final_states(values, not observables.real)
        return np.concatenate([observables.expectation(state) for state in states])

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
        parts = [self._chunk_jacobian(chunk, observables) for chunk in self._chunks(values)]
        return np.concatenate([e for e, _ in parts]), np.concatenate([j for _, j in parts])

    def vector_jacobian(
        self, values: np.ndarray, observables: CompiledObservables, cotangent: np.ndarray
    ) -> np.ndarray:
        """``Σ_j cotangent[b, j] · d<O_j>/dθ_p`` for every row: ``(B, n_parameters)``.

        What back-propagation needs, for a fraction of the Jacobian's cost: the adjoint sweep
        carries one combined vector ``Σ_j c_j O_j |ψ>`` per row instead of one per observable.
        (Contracting the Heisenberg path's Jacobian instead was slower at 4-5 qubits, batch 4096:
        Mari's circuit 165,000 and 49,000 against 187,000 and 84,000 samples/s.)
        """
        values = self._values(values)
        cotangent = np.asarray(cotangent, dtype=np.float64).reshape(len(values), observables.count)
        states = self._final_states(values, not observables.real)
        self._kept.clear()
        parts = []
        for rows, state in zip(self._chunks(np.arange(len(values))), states, strict=True):
            cos, sin = self._half_angle_trig(values[rows])
            combined = np.einsum("ajb,bj->ab", observables.apply(state), cotangent[rows])
            jac = self._adjoint(state, combined[:, None, :], 0, len(self.operations), cos, sin)
            parts.append(jac[:, 0, :].T)
        return np.concatenate(parts)

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
        for index, op in enumerate(self.operations):
            if any(not shared[rot.param] for rot in rotations_of(op)):
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
        suffix_has_rotations = any(slot is not None for slot in self._rotation_slots[cut:])
        if dim > HEISENBERG_MAX_DIM or len(values) < 2 * n_probes or not suffix_has_rotations:
            return None
        probes, pairs = probe_states(dim, complex_amplitudes)
        cos_shared, sin_shared = self._half_angle_trig(values[:1])
        probe_out = self._forward(probes, cut, len(self.operations), cos_shared, sin_shared)
        n_obs = observables.count
        pulled_back = form_coefficients(observables.expectation(probe_out), pairs)
        if with_jacobian:
            seeds, stop = observables.apply(probe_out), len(self.operations)
            probe_jac = self._adjoint(probe_out, seeds, cut, stop, cos_shared, sin_shared)
            jac_forms = form_coefficients(
                probe_jac.transpose(2, 1, 0).reshape(len(probe_jac[0, 0]), -1), pairs
            )
        operators = hermitian_matrices(pulled_back, pairs, dim)  # V† O_j V: (J, D, D)
        n_prefix_rotations = sum(len(rotations_of(op)) for op in self.operations[:cut])
        evs, jacs = [], []
        for rows in self._chunks(np.arange(len(values))):
            cos, sin = self._half_angle_trig(values[rows], n_prefix_rotations)
            phi = self._initial_states(len(rows), complex_amplitudes)
            phi = self._forward(phi, 0, cut, cos, sin)
            # (V† O_j V) φ as (D, J, B): one matrix product per observable where complex (BLAS)
            lam = (
                np.ascontiguousarray(np.matmul(operators, phi).transpose(1, 0, 2))
                if complex_amplitudes
                else np.einsum("jac,cb->ajb", operators, phi)
            )
            evs.append(real_overlaps(lam, phi).T)
            if not with_jacobian:
                continue
            jac = (jac_forms.T @ form_features(phi, pairs)).T
            jac = jac.reshape(len(rows), n_obs, self.n_parameters)
            jac += self._adjoint(phi, lam, 0, cut, cos, sin).transpose(2, 1, 0)
            jacs.append(jac)
        return np.concatenate(evs), (np.concatenate(jacs) if with_jacobian else None)


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
    operations: list[FixedBlock | Rotation] = []
    pending = np.eye(dim, dtype=complex)
    pending_used = False

    def flush() -> None:
        nonlocal pending, pending_used
        if pending_used:
            operations.append(FixedBlock.from_matrix(pending))
        pending, pending_used = np.eye(dim, dtype=complex), False

    for inst in circuit.data:
        gate, qubits = inst.operation, [circuit.find_bit(q).index for q in inst.qubits]
        if gate.name in IGNORED:
            continue
        if any(isinstance(value, ParameterExpression) for value in gate.params):
            if gate.name not in ROTATION_GENERATORS:
                raise UnsupportedCircuitError(
                    f"parametrised gate '{gate.name}' is not supported by the fast simulator; "
                    f"supported rotations: {sorted(ROTATION_GENERATORS)}. Decompose it first "
                    "(e.g. circuit.decompose()) or use backend='reference' or backend='aer'."
                )
            try:
                index, coeff, offset = affine_angle(gate.params[0], params)
            except UnsupportedCircuitError as error:
                raise UnsupportedCircuitError(f"gate '{gate.name}' on {qubits}: {error}") from None
            flush()
            operations.append(rotation(gate.name, qubits, n, index, coeff, offset))
            continue
        try:
            local = Operator(gate).data
        except Exception as exc:  # qiskit raises several types for matrix-less instructions
            raise UnsupportedCircuitError(
                f"instruction '{gate.name}' has no matrix and cannot be simulated: {exc}"
            ) from exc
        pending = apply_local(local, qubits, pending)
        pending_used = True
    flush()
    if circuit.global_phase and isinstance(circuit.global_phase, ParameterExpression):
        raise UnsupportedCircuitError("a parametrised global phase is not supported.")

    initial = np.zeros(dim, dtype=complex)
    initial[0] = 1.0
    while operations and isinstance(operations[0], FixedBlock):
        initial = operations.pop(0).matrix @ initial
    real = np.allclose(initial.imag, 0, atol=ATOL) and all(
        np.allclose(op.matrix.imag, 0, atol=ATOL) if isinstance(op, FixedBlock) else op.is_real()
        for op in operations
    )
    dtype = np.dtype(np.float64 if real else np.complex128)
    return CompiledCircuit(
        n_qubits=n,
        n_parameters=len(params),
        initial_state=initial.real.copy() if real else initial,
        operations=fuse_chains(op.astype(dtype) for op in operations),
        real=real,
    )
