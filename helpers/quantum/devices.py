"""Fake IBM devices, their noise models, and the noise factors ZNE's folding reaches on them."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers.bindings_array import BindingsArrayLike
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from helpers.quantum.folding import effective_noise_factors, fold_gates
from helpers.quantum.sampled import ZNE_FACTORS, SampledEstimator


def fake_device(name: str, n_qubits: int | None = None) -> BackendV2:
    """A fake IBM device by class name, e.g. ``FakeManilaV2``; the error lists the valid names.
    With ``n_qubits`` (the circuit's), a device with fewer qubits is refused.

    Args:
        name: The class name of a qiskit-ibm-runtime fake device.
        n_qubits: The circuit's qubits; None skips the size check.

    Returns:
        The fake device (a calibration snapshot of a real IBM processor).

    Example:
        >>> fake_device("FakeManilaV2", n_qubits=4).num_qubits
        5
    """
    from qiskit_ibm_runtime import fake_provider

    available = sorted(
        name
        for name, value in vars(fake_provider).items()
        if name.startswith("Fake") and isinstance(value, type) and issubclass(value, BackendV2)
    )
    if name not in available:
        raise ValueError(
            f"noise_device={name!r} is not a qiskit-ibm-runtime fake device; use one of "
            f"{', '.join(available)}."
        )
    device = getattr(fake_provider, name)()
    if n_qubits is not None and device.num_qubits < n_qubits:
        raise ValueError(
            f"noise_device={name!r} has {device.num_qubits} qubits, fewer than the circuit's "
            f"n_qubits={n_qubits}; choose a larger device: {_larger(n_qubits)}."
        )
    return device


SIZED_DEVICES = {"FakeManilaV2": 5, "FakeNairobiV2": 7, "FakeGuadalupeV2": 16, "FakeTorontoV2": 27}


def _larger(n_qubits: int) -> str:
    """The smallest of :data:`SIZED_DEVICES` with at least ``n_qubits`` qubits, in words."""
    name = next((name for name, size in SIZED_DEVICES.items() if size >= n_qubits), None)
    return f"{name} ({SIZED_DEVICES[name]} qubits)" if name else "a device with enough qubits"


@functools.cache
def noise_model(device: BackendV2, readout_error: bool = True) -> object:
    """The device's noise model (``NoiseModel.from_backend``), built once per device object.

    Args:
        device: The (fake) device.
        readout_error: Whether its readout error is included.

    Returns:
        The qiskit-aer ``NoiseModel``: gate errors, relaxation (idle qubits' too, in their
        delays) and, with ``readout_error``, readout error.
    """
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(device, readout_error=readout_error)


def measured_noise_factors(
    circuit: QuantumCircuit,
    observables: Sequence[SparsePauliOp],
    values: BindingsArrayLike,
    ideal: np.ndarray,
    device: BackendV2,
) -> dict[int, float]:
    """The noise factor each of :data:`~helpers.quantum.sampled.ZNE_FACTORS`' foldings reaches
    on ``circuit`` (transpiled and scheduled for ``device``) under the device's gate and idle
    noise, readout error left out (folding does not scale it): the exact values of the folded,
    rescheduled circuits (density matrix) through
    :func:`~helpers.quantum.folding.effective_noise_factors` against ``ideal``.

    Args:
        circuit: The scheduled ISA circuit (``QuantumLayer(target=device, noise_model=...)``).
        observables: Its diagonal observables (laid out on the device's qubits).
        values: Its parameter values, broadcast against the observables as in a PUB.
        ideal: The noiseless values, shaped like the PUB's result.
        device: The device.

    Returns:
        The measured factor by nominal factor.

    Example:
        >>> measured_noise_factors(circuit, observables, values, ideal, device)  # doctest: +SKIP
        {1: 1.0, 3: 3.04, 5: 5.18}
    """
    estimator = SampledEstimator(shots=None, noise_model=noise_model(device, readout_error=False))
    scaled = {
        factor: estimator.run([(fold_gates(circuit, factor, device), list(observables), values)])
        .result()[0]
        .data.evs
        for factor in ZNE_FACTORS
    }
    return effective_noise_factors(scaled, ideal)
