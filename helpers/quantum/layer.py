"""Mari et al.'s dressed-circuit quantum layer as a Qiskit ML ``TorchConnector``.

The variational circuit (arXiv:1912.08278, Fig. 2 / their PennyLane code) on n qubits, depth q:
Hadamard on every qubit; RY(x_i) on qubit i; q times [CNOT(i, i+1) for even i, CNOT(i, i+1) for
odd i, RY(w_{k,i}) on every qubit]; outputs <Z_j> for every qubit j (Qiskit qubit index j).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from qiskit import transpile
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, StatevectorEstimator
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.gradients import BaseEstimatorGradient, ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN

from helpers.config import DEFAULT_Q_DEPTH, QUANTUM_BACKENDS
from helpers.quantum.primitives import FastAdjointGradient, FastStatevectorEstimator
from helpers.quantum.sampled import SampledEstimator

if TYPE_CHECKING:
    from helpers.quantum.circuits import CircuitSpec

BACKENDS = QUANTUM_BACKENDS


def dressed_circuit(
    n_qubits: int = 4, q_depth: int = DEFAULT_Q_DEPTH
) -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """Mari's variational circuit; returns (circuit, inputs x, weights w layer-major).

    Args:
        n_qubits: Qubits (inputs x, one per qubit).
        q_depth: Variational layers, each an entangling CNOT layer and one R_y per qubit.

    Returns:
        The circuit, its input parameters ``x`` ``(n_qubits,)`` and weight parameters ``w``
        ``(q_depth * n_qubits,)``.

    Example:
        >>> circuit, x, w = dressed_circuit(4, 5)
        >>> circuit.num_qubits, len(x), len(w), circuit.num_parameters
        (4, 4, 20, 24)
    """
    inputs = ParameterVector("x", n_qubits)
    weights = ParameterVector("w", q_depth * n_qubits)
    circuit = QuantumCircuit(n_qubits, name="dressed")
    circuit.h(range(n_qubits))
    for qubit in range(n_qubits):
        circuit.ry(inputs[qubit], qubit)
    for layer in range(q_depth):
        for start in (0, 1):
            for qubit in range(start, n_qubits - 1, 2):
                circuit.cx(qubit, qubit + 1)
        for qubit in range(n_qubits):
            circuit.ry(weights[layer * n_qubits + qubit], qubit)
    return circuit, inputs, weights


def z_observables(n_qubits: int) -> list[SparsePauliOp]:
    """One single-qubit Z per qubit: observable j measures <Z_j> on Qiskit qubit j."""
    return [
        SparsePauliOp.from_sparse_list([("Z", [j], 1.0)], num_qubits=n_qubits)
        for j in range(n_qubits)
    ]


@dataclasses.dataclass(frozen=True)
class Backend:
    """An estimator, the gradient that goes with it, and the precision the QNN asks for."""

    name: str
    estimator: BaseEstimatorV2
    gradient: BaseEstimatorGradient
    precision: float | None

    @property
    def exact(self) -> bool:
        return self.precision == 0.0


def make_backend(
    backend: str | BaseEstimatorV2 = "fast",
    *,
    shots: int | None = None,
    seed: int | None = None,
    noise_model: object | None = None,
    mitigation: Sequence[str] = (),
    device: BackendV2 | None = None,
) -> Backend:
    """Build a backend by name, or wrap any ``BaseEstimatorV2`` (e.g. IBM Runtime's).

    Args:
        backend: ``"fast"`` (exact, vectorised; the default), ``"reference"`` (Qiskit's
            ``StatevectorEstimator``: slow, for checks), ``"aer"`` (qiskit-aer: exact
            ``EstimatorV2`` without shots and noise, else a :class:`SampledEstimator` that
            measures ``shots`` bit-strings, or gives exact values under ``noise_model`` when
            ``shots`` is None), or an estimator instance.
        shots: bit-strings per expectation value; None means exact where the backend can.
        seed: seed of the sampling (``"aer"``: of the generator that draws the counts from
            Aer's exact outcome distribution, and M3's ``seed_simulator``; see
            :class:`SampledEstimator`).
        noise_model: a qiskit-aer ``NoiseModel`` (``"aer"`` only).
        mitigation: ``"m3"`` and/or ``"zne"`` (``"aer"`` only; see :class:`SampledEstimator`).
        device: the device ``noise_model`` is of (``"aer"``: M3 calibrates on a simulator of it).

    Gradients of every backend but ``"fast"`` are Qiskit ML's parameter shift, each shifted
    circuit evaluated by the same estimator (with shots and noise, as hardware would).
    """
    precision = 0.0 if shots is None else 1.0 / math.sqrt(shots)
    if mitigation and backend != "aer":
        raise ValueError(
            f"mitigation={tuple(mitigation)} needs backend='aer' (IBM Runtime's EstimatorV2 has "
            "its own resilience options)."
        )
    if isinstance(backend, BaseEstimatorV2):
        return Backend(
            type(backend).__name__,
            backend,
            ParamShiftEstimatorGradient(backend),
            None if shots is None else precision,
        )
    if backend == "fast":
        if shots is not None or noise_model is not None:
            raise ValueError("backend='fast' is exact; use backend='aer' for shots or noise.")
        estimator = FastStatevectorEstimator()
        return Backend("fast", estimator, FastAdjointGradient(estimator), 0.0)
    if backend == "reference":
        if noise_model is not None:
            raise ValueError("backend='reference' has no noise model; use backend='aer'.")
        estimator = StatevectorEstimator(default_precision=precision, seed=seed)
        return Backend("reference", estimator, ParamShiftEstimatorGradient(estimator), precision)
    if backend == "aer":
        if shots is None and noise_model is None and not mitigation:
            from qiskit_aer.primitives import EstimatorV2 as AerEstimator

            estimator = AerEstimator(options={"default_precision": 0.0})
            return Backend("aer", estimator, ParamShiftEstimatorGradient(estimator), 0.0)
        estimator = SampledEstimator(
            shots=shots, seed=seed, noise_model=noise_model, mitigation=mitigation, device=device
        )
        return Backend("aer", estimator, ParamShiftEstimatorGradient(estimator), None)
    raise ValueError(f"backend={backend!r} is unknown; use one of {BACKENDS} or an estimator.")


class BatchedEstimatorQNN(EstimatorQNN):
    """``EstimatorQNN`` that evaluates a batch as one broadcast PUB.

    The forward pass sends a single PUB ``(circuit, observables (J,), values (B, 1, P))`` whose
    broadcast result is ``(B, J)``: every ``BaseEstimatorV2`` supports this. The backward pass
    asks a :class:`FastAdjointGradient` for the whole Jacobian in one call, and falls back to
    ``EstimatorQNN``'s per-circuit path for any other gradient.
    """

    def _forward(
        self, input_data: np.ndarray | None, weights: np.ndarray | None
    ) -> np.ndarray | None:
        values, num_samples = self._preprocess_forward(input_data, weights)
        return self._evaluate(np.asarray(values, dtype=np.float64).reshape(num_samples, -1))

    def _evaluate(self, values: np.ndarray) -> np.ndarray:
        """Expectation values ``(B, J)`` for full parameter rows ``(B, inputs + weights)``."""
        pub = (self._circuit, list(self._observables), values.reshape(len(values), 1, -1))
        result = self.estimator.run([pub], precision=self._default_precision).result()[0]
        return np.asarray(result.data.evs, dtype=np.float64).reshape(len(values), -1)

    def forward_rows(self, input_data: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Forward pass with **one weight vector per sample**: ``(B, n)``, ``(B, W)`` -> ``(B, J)``.

        Evaluates many weight settings in one estimator call (e.g. a loss-landscape grid).
        """
        if input_data.shape[0] != weights.shape[0]:
            raise ValueError(f"{input_data.shape[0]} input rows but {weights.shape[0]} weight rows")
        return self._evaluate(np.hstack([input_data, weights]).astype(np.float64))

    def _backward(
        self, input_data: np.ndarray | None, weights: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray]:
        if not isinstance(self.gradient, FastAdjointGradient):
            return super()._backward(input_data, weights)
        values, num_samples = self._preprocess_forward(input_data, weights)
        values = np.asarray(values, dtype=np.float64).reshape(num_samples, -1)
        _, jac = self.gradient.jacobian(self._circuit, self._observables, values)
        input_grad = jac[:, :, : self._num_inputs] if self._input_gradients else None
        return input_grad, jac[:, :, self._num_inputs :]

    def vector_jacobian(
        self, input_data: np.ndarray, weights: np.ndarray, cotangent: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Back-propagation through the QNN: ``cotangent (B, J)`` times the input and weight
        Jacobians, per row: ``(B, inputs)`` and ``(B, W)``. The fast gradient computes it in one
        adjoint sweep; any other contracts :meth:`backward`'s Jacobians."""
        if not isinstance(self.gradient, FastAdjointGradient):
            input_jacobian, weight_jacobian = self.backward(input_data, weights)
            return (
                np.einsum("bj,bjn->bn", cotangent, input_jacobian),
                np.einsum("bj,bjw->bw", cotangent, weight_jacobian),
            )
        values, num_samples = self._preprocess_forward(input_data, weights)
        values = np.asarray(values, dtype=np.float64).reshape(num_samples, -1)
        found = self.gradient.vector_jacobian(self._circuit, self._observables, values, cotangent)
        return found[:, : self._num_inputs], found[:, self._num_inputs :]

    def _validate_backward_output(
        self,
        input_grad: np.ndarray | None,
        weight_grad: np.ndarray | None,
        original_shape: tuple[int, ...],
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Reshape the Jacobians to ``(*batch, J, n)`` and ``(*batch, J, W)``.

        Unlike ``NeuralNetwork``'s version, a Jacobian with no columns (``W = 0``: no circuit
        weights, as at depth 0) stays a zero-size array instead of becoming None, so callers
        contract it like any other and get an empty weight gradient.
        """
        if not original_shape or len(original_shape) < 2:
            return input_grad, weight_grad
        batch = (*original_shape[:-1], *self._output_shape)
        if input_grad is not None:
            input_grad = input_grad.reshape((*batch, self._num_inputs))
        if weight_grad is not None:
            weight_grad = weight_grad.reshape((*batch, self._num_weights))
        return input_grad, weight_grad


class _Expectations(torch.autograd.Function):
    """The QNN as an autograd function: evaluated in float64 on the CPU, returned (and its
    gradients) on the device and in the dtype of each tensor it came from."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        inputs: torch.Tensor,
        weights: torch.Tensor,
        qnn: EstimatorQNN,
    ) -> torch.Tensor:
        ctx.qnn = qnn
        ctx.save_for_backward(inputs, weights)
        values = qnn.forward(_numpy(inputs), _numpy(weights))
        return torch.from_numpy(np.asarray(values, dtype=np.float64)).to(
            device=inputs.device, dtype=inputs.dtype
        )

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        inputs, weights = ctx.saved_tensors
        grad_inputs, grad_weights = ctx.qnn.vector_jacobian(
            _numpy(inputs), _numpy(weights), _numpy(grad_output)
        )
        return (
            torch.from_numpy(grad_inputs).to(device=inputs.device, dtype=inputs.dtype),
            torch.from_numpy(grad_weights.sum(axis=0)).to(
                device=weights.device, dtype=weights.dtype
            ),
            None,
        )


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


class QuantumLayer(TorchConnector):
    """Mari's variational circuit as a torch module: angles ``(B, n)`` -> ``<Z_j>`` ``(B, n)``.

    A ``TorchConnector`` around a :class:`BatchedEstimatorQNN`, with exact gradients for inputs
    and weights. Its only trainable parameter, ``weight``, holds the circuit weights layer-major:
    index ``k * n_qubits + i`` is the RY angle of layer k on qubit i.

    Args:
        n_qubits: number of qubits n.
        q_depth: number of variational layers q.
        q_delta: initial weights are ``q_delta * N(0, 1)`` (torch's global generator).
        backend: see :func:`make_backend`; ``"fast"`` is exact and vectorised.
        shots, seed, noise_model, mitigation: passed to :func:`make_backend`.
        initial_weights: explicit initial weights (length ``q_depth * n_qubits``).
        target: a Qiskit ``BackendV2`` (a real IBM device or a fake one): the circuit is transpiled
            to its native gates and qubit layout, as IBM Runtime estimators require, and the
            observables follow the layout. Use it with ``backend="aer"`` and the device's noise
            model, or with an IBM Runtime ``EstimatorV2`` for that device. With a
            ``noise_model`` the circuit is also scheduled (ALAP, the device's durations): idle
            qubits get ``Delay`` instructions, which ``NoiseModel.from_backend`` relaxes (T1/T2).
        circuit: any circuit as a :class:`~helpers.quantum.circuits.CircuitSpec` (a family of
            :func:`~helpers.quantum.circuits.build_circuit`, or your own) instead of Mari's;
            ``n_qubits`` and ``q_depth`` are then ignored, the inputs, weights and outputs are
            the spec's. The fast backend raises for gates it cannot simulate exactly, naming
            the gate and ``backend="reference"`` or ``"aer"`` as the fallback.

    Example::

        layer = QuantumLayer(n_qubits=4, q_depth=5)
        q_out = layer(torch.rand(8, 4))  # (8, 4) expectation values in [-1, 1]
    """

    def __init__(
        self,
        n_qubits: int = 4,
        q_depth: int = DEFAULT_Q_DEPTH,
        *,
        q_delta: float = 0.01,
        backend: str | BaseEstimatorV2 = "fast",
        shots: int | None = None,
        seed: int | None = None,
        noise_model: object | None = None,
        mitigation: Sequence[str] = (),
        initial_weights: Sequence[float] | torch.Tensor | None = None,
        target: BackendV2 | None = None,
        circuit: CircuitSpec | None = None,
    ) -> None:
        if circuit is None:
            from helpers.quantum.circuits import mari  # circuits builds on this module

            circuit = mari(n_qubits, q_depth)
        self.spec = circuit
        built, inputs, weights = circuit.circuit, circuit.inputs, circuit.weights
        observables = list(circuit.observables)
        n_qubits = built.num_qubits
        circuit = built
        if target is not None:  # an ISA circuit: the device's gates, qubits and layout
            circuit = transpile(
                circuit,
                backend=target,
                optimization_level=1,
                seed_transpiler=0,
                # idle qubits get Delays, on which the noise model's T1/T2 relaxation acts
                scheduling_method=None if noise_model is None else "alap",
            )
            observables = [observable.apply_layout(circuit.layout) for observable in observables]
        chosen = make_backend(
            backend,
            shots=shots,
            seed=seed,
            noise_model=noise_model,
            mitigation=mitigation,
            device=target,
        )
        qnn = BatchedEstimatorQNN(
            circuit=circuit,
            estimator=chosen.estimator,
            gradient=chosen.gradient,
            observables=tuple(observables),
            input_params=list(inputs),
            weight_params=list(weights),
            input_gradients=True,
            default_precision=chosen.precision,
        )
        if initial_weights is None:
            initial_weights = q_delta * torch.randn(len(weights))
        initial = torch.as_tensor(initial_weights, dtype=torch.float).detach().numpy()
        if initial.shape != (len(weights),):
            raise ValueError(
                f"initial_weights must have {len(weights)} entries, got shape {initial.shape}"
            )
        super().__init__(qnn, initial_weights=initial)
        self.n_qubits = n_qubits
        self.n_inputs = len(inputs)
        self.n_outputs = len(observables)
        self.q_depth = q_depth
        self.backend = chosen

    def forward(self, input_data: torch.Tensor | None = None) -> torch.Tensor:
        """<Z_j> for angles ``(..., n)`` on any device and in any floating dtype: the circuit
        runs on the CPU in float64, the result (and the gradients) come back on the input's
        device and dtype."""
        if input_data is None or not input_data.is_floating_point():
            return super().forward(input_data)
        rows = input_data.reshape(-1, self.n_inputs)
        values = _Expectations.apply(rows, self.weight, self.neural_network)
        return values.reshape(*input_data.shape[:-1], -1)

    @torch.no_grad()
    def forward_rows(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """<Z_j> for angles ``(B, n)`` with a different circuit weight vector per row ``(B, W)``."""
        values = self.neural_network.forward_rows(_numpy(inputs), _numpy(weights))
        return torch.from_numpy(values).to(device=inputs.device, dtype=inputs.dtype)

    @property
    def circuit(self) -> QuantumCircuit:
        """The variational circuit (parameters x and w as built, before Qiskit ML renames them)."""
        return self.spec.circuit

    def extra_repr(self) -> str:
        name, backend = self.spec.name, self.backend.name
        return f"circuit={name!r}, n_qubits={self.n_qubits}, backend={backend!r}"
