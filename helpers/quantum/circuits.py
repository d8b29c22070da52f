"""Circuit families for the dressed quantum head, and the controls built from any circuit.

A family builds a :class:`CircuitSpec`: a parametrised circuit with its input and weight
parameters and its observables, the contract Qiskit ML's ``EstimatorQNN`` uses. Every family
encodes input ``x_i`` as RY(x_i) on qubit ``i`` and measures ⟨Z_j⟩ on every qubit:

- ``mari``: Mari et al. (arXiv:1912.08278): H on every qubit, one encoding, then ``q_depth``
  layers of a CNOT ladder and RY weights (:func:`helpers.quantum.layer.dressed_circuit`);
- ``reuploading``: a re-uploading variant after Pérez-Salinas et al. 2020 ("Data re-uploading
  for a universal quantum classifier", who re-upload w·x + θ through general SU(2) rotations):
  Mari's layers with the fixed-scale RY encoding repeated before every trainable layer, so
  each input enters ``q_depth`` times and ⟨Z_j⟩ holds integer frequencies up to ``q_depth`` in
  it (Schuld, Sweke & Meyer 2021); at depths 0 and 1 it is Mari's circuit;
- ``real_amplitudes`` and ``efficient_su2``: Qiskit's circuit-library ansätze with
  ``reps = q_depth`` (reverse-linear CNOT entanglement) after one RY encoding of |0⟩ (not of
  |+⟩ as the first two: ⟨Z⟩ starts as cos(x) there, −sin(x) here). ``efficient_su2``'s final
  RZ layer commutes with every Z, so its n weights never change an output.

:func:`unentangled` removes every multi-qubit gate from any circuit, keeping its weights. It
does not isolate entanglement alone: in a circuit of single-qubit rotations about one axis
(``mari``, ``reuploading``, ``real_amplitudes``) the RY gates left on each qubit merge, so the
depth collapses too (Mari's ⟨Z_j⟩ becomes −sin(x_j + Σ_l w_lj): the product control with a
trained offset per qubit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from qiskit.circuit import Parameter, ParameterVector, QuantumCircuit
from qiskit.circuit.library import efficient_su2, real_amplitudes
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum.layer import dressed_circuit, z_observables

ENTANGLEMENT = "reverse_linear"  # the library ansätze's CNOT pattern (Qiskit's default for RA)


@dataclasses.dataclass(frozen=True)
class CircuitSpec:
    """A parametrised circuit and how a QNN reads it: its input and weight parameters (in the
    order the layer feeds them) and its observables (one output each)."""

    name: str
    circuit: QuantumCircuit
    inputs: tuple[Parameter, ...]
    weights: tuple[Parameter, ...]
    observables: tuple[SparsePauliOp, ...]

    @property
    def n_qubits(self) -> int:
        return self.circuit.num_qubits


def mari(n_qubits: int, q_depth: int) -> CircuitSpec:
    """Mari et al.'s dressed circuit (see the module docstring)."""
    circuit, inputs, weights = dressed_circuit(n_qubits, q_depth)
    return CircuitSpec("mari", circuit, tuple(inputs), tuple(weights), _z(n_qubits))


def reuploading(n_qubits: int, q_depth: int) -> CircuitSpec:
    """Mari's layers with the RY encoding repeated before every trainable layer (see the module
    docstring); depth 0 is H and one encoding, as Mari's."""
    inputs = ParameterVector("x", n_qubits)
    weights = ParameterVector("w", q_depth * n_qubits)
    circuit = QuantumCircuit(n_qubits, name="reuploading")
    circuit.h(range(n_qubits))
    for layer in range(max(q_depth, 1)):
        for qubit in range(n_qubits):
            circuit.ry(inputs[qubit], qubit)
        if layer == q_depth:  # depth 0: the encoding alone
            break
        for start in (0, 1):
            for qubit in range(start, n_qubits - 1, 2):
                circuit.cx(qubit, qubit + 1)
        for qubit in range(n_qubits):
            circuit.ry(weights[layer * n_qubits + qubit], qubit)
    return CircuitSpec("reuploading", circuit, tuple(inputs), tuple(weights), _z(n_qubits))


def _library(name: str, ansatz: Callable[..., QuantumCircuit]) -> Callable[[int, int], CircuitSpec]:
    def build(n_qubits: int, q_depth: int) -> CircuitSpec:
        inputs = ParameterVector("x", n_qubits)
        body = ansatz(n_qubits, reps=q_depth, entanglement=ENTANGLEMENT, parameter_prefix="w")
        circuit = QuantumCircuit(n_qubits, name=name)
        for qubit in range(n_qubits):
            circuit.ry(inputs[qubit], qubit)
        circuit.compose(body, inplace=True)
        return CircuitSpec(name, circuit, tuple(inputs), tuple(body.parameters), _z(n_qubits))

    build.__doc__ = f"One RY encoding of |0⟩, then Qiskit's ``{ansatz.__name__}`` (reps q_depth)."
    return build


FAMILIES: dict[str, Callable[[int, int], CircuitSpec]] = {
    "mari": mari,
    "reuploading": reuploading,
    "real_amplitudes": _library("real_amplitudes", real_amplitudes),
    "efficient_su2": _library("efficient_su2", efficient_su2),
}
QUBIT_RANGE = range(2, 11)  # the qubit counts the families are built for


def build_circuit(family: str, n_qubits: int, q_depth: int) -> CircuitSpec:
    """The circuit of ``family`` on ``n_qubits`` at depth ``q_depth``.

    Args:
        family: One of :data:`FAMILIES`.
        n_qubits: Qubits, 2-10; one input per qubit.
        q_depth: Trainable layers (``reps`` of a library ansatz), 0 or more.

    Returns:
        The :class:`CircuitSpec`.

    Example:
        >>> spec = build_circuit("reuploading", 3, 2)
        >>> len(spec.inputs), len(spec.weights), len(spec.observables)
        (3, 6, 3)
    """
    if family not in FAMILIES:
        raise ValueError(f"circuit={family!r} is unknown; use one of {', '.join(FAMILIES)}.")
    if n_qubits not in QUBIT_RANGE:
        raise ValueError(f"n_qubits={n_qubits}: the circuit families are built for 2-10 qubits.")
    if q_depth < 0:
        raise ValueError(f"q_depth={q_depth}: give 0 or more layers.")
    return FAMILIES[family](n_qubits, q_depth)


def unentangled(spec: CircuitSpec) -> CircuitSpec:
    """``spec`` with every gate on two or more qubits removed and every weight kept (see the
    module docstring for what that control does and does not isolate). For Mari's circuit each
    ⟨Z_j⟩ then depends on x_j alone. Raises if a parameter was used only by a removed gate.

    Args:
        spec: Any circuit specification.

    Returns:
        The circuit without multi-qubit gates, named ``"<name> unentangled"``.

    Example:
        >>> control = unentangled(build_circuit("mari", 4, 2))
        >>> sorted({item.operation.name for item in control.circuit.data})
        ['h', 'ry']
    """
    circuit = spec.circuit.copy_empty_like(name=f"{spec.circuit.name}_unentangled")
    for item in spec.circuit.data:
        if len(item.qubits) == 1:
            circuit.append(item)
    lost = set(spec.circuit.parameters) - set(circuit.parameters)
    if lost:
        names = ", ".join(sorted(parameter.name for parameter in lost))
        raise ValueError(
            f"{spec.name}: parameters {names} act only through multi-qubit gates; without them "
            "the circuit has no unentangled control with the same weights."
        )
    return dataclasses.replace(spec, name=f"{spec.name} unentangled", circuit=circuit)


def _z(n_qubits: int) -> tuple[SparsePauliOp, ...]:
    return tuple(z_observables(n_qubits))
