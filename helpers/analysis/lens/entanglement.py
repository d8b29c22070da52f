"""Entanglement on the data: the state each input prepares in the trained quantum layer.

For one image the quantum layer's inputs x (its circuit's input angles) and trained weights w fix
a pure state |ψ(x)⟩ on n qubits. This module computes those states exactly and, per state:

- each qubit's reduced (one-qubit) density matrix ρ_k = Tr_{¬k} |ψ⟩⟨ψ|;
- the Meyer-Wallach global entanglement Q = 2·(1 − (1/n)·Σ_k Tr ρ_k²) (Meyer & Wallach,
  J. Math. Phys. 43, 4273 (2002), arXiv:quant-ph/0108104, in the form of Brennen, Quantum Inf.
  Comput. 3, 619 (2003), arXiv:quant-ph/0305094): 0 exactly for product states, 1 for GHZ
  states, the mean over qubits of the linear entropy 2·(1 − Tr ρ_k²);
- the von Neumann entropy S(ρ_k) = −Tr ρ_k log₂ ρ_k of each qubit, in bits (0 for a qubit that
  is not entangled with the rest, 1 for a maximally entangled one);
- each qubit's Bloch vector (⟨X_k⟩, ⟨Y_k⟩, ⟨Z_k⟩) = (Tr ρ_k X, Tr ρ_k Y, Tr ρ_k Z); its length
  is 1 exactly when qubit k is in a pure state (Tr ρ_k² = (1 + |r_k|²)/2), and its z component
  is the layer's output ⟨Z_k⟩ for circuits measured in Z (Mari's).

Qubits follow Qiskit's little-endian convention throughout: qubit 0 is the least significant bit
of the amplitude index.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.quantum_info import Statevector

from helpers.quantum import QuantumLayer
from helpers.quantum.operators import UnsupportedCircuitError
from helpers.quantum.simulator import CompiledCircuit, compile_circuit

# Compiled circuits by identity: compiling fuses fixed gates into full-register matrices, which
# at 10 qubits takes tens of seconds, against milliseconds for the states themselves.
_CACHE_SIZE = 8
_COMPILED: OrderedDict[int, tuple[QuantumCircuit, tuple, CompiledCircuit | None]] = OrderedDict()


@dataclasses.dataclass(frozen=True)
class StateSummary:
    """Entanglement and one-qubit quantities of a batch of B states on n qubits.

    ``meyer_wallach`` ``(B,)``: Q of each state; ``entropies`` ``(B, n)``: each qubit's von
    Neumann entropy in bits; ``bloch`` ``(B, n, 3)``: each qubit's (⟨X⟩, ⟨Y⟩, ⟨Z⟩).
    """

    meyer_wallach: np.ndarray
    entropies: np.ndarray
    bloch: np.ndarray


def _compiled(circuit: QuantumCircuit, parameters: tuple[Parameter, ...]) -> CompiledCircuit | None:
    """``compile_circuit(circuit, parameters)``, cached by identity; None where it is refused."""
    fingerprint = (len(circuit.data), parameters)
    hit = _COMPILED.get(id(circuit))
    if hit is not None and hit[0] is circuit and hit[1] == fingerprint:
        _COMPILED.move_to_end(id(circuit))
        return hit[2]
    try:
        compiled = compile_circuit(circuit, list(parameters))
    except UnsupportedCircuitError:
        compiled = None
    _COMPILED[id(circuit)] = (circuit, fingerprint, compiled)  # the reference keeps the id
    if len(_COMPILED) > _CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return compiled


def layer_states(layer: QuantumLayer, inputs: torch.Tensor | np.ndarray) -> np.ndarray:
    """The statevector each row of circuit inputs prepares at the layer's current weights.

    The layer's own circuit (``layer.spec``, before any transpilation to a device) is simulated
    exactly by the fast statevector simulator (:mod:`helpers.quantum.simulator`), compiled once
    per circuit. Where that simulator refuses the circuit (a gate it cannot simulate, more than
    10 qubits), each row is bound and simulated by Qiskit's ``Statevector`` instead: the same
    states, but one circuit at a time, so orders of magnitude slower.

    Args:
        layer: The quantum layer; its ``weight`` is read, not changed.
        inputs: Circuit inputs (the angles the layer takes, not the images) ``(B, n_inputs)``.

    Returns:
        The states ``(B, 2**n)``, complex128, amplitude index little-endian in the qubits.

    Example:
        >>> layer = QuantumLayer(4, 2)
        >>> layer_states(layer, np.zeros((3, 4))).shape
        (3, 16)
    """
    spec = layer.spec
    values = torch.as_tensor(inputs).detach().cpu().double().numpy()
    if values.ndim != 2 or values.shape[1] != len(spec.inputs):
        raise ValueError(f"expected inputs of shape (B, {len(spec.inputs)}), got {values.shape}")
    weights = layer.weight.detach().cpu().double().numpy()
    values = np.hstack([values, np.broadcast_to(weights, (len(values), len(weights)))])
    parameters = (*spec.inputs, *spec.weights)
    compiled = _compiled(spec.circuit, parameters)
    if compiled is not None:
        return compiled.states(values)
    states = np.zeros((len(values), 2**spec.n_qubits), dtype=np.complex128)
    for row, value in enumerate(values):
        bound = spec.circuit.assign_parameters(dict(zip(parameters, value, strict=True)))
        states[row] = Statevector(bound).data
    return states


def reduced_qubit_states(states: np.ndarray, n_qubits: int) -> np.ndarray:
    """Each qubit's one-qubit density matrix: the partial trace over all other qubits.

    Args:
        states: Normalised statevectors ``(B, 2**n_qubits)``, Qiskit's qubit order.
        n_qubits: Qubits n.

    Returns:
        ``ρ`` ``(B, n, 2, 2)``: ``ρ[b, k, i, j] = Σ_rest ψ_b(k=i, rest) ψ_b(k=j, rest)*``.

    Example:
        >>> one = np.array([[0, 0, 1, 0]])  # |10⟩: qubit 1 is |1⟩, qubit 0 is |0⟩
        >>> reduced_qubit_states(one, 2)[0, :, 1, 1].real.tolist()
        [0.0, 1.0]
    """
    states = np.asarray(states, dtype=np.complex128)
    if states.ndim != 2 or states.shape[1] != 2**n_qubits:
        raise ValueError(f"expected states of shape (B, {2**n_qubits}), got {states.shape}")
    batch = len(states)
    rho = np.empty((batch, n_qubits, 2, 2), dtype=np.complex128)
    for k in range(n_qubits):  # amplitude index = high · 2^(k+1) + bit_k · 2^k + low
        split = states.reshape(batch, 2 ** (n_qubits - 1 - k), 2, 2**k).transpose(0, 2, 1, 3)
        split = split.reshape(batch, 2, -1)
        rho[:, k] = split @ split.conj().transpose(0, 2, 1)
    return rho


def _meyer_wallach(rho: np.ndarray) -> np.ndarray:
    purities = np.sum(np.abs(rho) ** 2, axis=(-2, -1))  # Tr ρ² of a Hermitian ρ
    return 2.0 * (1.0 - purities.mean(axis=1))


def _entropies(rho: np.ndarray) -> np.ndarray:
    eigenvalues = np.clip(np.linalg.eigvalsh(rho), 0.0, None)
    logs = np.log2(np.where(eigenvalues > 0, eigenvalues, 1.0))  # 0 · log 0 = 0
    return -np.sum(eigenvalues * logs, axis=-1)


def _bloch(rho: np.ndarray) -> np.ndarray:
    # ρ = (I + xX + yY + zZ)/2: ρ_10 = (x + iy)/2, z = ρ_00 − ρ_11
    return np.stack(
        [2 * rho[..., 1, 0].real, 2 * rho[..., 1, 0].imag, (rho[..., 0, 0] - rho[..., 1, 1]).real],
        axis=-1,
    )


def meyer_wallach(states: np.ndarray, n_qubits: int) -> np.ndarray:
    """Meyer-Wallach global entanglement ``Q = 2·(1 − (1/n)·Σ_k Tr ρ_k²)`` of each state.

    Args:
        states: Normalised statevectors ``(B, 2**n_qubits)``.
        n_qubits: Qubits n.

    Returns:
        ``Q`` ``(B,)`` in [0, 1]: 0 exactly for product states, 1 for GHZ states.

    Example:
        >>> ghz = np.zeros((1, 8)); ghz[0, [0, 7]] = 2**-0.5
        >>> round(float(meyer_wallach(ghz, 3)[0]), 12)
        1.0
    """
    return _meyer_wallach(reduced_qubit_states(states, n_qubits))


def qubit_entropies(states: np.ndarray, n_qubits: int) -> np.ndarray:
    """Von Neumann entropy ``−Tr ρ_k log₂ ρ_k`` of each qubit's reduced state, in bits.

    Eigenvalues are clipped at 0 (rounding) and ``0 · log 0`` is taken as 0.

    Args:
        states: Normalised statevectors ``(B, 2**n_qubits)``.
        n_qubits: Qubits n.

    Returns:
        ``(B, n)`` in [0, 1]: 0 for a qubit in a pure state, 1 for a maximally entangled one.

    Example:
        >>> bell = np.array([[1, 0, 0, 1]]) / np.sqrt(2)
        >>> qubit_entropies(bell, 2).round(12).tolist()
        [[1.0, 1.0]]
    """
    return _entropies(reduced_qubit_states(states, n_qubits))


def bloch_vectors(states: np.ndarray, n_qubits: int) -> np.ndarray:
    """Each qubit's Bloch vector ``(⟨X_k⟩, ⟨Y_k⟩, ⟨Z_k⟩)``, from its reduced state.

    Args:
        states: Normalised statevectors ``(B, 2**n_qubits)``.
        n_qubits: Qubits n.

    Returns:
        ``(B, n, 3)``; a vector's length is 1 exactly when its qubit is not entangled.

    Example:
        >>> plus_zero = np.array([[1, 1, 0, 0]]) / np.sqrt(2)  # qubit 0 |+⟩, qubit 1 |0⟩
        >>> bloch_vectors(plus_zero, 2).round(12).tolist()
        [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    return _bloch(reduced_qubit_states(states, n_qubits))


def summarise_states(layer: QuantumLayer, inputs: torch.Tensor | np.ndarray) -> StateSummary:
    """Entanglement and Bloch vectors of the states the layer prepares for ``inputs``.

    The states (:func:`layer_states`) and their reduced states are computed once for all three
    quantities.

    Args:
        layer: The quantum layer, at its current weights.
        inputs: Circuit inputs ``(B, n_inputs)``.

    Returns:
        The :class:`StateSummary` of the B states.

    Example:
        >>> summary = summarise_states(QuantumLayer(4, 0), np.random.rand(5, 4))
        >>> float(np.abs(summary.meyer_wallach).max()) < 1e-12  # depth 0: no CNOTs
        True
    """
    rho = reduced_qubit_states(layer_states(layer, inputs), layer.spec.n_qubits)
    return StateSummary(
        meyer_wallach=_meyer_wallach(rho), entropies=_entropies(rho), bloch=_bloch(rho)
    )
