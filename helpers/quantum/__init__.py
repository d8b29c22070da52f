"""The dressed quantum circuit, its Qiskit ML layer and the fast exact primitives behind it."""

from helpers.quantum.layer import QuantumLayer, dressed_circuit

__all__ = [
    "QuantumLayer",
    "dressed_circuit",
]
