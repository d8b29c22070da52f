"""Expectation values as hardware makes them: measure the circuit, count bit-strings, average.

:class:`SampledEstimator` is a ``BaseEstimatorV2`` on qiskit-aer. For every parameter row it
measures the qubits the (diagonal) observables act on and estimates **every** observable from
the same ``shots`` bit-strings, so the estimates are correlated as on a device and lie in
[-1, 1]. With a ``NoiseModel`` (e.g. ``NoiseModel.from_backend`` of a fake IBM device) gate noise
and readout error act as the device's would. Two mitigations from the field's libraries can be
switched on: readout mitigation with M3 (``mthree``, Nation et al., PRX Quantum 2, 040326) and
zero-noise extrapolation by folding the two-qubit gates (``qiskit-mitigation``'s
``GateFoldingPass``; Giurgica-Tiron et al., arXiv:2005.10921) with a polynomial (Richardson) fit
through the scaled-noise values. ``shots=None`` gives the exact values under the noise model:
the density matrix, and the noise model's readout confusion matrices applied to its outcome
probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import ClassicalRegister, QuantumCircuit
from qiskit.primitives import DataBin, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.providers import BackendV2

from helpers.quantum.primitives import PubByPubEstimator

MITIGATIONS = ("m3", "zne")
ZNE_FACTORS = (1.0, 3.0)  # noise scale factors: the circuit, and every two-qubit gate tripled


class SampledEstimator(PubByPubEstimator):
    """``BaseEstimatorV2`` that samples ``shots`` bit-strings per parameter row on qiskit-aer.

    Args:
        shots: bit-strings per parameter row; ``None`` gives exact values (density matrix under
            ``noise_model``, readout error applied through its confusion matrices).
        seed: seeds the simulator (Aer's ``seed_simulator``) through a generator that draws a
            fresh seed for every call, so one estimator's calls are independent like repeated
            hardware runs, and two estimators with the same seed give identical outputs.
        noise_model: a qiskit-aer ``NoiseModel``; the circuit should be transpiled to its basis
            gates and qubits (``QuantumLayer(target=device)``, which also schedules it so idle
            qubits get ``Delay``s for the model's T1/T2 relaxation), or the noise misses them.
        mitigation: any of ``"m3"`` (readout mitigation of the counts; needs shots) and
            ``"zne"`` (zero-noise extrapolation over ``zne_factors``).
        zne_factors: noise scale factors of the folded circuits (odd integers fold exactly).
        calibration_shots: M3's calibration shots (its balanced calibration, as on hardware).
        device: the device ``noise_model`` is of: M3 calibrates on a simulator of it
            (``AerSimulator.from_backend``, its qubits), else on a bare ``AerSimulator``.

    ``precision`` passed to :meth:`run` is ignored: the shots are this estimator's ``shots``.
    Observables must be diagonal (Paulis of ``I`` and ``Z``); ``stds`` hold the standard error
    of each estimate from its bit-strings (0 when exact; M3 and ZNE are not propagated).

    Example::

        estimator = SampledEstimator(shots=1024, seed=7)
        evs = estimator.run([(circuit, z_observables(4), values[:, None, :])]).result()[0].data.evs
    """

    def __init__(
        self,
        *,
        shots: int | None = 1024,
        seed: int | None = None,
        noise_model: object | None = None,
        mitigation: Sequence[str] = (),
        zne_factors: Sequence[float] = ZNE_FACTORS,
        calibration_shots: int = 10_000,
        device: BackendV2 | None = None,
    ) -> None:
        unknown = sorted(set(mitigation) - set(MITIGATIONS))
        if unknown:
            raise ValueError(f"mitigation {unknown} is unknown; use any of {MITIGATIONS}.")
        if shots is not None and shots < 1:
            raise ValueError(f"shots={shots}: must be a positive integer, or None for exact.")
        if "m3" in mitigation and shots is None:
            raise ValueError("mitigation 'm3' corrects measured counts: give shots.")
        if "zne" in mitigation and (len(zne_factors) < 2 or min(zne_factors) < 1):
            raise ValueError(f"zne_factors={tuple(zne_factors)}: give two or more factors >= 1.")
        self.shots = shots
        self.noise_model = noise_model
        self.mitigation = tuple(mitigation)
        self.zne_factors = tuple(float(f) for f in zne_factors)
        self.calibration_shots = calibration_shots
        self.device = device
        self._rng = np.random.default_rng(seed)
        self._readout = _readout_matrices(noise_model) if shots is None else {}
        self._mitigators: dict[tuple[int, ...], object] = {}

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        circuit = pub.circuit
        if circuit.num_clbits:
            raise ValueError("SampledEstimator measures the circuit itself: pass it unmeasured.")
        observables = pub.observables.ravel().tolist()
        measured = _measured_qubits(observables)
        signs = _sign_table(observables, measured)  # (2**m, n_observables)
        values_shape = pub.parameter_values.shape
        rows = pub.parameter_values.as_array(circuit.parameters).reshape(
            int(np.prod(values_shape)), circuit.num_parameters
        )
        factors = self.zne_factors if "zne" in self.mitigation else (1.0,)
        scaled = [self._probabilities(_folded(circuit, f), measured, rows) @ signs for f in factors]
        evs = _extrapolate(factors, np.stack(scaled)) if len(factors) > 1 else scaled[0]
        evs = np.clip(evs, -1.0, 1.0)
        if self.shots is None:
            stds = np.zeros_like(evs)
        else:
            stds = np.sqrt(np.clip(1.0 - scaled[0] ** 2, 0.0, None) / self.shots)
        shape = np.broadcast_shapes(values_shape, pub.observables.shape)
        value_index = np.broadcast_to(np.arange(len(rows)).reshape(values_shape), shape)
        observable_index = np.broadcast_to(
            np.arange(len(observables)).reshape(pub.observables.shape), shape
        )
        return PubResult(
            DataBin(
                evs=evs[value_index, observable_index],
                stds=stds[value_index, observable_index],
                shape=shape,
            ),
            metadata={
                "shots": self.shots,
                "mitigation": self.mitigation,
                "circuit_metadata": circuit.metadata,
                "simulator": "qiskit-aer, " + ("exact" if self.shots is None else "sampled"),
            },
        )

    def _seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def _probabilities(
        self, circuit: QuantumCircuit, measured: list[int], rows: np.ndarray
    ) -> np.ndarray:
        """Outcome probabilities ``(rows, 2**m)`` of the measured qubits (index bit k: qubit
        ``measured[k]``), exact or as frequencies of ``shots`` bit-strings (M3-corrected)."""
        from qiskit_aer import AerSimulator

        method = "statevector" if self.noise_model is None else "density_matrix"
        # one thread and no gate fusion: for circuits of a few qubits both cost more than they save
        simulator = AerSimulator(
            method=method,
            noise_model=self.noise_model,
            max_parallel_threads=1,
            fusion_enable=False,
        )
        binds = [dict(zip(circuit.parameters, rows.T, strict=True))] if rows.shape[1] else None
        if self.shots is None:
            exact = circuit.copy()
            exact.save_probabilities(measured)
            experiments = exact if binds else [exact] * len(rows)
            result = simulator.run(experiments, parameter_binds=binds).result()
            probabilities = np.array([result.data(i)["probabilities"] for i in range(len(rows))])
            everywhere = self._readout.get(None)
            return _apply_readout(
                probabilities, [self._readout.get(q, everywhere) for q in measured]
            )
        sampled = _with_measurements(circuit, measured)
        experiments = sampled if binds else [sampled] * len(rows)
        result = simulator.run(
            experiments, shots=self.shots, seed_simulator=self._seed(), parameter_binds=binds
        ).result()
        counts = [result.get_counts(i) for i in range(len(rows))]
        if "m3" in self.mitigation:
            quasis = self._mitigator(measured).apply_correction(counts, measured)
            counts = [dict(quasi) for quasi in quasis]
        table = np.zeros((len(rows), 2 ** len(measured)))
        for row, distribution in enumerate(counts):
            for bits, count in distribution.items():
                table[row, int(bits, 2)] = count
        return table / table.sum(axis=1, keepdims=True)

    def _mitigator(self, measured: list[int]) -> object:
        """An M3 mitigator calibrated (once per set of qubits) on the same noisy simulator,
        with the balanced calibration M3 uses on hardware."""
        import mthree
        from qiskit_aer import AerSimulator

        key = tuple(measured)
        if key not in self._mitigators:
            options = {"noise_model": self.noise_model, "seed_simulator": self._seed()}
            if self.device is None:
                system = AerSimulator(**options, max_parallel_threads=1)
            else:
                system = AerSimulator.from_backend(self.device, **options, max_parallel_threads=1)
            mitigator = mthree.M3Mitigation(system)
            mitigator.cals_from_system(
                measured, shots=self.calibration_shots, method="balanced", async_cal=False
            )
            self._mitigators[key] = mitigator
        return self._mitigators[key]


def _measured_qubits(observables: Sequence[dict[str, float]]) -> list[int]:
    """The qubits any observable acts on (Qiskit index, ascending); only ``I``/``Z`` allowed."""
    qubits: set[int] = set()
    for observable in observables:
        for label in observable:
            if set(label) - {"I", "Z"}:
                raise ValueError(
                    f"observable {label!r} is not diagonal: SampledEstimator measures in the Z "
                    "basis; rotate the circuit for X or Y terms."
                )
            qubits |= {len(label) - 1 - i for i, char in enumerate(label) if char == "Z"}
    return sorted(qubits)


def _sign_table(observables: Sequence[dict[str, float]], measured: list[int]) -> np.ndarray:
    """``(2**m, n_observables)``: each observable's value on each outcome of the measured bits."""
    outcomes = np.arange(2 ** len(measured))
    bits = {q: (outcomes >> k) & 1 for k, q in enumerate(measured)}
    table = np.zeros((len(outcomes), len(observables)))
    for column, observable in enumerate(observables):
        for label, coefficient in observable.items():
            parity = np.zeros(len(outcomes), dtype=int)
            for i, char in enumerate(label):
                if char == "Z":
                    parity ^= bits[len(label) - 1 - i]
            table[:, column] += np.real(coefficient) * (1 - 2 * parity)
    return table


def _with_measurements(circuit: QuantumCircuit, measured: list[int]) -> QuantumCircuit:
    """The circuit with qubit ``measured[k]`` measured into classical bit k."""
    sampled = circuit.copy()
    sampled.add_register(ClassicalRegister(len(measured), "meas"))
    sampled.measure(measured, range(len(measured)))
    return sampled


def _folded(circuit: QuantumCircuit, factor: float) -> QuantumCircuit:
    """The circuit with its two-qubit gates folded to scale their noise by ``factor``."""
    if math.isclose(factor, 1.0):
        return circuit
    from qiskit.transpiler import PassManager
    from qiskit_mitigation.zne import GateFoldingPass

    return PassManager([GateFoldingPass(factor, method="front")]).run(circuit)


def _extrapolate(factors: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Richardson extrapolation to zero noise: the polynomial of degree ``len(factors) - 1``
    through ``values[i]`` at ``factors[i]``, evaluated at 0."""
    flat = values.reshape(len(factors), -1)
    coefficients = np.polynomial.polynomial.polyfit(factors, flat, len(factors) - 1)
    return coefficients[0].reshape(values.shape[1:])


def _readout_matrices(noise_model: object | None) -> dict[int | None, np.ndarray]:
    """Per-qubit readout confusion matrices ``P(measured | prepared)`` of a noise model (key
    ``None``: the one for every qubit). Raises for what the exact path cannot apply."""
    if noise_model is None:
        return {}
    matrices: dict[int | None, np.ndarray] = {}
    for error in noise_model.to_dict()["errors"]:
        if "measure" in error["operations"] and error["type"] != "roerror":
            raise ValueError(
                "the noise model has a quantum error on 'measure', which exact evaluation "
                "(shots=None) cannot apply; sample with shots instead."
            )
        if error["type"] != "roerror":
            continue
        probabilities = np.asarray(error["probabilities"], dtype=float)
        if probabilities.shape != (2, 2):
            raise ValueError("correlated multi-qubit readout errors need shots, not shots=None.")
        for qubits in error.get("gate_qubits") or [(None,)]:
            matrices[qubits[0]] = probabilities
    return matrices


def _apply_readout(probabilities: np.ndarray, matrices: list[np.ndarray | None]) -> np.ndarray:
    """Outcome probabilities ``(rows, 2**m)`` after each measured bit k goes through
    ``matrices[k]`` (``P(measured | prepared)``; None: perfect readout)."""
    m = len(matrices)
    tensor = probabilities.reshape(len(probabilities), *[2] * m)  # axis 1 + m - 1 - k: bit k
    for k, matrix in enumerate(matrices):
        if matrix is not None:
            axis = m - k
            tensor = np.moveaxis(np.tensordot(tensor, matrix, axes=([axis], [0])), -1, axis)
    return tensor.reshape(len(probabilities), -1)
