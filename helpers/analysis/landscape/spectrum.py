"""Fourier spectra of periodic landscapes and the frequencies the circuit can express."""

from __future__ import annotations

import numpy as np

from helpers.quantum import QuantumLayer
from helpers.quantum.layer import dressed_circuit


def fourier_spectrum(surface: np.ndarray) -> np.ndarray:
    """|2-D DFT| of a landscape sampled over one full period (without the end point), shifted
    so the zero frequency is in the middle and normalised by the number of points."""
    return np.abs(np.fft.fftshift(np.fft.fft2(surface))) / surface.size


def spectrum_frequencies(n: int) -> np.ndarray:
    """The integer frequencies along an axis of ``n`` points of a :func:`fourier_spectrum`."""
    return np.arange(n) - n // 2


def largest_beyond(spectrum: np.ndarray, bound: int) -> float:
    """The largest coefficient of a 2-D :func:`fourier_spectrum` at frequencies above ``bound``
    in absolute value along either axis (0 when there are none on the grid)."""
    f_a, f_b = (np.abs(spectrum_frequencies(n)) for n in spectrum.shape[-2:])
    beyond = np.maximum(f_a[:, None], f_b[None, :]) > bound
    return float(spectrum[..., beyond].max()) if beyond.any() else 0.0


def _conjugate(
    paths: dict[tuple[int, int], int], gate: str, qubits: list[int], moved: bool
) -> dict[tuple[int, int], int]:
    """Heisenberg-conjugate Pauli strings ``(x bits, z bits) -> largest frequency`` by one gate."""
    out: dict[tuple[int, int], int] = {}

    def add(key: tuple[int, int], degree: int) -> None:
        out[key] = max(out.get(key, -1), degree)

    for (x, z), degree in paths.items():
        if gate == "cx":  # X_c -> X_c X_t, Z_t -> Z_c Z_t
            control, target = qubits
            add((x ^ ((x >> control) & 1) << target, z ^ ((z >> target) & 1) << control), degree)
            continue
        bit = 1 << qubits[0]
        if gate == "h":  # X <-> Z
            add((x & ~bit | (bit if z & bit else 0), z & ~bit | (bit if x & bit else 0)), degree)
        elif gate == "ry" and bool(x & bit) != bool(z & bit):  # X or Z: cos θ and sin θ branches
            add((x | bit, z & ~bit), degree + moved)
            add((x & ~bit, z | bit), degree + moved)
        elif gate == "ry":  # I and Y commute with RY
            add((x, z), degree)
        else:
            raise NotImplementedError(f"no Pauli-path rule for the gate {gate!r}")
    return out


def frequency_bounds(layer: QuantumLayer) -> np.ndarray:
    """Per qubit j, the highest frequency ⟨Z_j⟩ can have along a direction that moves every
    circuit weight by ±1 (``periodic_direction``), in a 1-D landscape or along either axis of a
    2-D one.

    Each weight enters through one RY(θ), so ⟨Z_j⟩ is a trigonometric polynomial of degree at
    most one in each angle. In the Heisenberg picture Z_j is conjugated gate by gate from the
    end: CNOT and H map Pauli strings to Pauli strings, and an RY on a qubit where the string
    has X or Z splits it into an X and a Z branch (cos θ, sin θ: frequencies ±1 in θ). A path
    contributes to ⟨Z_j⟩ only if its final string has a non-zero expectation on |0…0⟩ (I and Z
    only), so the frequency along the direction is at most the number of moved RYs on such a
    path. The bound is reached along some ±1 directions; cancellations between paths can keep
    others below it. One variational layer gives 1 for every qubit (its RYs follow its CNOTs,
    so only qubit j's own angle reaches Z_j); deeper circuits give more than their depth (4
    qubits, 2 layers: 3, 4, 4, 3).
    """
    circuit, _, weights = dressed_circuit(layer.n_qubits, layer.q_depth)
    moved = set(weights)
    bounds = []
    for qubit in range(layer.n_qubits):
        paths = {(0, 1 << qubit): 0}
        for instruction in reversed(circuit.data):
            qubits = [circuit.find_bit(bit).index for bit in instruction.qubits]
            is_moved = any(p in moved for p in instruction.operation.params)
            paths = _conjugate(paths, instruction.operation.name, qubits, is_moved)
        bounds.append(max(degree for (x, _), degree in paths.items() if x == 0))
    return np.array(bounds)
