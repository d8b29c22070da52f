"""Expectation values as hardware makes them: measure the circuit, count bit-strings, average.

:class:`SampledEstimator` is a ``BaseEstimatorV2`` on qiskit-aer. For every parameter row it
measures the qubits the (diagonal) observables act on and estimates **every** observable from
the same ``shots`` bit-strings, so the estimates are correlated as on a device and lie in
[-1, 1]. With a ``NoiseModel`` (e.g. ``NoiseModel.from_backend`` of a fake IBM device) gate noise
and readout error act as the device's would. Two mitigations can be switched on: readout
mitigation with M3 (``mthree``, Nation et al., PRX Quantum 2, 040326) and
zero-noise extrapolation: every gate folded to the noise factors 1, 3 and 5 and a scheduled
circuit rescheduled (:mod:`helpers.quantum.folding`), then Richardson extrapolation to zero
noise (the polynomial of degree ``len(factors) - 1`` through the scaled values: the model
``v(λ) = v_0 + a λ + b λ²`` for three factors). ``shots=None`` gives the exact values under the
noise model: the density matrix, and the noise model's readout confusion matrices applied to its
outcome probabilities.

How the bit-strings are drawn: Aer computes the exact outcome distribution ``p`` of the measured
qubits (statevector, or density matrix under the noise model, then the readout confusion
matrices), and a row's counts are drawn as ``Multinomial(shots, p)`` with the estimator's
seeded NumPy generator. That is exactly the distribution of ``shots`` independent measured
bit-strings, each with its own independent readout flips, which is what Aer's shot-by-shot
sampling draws; it costs one simulation per distinct circuit and parameter rows (remembered
across runs, see :meth:`SampledEstimator.reset`) instead of one per shot. A noise model with a
quantum error on ``measure`` has no such exact distribution: then Aer samples shot by shot
(``seed_simulator``). M3's calibration circuits are always sampled on Aer, seeded through
``seed_simulator``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from qiskit.circuit import ClassicalRegister, QuantumCircuit
from qiskit.primitives import DataBin, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.providers import BackendV2

from helpers.quantum.folding import fold_gates, noisy_gates
from helpers.quantum.primitives import PubByPubEstimator

MITIGATIONS = ("m3", "zne")
ZNE_FACTORS = (1, 3, 5)  # noise scale factors: the circuit, and every gate folded to 3 and 5
_MEMO_SIZE = 16  # exact outcome probabilities remembered per estimator


class SampledEstimator(PubByPubEstimator):
    """``BaseEstimatorV2`` that samples ``shots`` bit-strings per parameter row on qiskit-aer.

    Args:
        shots: bit-strings per parameter row; ``None`` gives exact values (density matrix under
            ``noise_model``, readout error applied through its confusion matrices).
        seed: seeds the NumPy generator that draws the counts (and the ``seed_simulator`` of
            M3's calibration and of the shot-by-shot fallback); it keeps drawing across calls, so
            one estimator's calls are independent like repeated hardware runs, and two
            estimators (or :meth:`reset` runs) with the same seed give identical outputs.
        noise_model: a qiskit-aer ``NoiseModel``; the circuit should be transpiled to its basis
            gates and qubits (``QuantumLayer(target=device)``, which also schedules it so idle
            qubits get ``Delay``s for the model's T1/T2 relaxation), or the noise misses them.
        mitigation: any of ``"m3"`` (readout mitigation of the counts; needs shots) and
            ``"zne"`` (zero-noise extrapolation over ``zne_factors``; the circuit needs a gate
            the noise model puts an error on, or there is nothing to scale).
        zne_factors: noise scale factors of the folded circuits: distinct odd integers, 1
            first (:func:`~helpers.quantum.folding.fold_gates`), two or more.
        calibration_shots: M3's calibration shots (its balanced calibration, as on hardware).
        device: the device ``noise_model`` is of: M3 calibrates on a simulator of it
            (``AerSimulator.from_backend``, its qubits), else on a bare ``AerSimulator``; ZNE
            reschedules a scheduled circuit's folded copies on its durations.

    The counts of a row are ``Multinomial(shots, p)`` with ``p`` Aer's exact outcome
    probabilities of the measured qubits (readout error included): the distribution of
    ``shots`` independent bit-strings (see the module docstring). ``p`` is remembered per
    circuit object (which must not be modified in place), noise factor, measured qubits and
    parameter rows, in a small least-recently-used memo that :meth:`reset` keeps.

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
        zne_factors: Sequence[int] = ZNE_FACTORS,
        calibration_shots: int = 10_000,
        device: BackendV2 | None = None,
    ) -> None:
        self.noise_model = noise_model
        self.zne_factors = tuple(int(f) for f in zne_factors)
        self.calibration_shots = calibration_shots
        self.device = device
        try:  # the readout errors the exact outcome probabilities can take
            self._readout: dict[int | None, np.ndarray] | None = _readout_matrices(noise_model)
            self._not_exact = ""
        except ValueError as error:  # a quantum error on 'measure': sample on Aer shot by shot
            self._readout, self._not_exact = None, str(error)
        self._memo: OrderedDict[tuple, tuple[QuantumCircuit, tuple, np.ndarray]] = OrderedDict()
        self.reset(shots=shots, seed=seed, mitigation=mitigation)

    def reset(self, *, shots: int | None, seed: int | None, mitigation: Sequence[str] = ()) -> None:
        """Start a new run on the same circuit and noise: ``shots``, ``mitigation`` and the
        generator reseeded with ``seed``, as the constructor sets them (the same seed gives the
        same outputs as a new estimator), and M3 recalibrated on first use (as a new hardware
        run would). The memo of exact outcome probabilities is kept: evaluating the same rows
        again, at any shot count or seed, simulates nothing."""
        mitigation = tuple(mitigation)
        unknown = sorted(set(mitigation) - set(MITIGATIONS))
        if unknown:
            raise ValueError(f"mitigation {unknown} is unknown; use any of {MITIGATIONS}.")
        if shots is not None and shots < 1:
            raise ValueError(f"shots={shots}: must be a positive integer, or None for exact.")
        if "m3" in mitigation and shots is None:
            raise ValueError("mitigation 'm3' corrects measured counts: give shots.")
        factors = self.zne_factors
        distinct_odd = len(set(factors)) == len(factors) > 1 and all(f % 2 for f in factors)
        if "zne" in mitigation and not (distinct_odd and factors[0] == 1):
            raise ValueError(
                f"zne_factors={factors}: give two or more distinct odd factors, 1 first."
            )
        if shots is None and self._readout is None:
            raise ValueError(self._not_exact)
        self.shots = shots
        self.mitigation = mitigation
        self._rng = np.random.default_rng(seed)
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
        factors = self.zne_factors if "zne" in self.mitigation else (1,)
        if len(factors) > 1 and not noisy_gates(circuit, self.noise_model):
            raise ValueError(
                "zne: the noise model puts no error on any gate of this circuit, so folding "
                "scales no noise and the extrapolation would only amplify shot noise; evaluate "
                "it without 'zne'."
            )
        # in factor order: factor 1's counts (and M3's calibration) are drawn first, so they are
        # those of the same seed's run without ZNE
        scaled = [self._probabilities(circuit, f, measured, rows) @ signs for f in factors]
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
        if self.shots is None:
            simulator = "qiskit-aer, exact"
        elif self._readout is None:
            simulator = "qiskit-aer, sampled shot by shot"
        else:
            simulator = "qiskit-aer, exact probabilities, multinomial counts"
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
                "simulator": simulator,
            },
        )

    def _seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def _probabilities(
        self, circuit: QuantumCircuit, factor: int, measured: list[int], rows: np.ndarray
    ) -> np.ndarray:
        """Outcome probabilities ``(rows, 2**m)`` of the measured qubits (index bit k: qubit
        ``measured[k]``) of the circuit folded by ``factor``: exact, or as frequencies of
        ``shots`` bit-strings (M3-corrected)."""
        if self._readout is None:  # quantum errors on 'measure': Aer samples shot by shot
            counts = self._aer_counts(fold_gates(circuit, factor, self.device), measured, rows)
        else:
            exact = self._exact(circuit, factor, measured, rows)
            if self.shots is None:
                return exact
            counts = self._rng.multinomial(self.shots, exact).astype(float)
        if "m3" in self.mitigation:
            bits = [format(i, f"0{len(measured)}b") for i in range(counts.shape[1])]
            dicts = [{bits[i]: int(row[i]) for i in np.flatnonzero(row)} for row in counts]
            mitigator = self._mitigator(measured)
            # what M3's "auto" picks for so few bit-strings, without its memory probe per row
            method = "direct" if len(bits) <= mitigator.iter_threshold else "auto"
            with _one_openmp_thread():
                quasis = mitigator.apply_correction(dicts, measured, method=method)
            counts = np.zeros_like(counts)
            for row, quasi in enumerate(quasis):
                for key, value in quasi.items():
                    counts[row, int(key, 2)] = value
        return counts / counts.sum(axis=1, keepdims=True)

    def _exact(
        self, circuit: QuantumCircuit, factor: int, measured: list[int], rows: np.ndarray
    ) -> np.ndarray:
        """Exact outcome probabilities ``(rows, 2**m)`` under the noise model, readout error
        applied; remembered (least recently used first out) across calls and runs."""
        rows = np.ascontiguousarray(rows, dtype=float)
        digest = hashlib.blake2b(rows.tobytes(), digest_size=16).digest()
        key = (id(circuit), factor, tuple(measured), rows.shape, digest)
        fingerprint = (len(circuit.data), circuit.num_parameters, circuit.num_qubits)
        hit = self._memo.get(key)
        if hit is not None and hit[0] is circuit and hit[1] == fingerprint:
            self._memo.move_to_end(key)
            return hit[2]
        simulator = self._simulator()
        folded = fold_gates(circuit, factor, self.device).copy()
        folded.save_probabilities(measured)
        binds = [dict(zip(folded.parameters, rows.T, strict=True))] if rows.shape[1] else None
        experiments = folded if binds else [folded] * len(rows)
        result = simulator.run(experiments, parameter_binds=binds).result()
        probabilities = np.array([result.data(i)["probabilities"] for i in range(len(rows))])
        everywhere = self._readout.get(None)
        probabilities = _apply_readout(
            probabilities, [self._readout.get(q, everywhere) for q in measured]
        )
        probabilities = np.clip(probabilities, 0.0, None)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities.flags.writeable = False
        self._memo[key] = (circuit, fingerprint, probabilities)
        if len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)
        return probabilities

    def _simulator(self) -> object:
        """Aer's statevector (noiseless) or density-matrix simulator under the noise model."""
        from qiskit_aer import AerSimulator

        # one thread and no gate fusion: for circuits of a few qubits both cost more than they save
        return AerSimulator(
            method="statevector" if self.noise_model is None else "density_matrix",
            noise_model=self.noise_model,
            max_parallel_threads=1,
            fusion_enable=False,
        )

    def _aer_counts(
        self, circuit: QuantumCircuit, measured: list[int], rows: np.ndarray
    ) -> np.ndarray:
        """Counts ``(rows, 2**m)`` of ``shots`` bit-strings sampled by Aer shot by shot (the
        fallback for noise models with quantum errors on ``measure``)."""
        simulator = self._simulator()
        sampled = _with_measurements(circuit, measured)
        binds = [dict(zip(circuit.parameters, rows.T, strict=True))] if rows.shape[1] else None
        experiments = sampled if binds else [sampled] * len(rows)
        result = simulator.run(
            experiments, shots=self.shots, seed_simulator=self._seed(), parameter_binds=binds
        ).result()
        table = np.zeros((len(rows), 2 ** len(measured)))
        for row in range(len(rows)):
            for bits, count in result.get_counts(row).items():
                table[row, int(bits, 2)] = count
        return table

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


def _one_openmp_thread() -> object:
    """A context with OpenMP (mthree's kernels, torch) limited to one thread: for the few
    measured qubits here, an OpenMP team next to torch's costs about a hundred times the work
    (M3's correction of 201 rows: 1.6 s, single-threaded 0.015 s)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="openmp")


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


def _extrapolate(factors: Sequence[int], values: np.ndarray) -> np.ndarray:
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
