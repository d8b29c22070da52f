"""Hermitian forms ``Re φ†Aφ`` of statevectors, recovered exactly from their values on probes.

The fast simulator's Heisenberg-picture path (:meth:`helpers.quantum.simulator.CompiledCircuit.
_heisenberg`) pulls observables back over gates shared by a batch; a pulled-back observable is a
Hermitian form, linear in the features ``φ_a φ_c`` (a <= c) and fixed by its values on ``e_a``
and ``e_a ± e_c`` (and ``e_a ± i e_c`` for complex amplitudes).
"""

from __future__ import annotations

import numpy as np


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
