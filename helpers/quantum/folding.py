"""Noise scaling for zero-noise extrapolation: every gate folded, the circuit rescheduled.

Unitary folding (Giurgica-Tiron et al., arXiv:2005.10921; Temme et al., PRL 119, 180509) replaces
each gate ``G`` by ``G (G† G)^k``: the same unitary, with ``2k + 1`` times the gate's noise, so
the circuit's noise is scaled by the odd factor ``λ = 2k + 1``. Here *every* gate is folded,
single-qubit ones included (folding only the two-qubit gates leaves the single-qubit noise at
factor 1, so the effective factor falls short of ``λ``, and a circuit without two-qubit gates is
not scaled at all). Each inverse is written in the gate's own instruction, so a noise model keyed
by instruction name gives it the gate's noise: ``x``, ``cx`` and ``ecr`` are their own inverses,
rotations take the negated angle, and ``sx† = rz(π)·sx·rz(π)`` up to a global phase (``rz`` is
virtual and error-free on IBM devices). A scheduled circuit (``QuantumLayer(target=...,
noise_model=...)``) is rescheduled after folding (ALAP on the device's durations), so idle qubits
wait ``λ`` times as long for the longer busy ones and their relaxation scales too.

:func:`effective_noise_factors` measures what the folding achieved: for a noise that shrinks
``⟨Z⟩`` by ``e^{-γ}`` at factor 1 (e.g. depolarising), ``ln(v_λ / v_0) / ln(v_1 / v_0) = λ``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from qiskit.circuit import CircuitInstruction, Gate, QuantumCircuit
from qiskit.circuit.library import RZGate
from qiskit.providers import BackendV2

UNSCALED = frozenset({"delay", "barrier"})  # delays are rescheduled, barriers kept as they are


def fold_gates(
    circuit: QuantumCircuit, factor: int, target: BackendV2 | None = None
) -> QuantumCircuit:
    """The circuit with every gate ``G`` replaced by ``G (G† G)^k``, ``k = (factor - 1) / 2``.

    Args:
        circuit: A circuit of gates (and delays and barriers), unmeasured.
        factor: The odd noise scale factor ``2k + 1`` (1: the circuit itself).
        target: The device the circuit is scheduled for; needed when the circuit is scheduled
            (it then is rescheduled, ALAP on the device's durations, with its delays new).

    Returns:
        The folded circuit (the circuit itself for factor 1).

    Example:
        >>> circuit = QuantumCircuit(1)
        >>> _ = circuit.sx(0)
        >>> dict(fold_gates(circuit, 3).count_ops())
        {'sx': 3, 'rz': 2}
    """
    if factor < 1 or factor % 2 != 1:
        raise ValueError(f"factor={factor}: unitary folding scales noise by odd integers >= 1.")
    if factor == 1:
        return circuit
    scheduled = _scheduled(circuit)
    if scheduled and target is None:
        raise ValueError(
            "the circuit is scheduled: give the target its folded copy is rescheduled on."
        )
    folded = circuit.copy_empty_like()
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name in UNSCALED:
            if operation.name != "delay" or not scheduled:
                folded.append(instruction)
            continue
        if not isinstance(operation, Gate):
            raise ValueError(f"{operation.name!r} is no gate: fold an unmeasured circuit of gates.")
        inverse = _inverse(instruction)
        folded.append(instruction)
        for _ in range((factor - 1) // 2):
            for step in inverse:
                folded.append(step)
            folded.append(instruction)
    if not scheduled:
        return folded
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay

    passes = [ALAPScheduleAnalysis(target=target.target), PadDelay(target=target.target)]
    return PassManager(passes).run(folded)


def _scheduled(circuit: QuantumCircuit) -> bool:
    """Whether a scheduling pass has run on the circuit (it has operation start times)."""
    try:
        return circuit.op_start_times is not None
    except AttributeError:  # Qiskit's answer for a circuit never scheduled
        return False


def _inverse(instruction: CircuitInstruction) -> list[CircuitInstruction]:
    """``G†`` as instructions of ``G``'s own name (``sx``: ``rz(π) sx rz(π)``)."""
    operation = instruction.operation
    if operation.name == "sx":
        turn = instruction.replace(operation=RZGate(math.pi))
        return [turn, instruction, turn]
    inverse = operation.inverse()
    if inverse.name != operation.name:
        raise ValueError(
            f"the inverse of {operation.name!r} is {inverse.name!r}, which a noise model treats as "
            "another gate: transpile the circuit to the device's gates first."
        )
    return [instruction.replace(operation=inverse)]


def noisy_gates(circuit: QuantumCircuit, noise_model: object | None) -> int:
    """How many of the circuit's gates the noise model puts an error on (what folding scales).

    Args:
        circuit: The circuit.
        noise_model: A qiskit-aer ``NoiseModel``, or None (no noise).

    Returns:
        The count (0: folding changes no noise, and zero-noise extrapolation has nothing to do).
    """
    if noise_model is None:
        return 0
    noisy = set(noise_model.noise_instructions) - {"measure", "reset"}
    return sum(instruction.operation.name in noisy for instruction in circuit.data)


def effective_noise_factors(
    scaled: Mapping[int, np.ndarray], ideal: np.ndarray, floor: float = 0.2
) -> dict[int, float]:
    """The noise factor each folding achieved, from how much further ``⟨Z⟩`` decays:
    ``ln(v_λ / v_0) / ln(v_1 / v_0)`` (``v_0`` noiseless), the median over the values whose
    noiseless size is at least ``floor`` and which decay at factor 1.

    Args:
        scaled: Exact noisy values by nominal factor (1 included), each shaped like ``ideal``.
        ideal: The noiseless values.
        floor: The smallest ``|v_0|`` used (smaller ones give ill-conditioned ratios).

    Returns:
        The effective factor by nominal factor (NaN where no value qualifies).

    Example:
        >>> ideal = np.array([0.8, -0.5])
        >>> scaled = {f: ideal * 0.9**f for f in (1, 3, 5)}
        >>> {f: round(v, 6) for f, v in effective_noise_factors(scaled, ideal).items()}
        {1: 1.0, 3: 3.0, 5: 5.0}
    """
    ideal = np.asarray(ideal, dtype=float)
    first = np.asarray(scaled[1], dtype=float) / np.where(ideal == 0, np.nan, ideal)
    usable = (np.abs(ideal) >= floor) & (first > 0) & (first < 1)
    factors = {}
    for factor, values in scaled.items():
        ratio = np.asarray(values, dtype=float)[usable] / ideal[usable]
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.log(ratio) / np.log(first[usable])
        factors[factor] = float(np.nanmedian(measured)) if np.isfinite(measured).any() else math.nan
    return factors
