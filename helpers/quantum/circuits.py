"""Circuit families for the dressed quantum head, and the controls built from any circuit.

A family builds a :class:`CircuitSpec`: a parametrised circuit with its input and weight
parameters and its observables, the contract Qiskit ML's ``EstimatorQNN`` uses. Every family
encodes input ``x_i`` as RY(x_i) on qubit ``i`` and measures ⟨Z_j⟩ on every qubit:

- ``mari``: Mari et al. (arXiv:1912.08278): H on every qubit, one encoding, then ``q_depth``
  layers of a CNOT ladder and RY weights (:func:`helpers.quantum.layer.dressed_circuit`);
- ``reuploading``: a re-uploading variant after Pérez-Salinas et al., Quantum 4, 226 (2020),
  arXiv:1907.02085 (who re-upload w·x + θ through general SU(2) rotations):
  Mari's layers with the fixed-scale RY encoding repeated before every trainable layer, so
  each input enters max(``q_depth``, 1) times and ⟨Z_j⟩ holds integer frequencies up to that
  many in it (Schuld, Sweke & Meyer, PRA 103, 032430, 2021, arXiv:2008.08605); at depths 0 and
  1 it is Mari's circuit;
- ``real_amplitudes`` and ``efficient_su2``: Qiskit's circuit-library ansätze with
  ``reps = q_depth`` (reverse-linear CNOT entanglement) after one RY encoding of |0⟩ (the first
  two encode |+⟩: RY(x) gives ⟨Z⟩ = cos(x) on |0⟩, −sin(x) on |+⟩). ``efficient_su2`` is the
  hardware-efficient ansatz of Kandala et al., Nature 549, 242 (2017); its final RZ layer
  commutes with every Z, so its n weights never change an output. In both, the first RY weight
  layer follows the RY encoding directly and acts as a trained offset of each input.

:func:`unentangled` removes every multi-qubit gate from any circuit, keeping its weights. It
does not isolate entanglement alone: in a circuit of single-qubit rotations about one axis
(``mari``, ``reuploading``, ``real_amplitudes``) the RY gates left on each qubit merge, so the
depth collapses too (Mari's ⟨Z_j⟩ becomes −sin(x_j + Σ_l w_lj): the product control with a
trained offset per qubit).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

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


def build_circuit(family: str, n_qubits: int, q_depth: int) -> CircuitSpec:
    """The circuit of ``family`` on ``n_qubits`` at depth ``q_depth``.

    Args:
        family: One of :data:`FAMILIES`.
        n_qubits: Qubits (2 or more; Mari's 1 or more); one input per qubit. The fast
            simulator runs up to 10, ``reference`` and ``aer`` more.
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
    if n_qubits < (1 if family == "mari" else 2):
        raise ValueError(f"n_qubits={n_qubits}: the {family} circuit needs 2 or more qubits.")
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


def product_control(spec: CircuitSpec) -> CircuitSpec:
    """``spec`` without its multi-qubit gates *and* without every gate a weight drives, so the
    inputs' encoding alone is left (no weights to train). The series' product control applies
    it to a family's circuit at depth 0 (``mari``, ``reuploading``: ⟨Z_j⟩ = −sin(x_j); a library
    ansatz: RY(x_j) on |0⟩, ⟨Z_j⟩ = cos(x_j)) and to a user builder's circuit at ``q_depth`` 0:
    a circuit that encodes an input twice there keeps both encodings.

    Args:
        spec: Any circuit specification.

    Returns:
        The encoding alone, named ``"<name> product"``, with no weights.

    Example:
        >>> control = product_control(build_circuit("real_amplitudes", 3, 2))
        >>> sorted({item.operation.name for item in control.circuit.data}), control.weights
        (['ry'], ())
    """
    weights = set(spec.weights)
    circuit = spec.circuit.copy_empty_like(name=f"{spec.circuit.name}_product")
    for item in spec.circuit.data:
        driven = {p for angle in item.operation.params for p in getattr(angle, "parameters", ())}
        if len(item.qubits) == 1 and not driven & weights:
            circuit.append(item)
    lost = set(spec.inputs) - set(circuit.parameters)
    if lost:
        names = ", ".join(sorted(parameter.name for parameter in lost))
        raise ValueError(
            f"{spec.name}: inputs {names} enter only through multi-qubit or weight-driven gates "
            "(e.g. RY(w·x + θ)), so the circuit has no product control (its encoding alone); "
            "leave 'product' out of models."
        )
    return dataclasses.replace(spec, name=f"{spec.name} product", circuit=circuit, weights=())


def load_builder(reference: str, root: Path) -> Callable[[int, int], CircuitSpec]:
    """A user circuit's builder from ``"module:function"`` (an importable module) or
    ``"path/to/file.py:function"`` (relative to ``root``, the project).

    The function takes ``(n_qubits, q_depth)`` (it may ignore either) and returns a
    :class:`CircuitSpec`: any ``QuantumCircuit`` with its input and weight parameters and its
    observables, as Qiskit ML's ``EstimatorQNN`` takes them.

    Args:
        reference: ``"module:function"`` or ``"file.py:function"``.
        root: The folder a relative file path is resolved against.

    Returns:
        The builder.

    Example:
        >>> load_builder("helpers.quantum.circuits:mari", Path("."))(2, 1).name
        'mari'
    """
    source, _, name = reference.rpartition(":")
    try:
        if source.endswith(".py"):
            path = Path(source) if Path(source).is_absolute() else root / source
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or not path.is_file():
                raise FileNotFoundError(f"no file {path}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            if str(root) not in sys.path:
                sys.path.append(str(root))  # modules beside the notebooks' project, too
            module = importlib.import_module(source)
        builder = getattr(module, name)
    except (ImportError, OSError, AttributeError) as exc:
        raise ValueError(
            f"circuit={reference!r}: cannot load it ({exc}); give 'module:function' or "
            "'path/to/file.py:function', a function (n_qubits, q_depth) -> CircuitSpec."
        ) from exc
    return builder


def build_user_circuit(reference: str, root: Path, n_qubits: int, q_depth: int) -> CircuitSpec:
    """Call a user circuit's builder (:func:`load_builder`) and check what it returns: a
    :class:`CircuitSpec` on ``n_qubits`` qubits whose inputs and weights are the circuit's
    parameters, each named once, with one or more observables on as many qubits.

    Args:
        reference: ``"module:function"`` or ``"file.py:function"``.
        root: The folder a relative file path is resolved against.
        n_qubits: The run's qubits; the circuit must have as many.
        q_depth: Passed to the builder.

    Returns:
        The checked :class:`CircuitSpec`.

    Example:
        >>> build_user_circuit("helpers.quantum.circuits:reuploading", Path("."), 3, 2).name
        'reuploading'
    """
    builder = load_builder(reference, root)
    try:
        spec = builder(n_qubits, q_depth)
    except TypeError as exc:
        raise ValueError(
            f"circuit={reference!r}: calling it as builder(n_qubits, q_depth) failed ({exc})."
        ) from exc
    problems = []
    if not isinstance(spec, CircuitSpec):
        problems.append(f"returned {type(spec).__name__}, not a CircuitSpec")
    else:
        named = [*spec.inputs, *spec.weights]
        if spec.n_qubits != n_qubits:
            problems.append(f"has {spec.n_qubits} qubits: set n_qubits={spec.n_qubits}")
        if len(set(named)) != len(named) or set(named) != set(spec.circuit.parameters):
            problems.append("its inputs and weights must name every circuit parameter once")
        if not spec.inputs or not spec.observables:
            problems.append("it needs one or more inputs and observables")
        if any(o.num_qubits != spec.n_qubits for o in spec.observables):
            problems.append("every observable must act on the circuit's qubits")
    if problems:
        raise ValueError(f"circuit={reference!r}: " + "; ".join(problems) + ".")
    return spec


def _z(n_qubits: int) -> tuple[SparsePauliOp, ...]:
    return tuple(z_observables(n_qubits))
