"""Runs of one-qubit rotations on one qubit, fused into one pass over the register.

Rotations on different qubits commute, so between two gates that are not one-qubit rotations
(fixed blocks, multi-qubit rotations) those on each qubit form a :class:`QubitChain` (e.g.
efficient_su2's RY·RZ on every qubit, the encoding RY before them). The forward pass applies the
chain's product ``U_G ··· U_1``, one 2×2 matrix per parameter set; the adjoint sweep visits the
gates in reverse, each amplitude pair loaded once for all of them (:func:`adjoint_chain`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

import numpy as np

from helpers.quantum.kernels import (
    DIAGONAL,
    GENERAL,
    REAL,
    adjoint_chain,
    chain_matrices,
    mix_halves,
)
from helpers.quantum.operators import FixedBlock, QubitRotation, Rotation


@dataclasses.dataclass(frozen=True, eq=False)
class QubitChain:
    """Consecutive one-qubit rotations on ``qubit``, in the order they are applied.

    ``cos`` and ``sin`` of the gates' half angles come as ``(G, B)`` arrays (B may be 1: one
    angle for every column). States are ``(D, B)``, adjoint sweeps ``(D, J+1, B)``, as for
    :class:`~helpers.quantum.operators.Rotation`.
    """

    qubit: int
    rotations: tuple[QubitRotation, ...]

    @functools.cached_property
    def _entries(self) -> np.ndarray:
        """``U_ij = c0 + c1·cos + c2·sin`` per gate: ``(G, 4, 3)`` (entry 2i+j), real where
        every c is."""
        entries = np.array(
            [[(0, 0, 0) if e is None else e for e in op.entries] for op in self.rotations]
        )
        return entries.real.copy() if not np.any(np.imag(entries)) else entries

    @functools.cached_property
    def _generators(self) -> np.ndarray:
        """``M = −iK`` of every gate: ``(G, 4)`` (entry 2i+j), in the entries' dtype."""
        m = np.zeros((len(self.rotations), 4), dtype=complex)
        for g, op in enumerate(self.rotations):
            for i, j, value in op.generator:
                m[g, 2 * i + j] = value
        return m.real.copy() if np.isrealobj(self._entries) else m

    @functools.cached_property
    def _kinds(self) -> np.ndarray:
        """Every gate's kind for :func:`adjoint_chain`: diagonal, real or general."""
        return np.array(
            [
                DIAGONAL
                if op.entries[1] is None and op.entries[2] is None
                else REAL
                if not np.any(np.imag([e for e in op.entries if e is not None]))
                else GENERAL
                for op in self.rotations
            ]
        )

    @functools.cached_property
    def _diagonal(self) -> bool:
        return bool(np.all(self._kinds == DIAGONAL))

    def _matrices(self, cos: np.ndarray, sin: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
        """Every gate's matrix ``(G, 4, width)`` and their product ``(4, width)`` (entry 2i+j)
        for half angles ``(G, B)``: each column's repeated ``width // B`` times."""
        gates = np.empty((len(self.rotations), 4, width), dtype=self._entries.dtype)
        product = np.empty((4, width), dtype=self._entries.dtype)
        chain_matrices(self._entries, cos, sin, gates, product)
        return gates, product

    def forward(
        self,
        state: np.ndarray,
        cos: np.ndarray,
        sin: np.ndarray,
        buffer: np.ndarray | None = None,
        scratch: np.ndarray | None = None,
    ) -> None:
        """``state ← U_G ··· U_1 state`` in place, in one pass over the register (``buffer`` and
        ``scratch``, which :class:`Rotation` needs, are not used).

        A real product on complex amplitudes mixes their real and imaginary parts alike, as
        reals; a diagonal one multiplies each half by its phase.
        """
        batch = state.shape[-1]
        columns = state[0].size // batch  # 1 for a state, J + 1 for an adjoint sweep
        if np.iscomplexobj(state) and not np.iscomplexobj(self._entries):
            state, batch = state.view(np.float64), 2 * batch
        _, product = self._matrices(cos, sin, batch)
        halves = state.reshape(-1, 2, columns << self.qubit, batch)
        if self._diagonal:
            halves[:, 0] *= product[0]
            halves[:, 1] *= product[3]
        else:
            mix_halves(halves, *product)

    def adjoint_step(
        self,
        sweep: np.ndarray,
        n_obs: int,
        cos: np.ndarray,
        sin: np.ndarray,
        buffer: np.ndarray | None = None,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """``Re <λ_j| M_g |φ_g>`` ``(G, J, B)`` for every gate g, λ_j and φ_g taken back to just
        after it, while the sweep ``[λ.., φ]`` goes back through the chain (in place; ``buffer``
        and ``scratch`` are not used)."""
        batch = sweep.shape[-1]
        gates, _ = self._matrices(cos, sin, batch)
        overlaps = np.zeros((len(self.rotations), n_obs, batch))
        halves = sweep.reshape(-1, 2, 2**self.qubit, n_obs + 1, batch)
        adjoint_chain(halves, n_obs, self._kinds, gates, self._generators, overlaps)
        return overlaps


Operation = FixedBlock | Rotation | QubitChain


def fuse_chains(operations: Iterable[FixedBlock | Rotation]) -> tuple[Operation, ...]:
    """``operations`` with every one-qubit rotation in a :class:`QubitChain`: those on one qubit
    with no other kind of gate between them share one (the chains of a run in order of their
    first gate; they act on different qubits, so commute)."""
    fused: list[Operation] = []
    pending: dict[int, list[QubitRotation]] = {}
    for op in operations:
        if isinstance(op, QubitRotation):
            pending.setdefault(op.qubit, []).append(op)
            continue
        fused.extend(QubitChain(q, tuple(ops)) for q, ops in pending.items())
        pending.clear()
        fused.append(op)
    fused.extend(QubitChain(q, tuple(ops)) for q, ops in pending.items())
    return tuple(fused)


def rotations_of(op: Operation) -> Sequence[Rotation]:
    """The rotations ``op`` applies, in order (none for a fixed block)."""
    if isinstance(op, QubitChain):
        return op.rotations
    return (op,) if isinstance(op, Rotation) else ()
