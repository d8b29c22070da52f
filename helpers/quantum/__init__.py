"""The dressed quantum circuit, its Qiskit ML layer and the fast exact primitives behind it."""

from helpers.quantum.layer import (
    BACKENDS,
    Backend,
    BatchedEstimatorQNN,
    QuantumLayer,
    dressed_circuit,
    make_backend,
    z_observables,
)
from helpers.quantum.operators import UnsupportedCircuitError
from helpers.quantum.primitives import FastAdjointGradient, FastStatevectorEstimator
from helpers.quantum.sampled import MITIGATIONS, SampledEstimator
from helpers.quantum.simulator import compile_circuit

__all__ = [
    "BACKENDS",
    "MITIGATIONS",
    "Backend",
    "BatchedEstimatorQNN",
    "FastAdjointGradient",
    "FastStatevectorEstimator",
    "QuantumLayer",
    "SampledEstimator",
    "UnsupportedCircuitError",
    "compile_circuit",
    "dressed_circuit",
    "make_backend",
    "z_observables",
]
