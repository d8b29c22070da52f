"""Compiled inner loops of the fast simulator (Numba, already a dependency of umap-learn).

A one-qubit gate with a different 2×2 matrix per parameter set is one pass over the register:
every amplitude pair is read once and written once, where NumPy needs four passes and two
temporaries (three for a real matrix on complex amplitudes, which it also promotes to complex).
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
    :class:`helpers.quantum.operators.QubitRotation`); the entries are ``(B,)`` arrays of the
    same dtype.
    """
    outer, _, inner, batch = halves.shape
    for a in range(outer):
        for c in range(inner):
            for b in range(batch):
                x0 = halves[a, 0, c, b]
                x1 = halves[a, 1, c, b]
                halves[a, 0, c, b] = u00[b] * x0 + u01[b] * x1
                halves[a, 1, c, b] = u10[b] * x0 + u11[b] * x1
