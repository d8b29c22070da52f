"""Compiled inner loops of the fast simulator (Numba, already a dependency of umap-learn).

A one-qubit gate with a different 2×2 matrix per parameter set is one pass over the register:
every amplitude pair is read once and written once, where NumPy needs four passes and two
temporaries (three for a real matrix on complex amplitudes, which it also promotes to complex).
A chain of such gates on one qubit is one pass too, forward and in the adjoint sweep.
Compiled functions are cached on disk (``cache=True``), so only the first process compiles.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def mix_halves(
    halves: np.ndarray, u00: np.ndarray, u01: np.ndarray, u10: np.ndarray, u11: np.ndarray
) -> None:
    """In place, for every column b: ``(h0, h1) ← (u00 h0 + u01 h1, u10 h0 + u11 h1)``.

    ``halves`` ``(A, 2, C, B)`` is the register viewed around one qubit (see
    :class:`helpers.quantum.chains.QubitChain`); the entries are ``(B,)`` arrays of the same
    dtype.
    """
    outer, _, inner, batch = halves.shape
    for a in range(outer):
        for c in range(inner):
            for b in range(batch):
                x0 = halves[a, 0, c, b]
                x1 = halves[a, 1, c, b]
                halves[a, 0, c, b] = u00[b] * x0 + u01[b] * x1
                halves[a, 1, c, b] = u10[b] * x0 + u11[b] * x1


# How a chain's gate is applied (:class:`helpers.quantum.chains.QubitChain`): any 2×2 matrix,
# a real one (RY: complex amplitudes times reals), a diagonal one (RZ, P: one product per half).
GENERAL, REAL, DIAGONAL = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def chain_matrices(
    entries: np.ndarray, cos: np.ndarray, sin: np.ndarray, gates: np.ndarray, product: np.ndarray
) -> None:
    """Every gate's matrix and their product ``U_{G−1} ··· U_0``, per column.

    ``entries`` ``(G, 4, 3)``: ``U_g[2i+j] = e0 + e1·cos + e2·sin`` of its half angle; ``cos``
    and ``sin`` ``(G, B)``. Writes ``gates`` ``(G, 4, R·B)`` and ``product`` ``(4, R·B)``, output
    column ``k`` from angle column ``k // R`` (R = 2 spreads them over the real and imaginary
    parts of complex amplitudes). Angles the same in every column are evaluated once.
    """
    n_gates, _, width = gates.shape
    batch = cos.shape[1]
    shared = True
    for g in range(n_gates):
        for b in range(batch):
            shared = shared and cos[g, b] == cos[g, 0] and sin[g, b] == sin[g, 0]
    spread = width if shared else width // batch
    for b in range((1 if shared else batch) if width else 0):  # nothing to write for no columns
        for g in range(n_gates):
            for k in range(4):
                value = (
                    entries[g, k, 0] + entries[g, k, 1] * cos[g, b] + entries[g, k, 2] * sin[g, b]
                )
                gates[g, k, b * spread : (b + 1) * spread] = value
        for k in range(4):
            product[k, b * spread : (b + 1) * spread] = gates[0, k, b * spread]
        for g in range(1, n_gates):
            column = b * spread
            u00, u01, u10, u11 = (
                gates[g, 0, column],
                gates[g, 1, column],
                gates[g, 2, column],
                gates[g, 3, column],
            )
            p00, p01 = product[0, column], product[1, column]
            p10, p11 = product[2, column], product[3, column]
            product[0, column : column + spread] = u00 * p00 + u01 * p10
            product[1, column : column + spread] = u00 * p01 + u01 * p11
            product[2, column : column + spread] = u10 * p00 + u11 * p10
            product[3, column : column + spread] = u10 * p01 + u11 * p11


@numba.njit(cache=True, nogil=True)
def adjoint_chain(
    halves: np.ndarray,
    n_obs: int,
    kinds: np.ndarray,
    gates: np.ndarray,
    m: np.ndarray,
    overlaps: np.ndarray,
) -> None:
    """The adjoint sweep back through G one-qubit gates on one qubit, in one pass.

    ``halves`` ``(A, 2, C, J+1, B)`` is the sweep ``[λ_1, ..., λ_J, φ]`` viewed around the
    qubit; ``gates`` ``(G, 4, B)`` the gates' matrices (entries ``2i+j``) in the order they are
    applied, of the ``kinds`` :data:`GENERAL`, :data:`REAL` or :data:`DIAGONAL`; ``m`` ``(G, 4)``
    their ``M = −iK``. For g = G−1, ..., 0: ``overlaps[g, j] += Re <λ_j| M_g |φ>``, then every
    column ``← U_g† column``.
    """
    outer, _, inner, _, batch = halves.shape
    for a in range(outer):
        for c in range(inner):
            p0, p1 = halves[a, 0, c, n_obs], halves[a, 1, c, n_obs]
            for g in range(len(gates) - 1, -1, -1):
                kind = kinds[g]
                m00, m01, m10, m11 = m[g, 0], m[g, 1], m[g, 2], m[g, 3]
                u00, u01, u10, u11 = gates[g, 0], gates[g, 1], gates[g, 2], gates[g, 3]
                for j in range(n_obs + 1):
                    x0, x1 = halves[a, 0, c, j], halves[a, 1, c, j]
                    if j < n_obs:
                        o = overlaps[g, j]
                        for b in range(batch):
                            q0 = m00 * p0[b] + m01 * p1[b]
                            q1 = m10 * p0[b] + m11 * p1[b]
                            o[b] += (np.conj(x0[b]) * q0 + np.conj(x1[b]) * q1).real
                    if kind == DIAGONAL:
                        for b in range(batch):
                            x0[b] *= np.conj(u00[b])
                            x1[b] *= np.conj(u11[b])
                    elif kind == REAL:
                        for b in range(batch):
                            y0, y1 = x0[b], x1[b]
                            x0[b] = u00[b].real * y0 + u10[b].real * y1
                            x1[b] = u01[b].real * y0 + u11[b].real * y1
                    else:
                        for b in range(batch):
                            y0, y1 = x0[b], x1[b]
                            x0[b] = np.conj(u00[b]) * y0 + np.conj(u10[b]) * y1
                            x1[b] = np.conj(u01[b]) * y0 + np.conj(u11[b]) * y1
