"""A fast exact Estimator (Qiskit ``BaseEstimatorV2``) and its adjoint gradient.

Both evaluate a whole batch of parameter sets in vectorised NumPy through
:mod:`helpers.quantum.simulator`. They are exact: no sampling noise whatever ``precision`` is
asked for (an exact value meets any target precision; ``stds`` are 0).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, DataBin, PrimitiveResult, PubResult
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.providers import JobStatus, Options
from qiskit.quantum_info import SparsePauliOp
from qiskit.quantum_info.operators.base_operator import BaseOperator
from qiskit_machine_learning.gradients import BaseEstimatorGradient, EstimatorGradientResult
from qiskit_machine_learning.utils import circuit_cache_key

from helpers.quantum.observables import CompiledObservables, compile_observables
from helpers.quantum.simulator import CompiledCircuit, compile_circuit

_CACHE_SIZE = 64


class _LRU(OrderedDict):
    """A small least-recently-used cache."""

    def get_or_make(self, key, make):  # type: ignore[no-untyped-def]
        if key in self:
            self.move_to_end(key)
            return self[key]
        return self.put(key, make())

    def put(self, key, value):  # type: ignore[no-untyped-def]
        self[key] = value
        self.move_to_end(key)
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)
        return value


class _IdentityCache:
    """Cache keyed by object identity, confirmed by a cheap fingerprint, backed by a content key.

    Looking a circuit up by its full structural hash costs about a millisecond, more than
    simulating a small batch; the same circuit object is passed on every call of a training loop.
    The cache keeps a reference to each object so that its id cannot be reused.
    """

    def __init__(self, fingerprint, content_key, make) -> None:  # type: ignore[no-untyped-def]
        self._fingerprint, self._content_key, self._make = fingerprint, content_key, make
        self._by_id: _LRU = _LRU()
        self._by_content: _LRU = _LRU()

    def __call__(self, obj, *args):  # type: ignore[no-untyped-def]
        hit = self._by_id.get(id(obj))
        fingerprint = self._fingerprint(obj)
        if hit is not None and hit[0] is obj and hit[1] == fingerprint:
            return hit[2]
        value = self._by_content.get_or_make(self._content_key(obj), lambda: self._make(obj, *args))
        self._by_id.put(id(obj), (obj, fingerprint, value))
        return value


def _circuit_fingerprint(circuit: QuantumCircuit) -> tuple:
    return (len(circuit.data), circuit.num_parameters, circuit.num_qubits)


def _observable_key(observable: SparsePauliOp | BaseOperator | dict) -> tuple:
    if isinstance(observable, dict):
        return tuple(sorted((label, complex(c)) for label, c in observable.items()))
    op = SparsePauliOp(observable).simplify()
    return tuple(sorted(zip(op.paulis.to_labels(), (complex(c) for c in op.coeffs), strict=True)))


class _DoneJob(BasePrimitiveJob):
    """A job whose result was computed when it was created.

    Qiskit's ``PrimitiveJob`` runs every call on a worker thread; for a millisecond of array code
    the hand-off costs more than the work.
    """

    def __init__(self, result: PrimitiveResult) -> None:
        super().__init__(job_id="fast-exact")
        self._result = result

    def result(self) -> PrimitiveResult:
        return self._result

    def status(self) -> JobStatus:
        return JobStatus.DONE

    def done(self) -> bool:
        return True

    def running(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def in_final_state(self) -> bool:
        return True

    def cancel(self) -> None:
        """Nothing to cancel: the job is complete."""


class PubByPubEstimator(BaseEstimatorV2):
    """An EstimatorV2 that evaluates each pub at once in :meth:`_run_pub` and returns a job that
    is already done."""

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> BasePrimitiveJob:
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        return _DoneJob(
            PrimitiveResult([self._run_pub(pub) for pub in coerced], metadata={"version": 2})
        )

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        raise NotImplementedError


class FastStatevectorEstimator(PubByPubEstimator):
    """Exact statevector estimator, vectorised over each PUB's parameter values.

    Follows the ``BaseEstimatorV2`` contract: PUBs ``(circuit, observables, parameter_values)``
    broadcast against each other, ``evs`` and ``stds`` have the broadcast shape. Circuits are
    compiled once and cached; see :mod:`helpers.quantum.simulator` for the supported gates.

    Example::

        estimator = FastStatevectorEstimator()
        evs = estimator.run([(circuit, [SparsePauliOp("ZI"), SparsePauliOp("IZ")],
                              values[:, None, :])]).result()[0].data.evs   # (B, 2)
    """

    def __init__(self) -> None:
        self._circuits = _IdentityCache(_circuit_fingerprint, circuit_cache_key, compile_circuit)
        self._observables = _IdentityCache(
            lambda ops: len(ops),
            lambda ops: tuple(_observable_key(op) for op in ops),
            lambda ops, n_qubits: compile_observables(ops, n_qubits),
        )

    def compiled(self, circuit: QuantumCircuit) -> CompiledCircuit:
        """The compiled form of ``circuit`` (parameters in ``circuit.parameters`` order)."""
        return self._circuits(circuit)

    def compiled_observables(self, observables: Sequence, n_qubits: int) -> CompiledObservables:
        """The compiled form of a list of observables (cached by identity, then content)."""
        return self._observables(observables, n_qubits)

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        circuit = pub.circuit
        program = self.compiled(circuit)
        values_shape = pub.parameter_values.shape
        values = pub.parameter_values.as_array(circuit.parameters).reshape(
            int(np.prod(values_shape)), program.n_parameters
        )
        observables = pub.observables.ravel().tolist()
        keys = [_observable_key(obs) for obs in observables]
        unique: dict[tuple, int] = {}
        for key in keys:
            unique.setdefault(key, len(unique))
        first = {index: observables[keys.index(key)] for key, index in unique.items()}
        compiled = self.compiled_observables(
            [first[i] for i in range(len(unique))], circuit.num_qubits
        )
        table = program.expectation_values(values, compiled)  # (n_values, n_unique_observables)
        shape = np.broadcast_shapes(values_shape, pub.observables.shape)
        value_index = np.broadcast_to(np.arange(len(values)).reshape(values_shape), shape)
        observable_index = np.broadcast_to(
            np.array([unique[key] for key in keys], dtype=int).reshape(pub.observables.shape), shape
        )
        evs = table[value_index, observable_index]
        return PubResult(
            DataBin(evs=evs, stds=np.zeros(shape), shape=shape),
            metadata={
                "target_precision": pub.precision,
                "circuit_metadata": circuit.metadata,
                "simulator": "exact statevector (helpers.quantum)",
            },
        )


class FastAdjointGradient(BaseEstimatorGradient):
    """Exact gradients of expectation values by the adjoint method, vectorised over the batch.

    :meth:`jacobian` returns values and the full Jacobian for a batch of parameter sets and a
    list of observables in one call; :class:`~helpers.quantum.layer.BatchedEstimatorQNN` uses it
    to skip the per-circuit bookkeeping of ``BaseEstimatorGradient.run``. ``run`` itself also
    works, for any list of circuits, grouping identical circuits into one batched evaluation.
    """

    def __init__(self, estimator: FastStatevectorEstimator | None = None) -> None:
        super().__init__(estimator or FastStatevectorEstimator())

    @property
    def estimator(self) -> FastStatevectorEstimator:
        return self._estimator  # type: ignore[return-value]

    def jacobian(
        self,
        circuit: QuantumCircuit,
        observables: Sequence[BaseOperator],
        parameter_values: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values (B, J) and Jacobian (B, J, P), P in the order of ``circuit.parameters``."""
        program = self.estimator.compiled(circuit)
        compiled = self.estimator.compiled_observables(observables, circuit.num_qubits)
        return program.jacobian(np.asarray(parameter_values, dtype=np.float64), compiled)

    def vector_jacobian(
        self,
        circuit: QuantumCircuit,
        observables: Sequence[BaseOperator],
        parameter_values: np.ndarray,
        cotangent: np.ndarray,
    ) -> np.ndarray:
        """``cotangent (B, J)`` times the Jacobian, per row: ``(B, P)`` (one adjoint sweep)."""
        program = self.estimator.compiled(circuit)
        compiled = self.estimator.compiled_observables(observables, circuit.num_qubits)
        values = np.asarray(parameter_values, dtype=np.float64)
        return program.vector_jacobian(values, compiled, cotangent)

    def _run(
        self,
        circuits: Sequence[QuantumCircuit],
        observables: Sequence[BaseOperator],
        parameter_values: Sequence[Sequence[float]] | np.ndarray,
        parameters: Sequence[Sequence[Parameter]],
        **options,
    ) -> EstimatorGradientResult:
        groups: dict[str, list[int]] = {}
        for row, circuit in enumerate(circuits):
            groups.setdefault(circuit_cache_key(circuit), []).append(row)
        gradients: list[np.ndarray] = [np.empty(0)] * len(circuits)
        for rows in groups.values():
            circuit = circuits[rows[0]]
            keys = [_observable_key(observables[row]) for row in rows]
            unique = list(dict.fromkeys(keys))
            ops = [observables[rows[keys.index(key)]] for key in unique]
            values = np.array([parameter_values[row] for row in rows], dtype=np.float64)
            _, jac = self.jacobian(circuit, ops, values)
            order = {param: i for i, param in enumerate(circuit.parameters)}
            for local, row in enumerate(rows):
                columns = [order[param] for param in parameters[row]]
                gradients[row] = jac[local, unique.index(keys[local]), columns]
        metadata = [{"parameters": params} for params in parameters]
        return EstimatorGradientResult(
            gradients=gradients, metadata=metadata, options=Options(**options)
        )
