"""Fourier spectra of periodic landscapes and the frequencies the circuit can express."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from qiskit.circuit import CircuitInstruction, Instruction, QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import Clifford, Pauli

from helpers.analysis.landscape.invariant import angle_periods, gate_frequency
from helpers.quantum import QuantumLayer


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


class Paths(NamedTuple):
    """Pauli strings as bit arrays (x bits, z bits) with the largest frequency of a path to each."""

    x: np.ndarray
    z: np.ndarray
    degree: np.ndarray

    def merged(self) -> Paths:
        """One entry per string, with its largest degree."""
        key = (self.x << 32) | self.z
        order = np.argsort(key)
        key = key[order]
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        degree = np.maximum.reduceat(self.degree[order], starts) if len(key) else self.degree
        return Paths(key[starts] >> 32, key[starts] & 0xFFFFFFFF, degree)


PathStep = Callable[[Paths], Paths]
# rotations exp(-iθ/2·P) by a Pauli P, as (x bits, z bits) over the gate's qubits (little-endian)
PAULI_ROTATIONS = {
    "rx": (1, 0), "ry": (1, 1), "rz": (0, 1), "p": (0, 1), "u1": (0, 1),
    "rxx": (3, 0), "ryy": (3, 3), "rzz": (0, 3), "rzx": (2, 1),
}  # fmt: skip
IGNORED = frozenset({"barrier", "delay"})


def _bits(flags: np.ndarray) -> int:
    return sum(int(flag) << i for i, flag in enumerate(flags))


def _local(bits: np.ndarray, qubits: list[int]) -> np.ndarray:
    return sum(((bits >> qubit) & 1) << i for i, qubit in enumerate(qubits))


def _placed(bits: np.ndarray, qubits: list[int], local: np.ndarray) -> np.ndarray:
    mask = sum(1 << qubit for qubit in qubits)
    return (bits & ~mask) | sum(((local >> i) & 1) << qubit for i, qubit in enumerate(qubits))


def _clifford_table(operation: Instruction) -> np.ndarray | None:
    """U† P U for every Pauli P on a parameter-free gate's qubits: ``table[x, z] = (x', z')``
    in local bits (signs dropped); None for a gate that is not a Clifford."""
    try:
        clifford = Clifford(operation)
    except (QiskitError, TypeError, AttributeError):
        return None
    k = clifford.num_qubits
    table = np.zeros((1 << k, 1 << k, 2), dtype=np.int64)
    for x, z in itertools.product(range(1 << k), repeat=2):
        pauli = Pauli(([bool(z >> i & 1) for i in range(k)], [bool(x >> i & 1) for i in range(k)]))
        image = pauli.evolve(clifford, frame="h")
        table[x, z] = (_bits(image.x), _bits(image.z))
    return table


def _step(item: CircuitInstruction, circuit: QuantumCircuit, degree: float) -> PathStep:
    """One gate of the Heisenberg sweep: a function mapping :class:`Paths` through it, where
    ``degree`` is the frequency the gate adds along the direction (0 if it moves no weight).

    Clifford gates map each string to one string; a rotation by a Pauli P leaves strings that
    commute with P and splits the others into S and P·S (cos and sin: + ``degree``); any other
    gate may map a string acting on its qubits to any non-identity string there (+ ``degree``),
    a looser bound that holds for every gate."""
    operation = item.operation
    qubits = [circuit.find_bit(bit).index for bit in item.qubits]
    rotation = PAULI_ROTATIONS.get(operation.name)
    table = None if rotation or operation.params else _clifford_table(operation)
    size = 1 << len(qubits)

    def through(paths: Paths) -> Paths:
        x, z, d = paths
        if rotation is not None:
            gx, gz = (_placed(np.zeros(1, np.int64), qubits, np.array([g]))[0] for g in rotation)
            split = np.bitwise_count((x & gz) ^ (z & gx)) % 2 == 1
            raised = d + degree * split
            return Paths(
                np.concatenate([x, x[split] ^ gx]),
                np.concatenate([z, z[split] ^ gz]),
                np.concatenate([raised, raised[split]]),
            ).merged()
        lx, lz = _local(x, qubits), _local(z, qubits)
        if table is not None:
            image = table[lx, lz]
            return Paths(_placed(x, qubits, image[:, 0]), _placed(z, qubits, image[:, 1]), d)
        acting = (lx | lz) != 0  # the identity on the gate's qubits commutes with it
        patterns = np.arange(1, size * size)
        kept = Paths(x[~acting], z[~acting], d[~acting])
        spread = Paths(
            _placed(
                np.repeat(x[acting], len(patterns)), qubits, np.tile(patterns // size, acting.sum())
            ),
            _placed(
                np.repeat(z[acting], len(patterns)), qubits, np.tile(patterns % size, acting.sum())
            ),
            np.repeat(d[acting] + degree, len(patterns)),
        )
        return Paths(*(np.concatenate(pair) for pair in zip(kept, spread, strict=True))).merged()

    return through


def frequency_bounds(layer: QuantumLayer) -> np.ndarray:
    """Per output (observable) k, the highest frequency it can have along a direction that
    moves every circuit weight by ±(its period / 2π) (``periodic_direction``), in a 1-D
    landscape or along either axis of a 2-D one; for any circuit the layer runs.

    In the Heisenberg picture the observable's Pauli strings are conjugated gate by gate from
    the end. Clifford gates (H, CNOT, ...) map strings to strings; a rotation by a Pauli P
    (RY, RZ, RZZ, ...) splits a string that anticommutes with P into two (cos θ, sin θ), and the
    frequency grows by the gate's largest frequency in the weights it moves (times their
    period / 2π); any other gate is bounded loosely (any string on its qubits). A path adds to
    ⟨O⟩ only if its final string has a non-zero expectation on |0…0⟩ (I and Z only), so the
    frequency is at most the largest such path's. The bound is reached along some directions;
    cancellations between paths can keep others below it. For Mari's circuit one layer gives 1
    for every qubit (its RYs follow its CNOTs, so only qubit j's own angle reaches Z_j); deeper
    circuits give more than their depth (4 qubits, 2 layers: 3, 4, 4, 3).

    Args:
        layer: The quantum layer.

    Returns:
        One bound per output, integers.

    Example:
        >>> frequency_bounds(QuantumLayer(4, 2)).tolist()
        [3, 4, 4, 3]
    """
    spec = layer.spec
    periods = (angle_periods(layer).flatten() / (2 * math.pi)).tolist()
    scales = dict(zip(spec.weights, periods, strict=True))
    steps = []
    for item in reversed(spec.circuit.data):
        if item.operation.name in IGNORED:
            continue
        moved = {p for a in item.operation.params for p in getattr(a, "parameters", ())}
        degree = sum(gate_frequency(item.operation, w) * scales[w] for w in moved & set(scales))
        steps.append(_step(item, spec.circuit, degree))
    bounds = []
    for observable in spec.observables:
        strings = [(_bits(p.x), _bits(p.z)) for p in observable.paulis]
        x, z = np.array(strings, dtype=np.int64).T
        paths = Paths(x, z, np.zeros(len(x)))
        for step in steps:
            paths = step(paths)
        diagonal = paths.degree[paths.x == 0]
        bounds.append(round(float(diagonal.max())) if len(diagonal) else 0)
    return np.array(bounds)
