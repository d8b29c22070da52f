"""The fast exact quantum path against Qiskit's reference primitives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import Operator, SparsePauliOp
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.neural_networks import EstimatorQNN
from scipy.linalg import expm

from helpers.heads import DressedQuantumHead
from helpers.quantum import (
    BatchedEstimatorQNN,
    FastAdjointGradient,
    FastStatevectorEstimator,
    QuantumLayer,
    UnsupportedCircuitError,
    compile_circuit,
    dressed_circuit,
    make_backend,
    z_observables,
)
from helpers.quantum.simulator import ROTATION_GENERATORS, compile_observables

FIXED_1Q = ("h", "x", "y", "z", "s", "sdg", "t", "sx")
FIXED_2Q = ("cx", "cy", "cz", "swap")
ROTATIONS_1Q = ("rx", "ry", "rz", "p")
ROTATIONS_2Q = ("rxx", "ryy", "rzz", "rzx", "crx", "cry", "crz", "cp")
TOLERANCE = 1e-6


@st.composite
def random_qnn_circuits(draw):
    """A random circuit on 1-6 qubits, 0-8 gate layers, with input and weight parameters."""
    n_qubits = draw(st.integers(1, 6))
    depth = draw(st.integers(0, 8))
    n_inputs, n_weights = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    inputs, weights = ParameterVector("x", n_inputs), ParameterVector("w", n_weights)
    pool = list(inputs) + list(weights)
    circuit = QuantumCircuit(n_qubits)
    for qubit in range(n_qubits):  # every parameter appears at least once
        circuit.ry(pool[qubit % len(pool)], qubit)
    for param in pool[n_qubits:]:
        circuit.rx(param, draw(st.integers(0, n_qubits - 1)))
    for _ in range(depth):
        for _ in range(draw(st.integers(1, n_qubits))):
            two_qubit = n_qubits > 1 and draw(st.booleans())
            names = (FIXED_2Q + ROTATIONS_2Q) if two_qubit else (FIXED_1Q + ROTATIONS_1Q)
            name = draw(st.sampled_from(names))
            qubits = draw(
                st.lists(
                    st.integers(0, n_qubits - 1),
                    min_size=2 if two_qubit else 1,
                    max_size=2 if two_qubit else 1,
                    unique=True,
                )
            )
            if name in ROTATIONS_1Q + ROTATIONS_2Q:
                param = draw(st.sampled_from(pool))
                angle = draw(st.sampled_from([param, 2 * param - 0.4, 0.7]))
                getattr(circuit, name)(angle, *qubits)
            else:
                getattr(circuit, name)(*qubits)
    labels = st.text(alphabet="IXYZ", min_size=n_qubits, max_size=n_qubits)
    observables = [SparsePauliOp(label) for label in draw(st.lists(labels, min_size=1, max_size=3))]
    return circuit, list(inputs), list(weights), observables


def _reference_qnn(circuit, inputs, weights, observables):
    estimator = StatevectorEstimator(default_precision=0.0)
    return EstimatorQNN(
        circuit=circuit,
        estimator=estimator,
        observables=observables,
        input_params=inputs,
        weight_params=weights,
        input_gradients=True,
        gradient=ParamShiftEstimatorGradient(estimator),
        default_precision=0.0,
    )


def _fast_qnn(circuit, inputs, weights, observables):
    backend = make_backend("fast")
    return BatchedEstimatorQNN(
        circuit=circuit,
        estimator=backend.estimator,
        gradient=backend.gradient,
        observables=observables,
        input_params=inputs,
        weight_params=weights,
        input_gradients=True,
        default_precision=0.0,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_qnn_circuits(), seed=st.integers(0, 2**16))
def test_random_circuits_match_statevector_estimator_and_param_shift(case, seed):
    circuit, inputs, weights, observables = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(-math.pi, math.pi, (3, len(inputs)))
    w = rng.uniform(-math.pi, math.pi, len(weights))
    reference = _reference_qnn(circuit, inputs, weights, observables)
    fast = _fast_qnn(circuit, inputs, weights, observables)
    np.testing.assert_allclose(fast.forward(x, w), reference.forward(x, w), atol=TOLERANCE)
    for got, want in zip(fast.backward(x, w), reference.backward(x, w), strict=True):
        np.testing.assert_allclose(got, want, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(ROTATION_GENERATORS))
def test_rotation_generators_follow_qiskit_matrices(name):
    gate = type(get_standard_gate_name_mapping()[name])(0.37)
    circuit = QuantumCircuit(gate.num_qubits)
    circuit.append(gate, range(gate.num_qubits))
    expected = expm(-0.5j * 0.37 * ROTATION_GENERATORS[name])
    np.testing.assert_allclose(Operator(circuit).data, expected, atol=1e-12)


def test_depth_zero_circuit_gives_minus_sine():
    # H then RY(x) turns |0> into cos(x)|+> - sin(x)|->..., whose <Z> is -sin(x).
    layer = QuantumLayer(n_qubits=4, q_depth=0)
    angles = torch.tensor([[0.3, -1.2, 0.0, math.pi / 2], [1.0, 0.5, -0.5, -math.pi / 2]])
    np.testing.assert_allclose(layer(angles).detach().numpy(), -np.sin(angles.numpy()), atol=1e-6)


def test_qubit_j_is_qiskit_qubit_index_j():
    # Depth 1 on 2 qubits: CNOT(0, 1) then RY(w) layer. With w = 0 and x = (a, 0) qubit 1's
    # <Z> becomes <Z0 Z1> of the product state, which is 0, while qubit 0 keeps -sin(a).
    layer = QuantumLayer(n_qubits=2, q_depth=1, initial_weights=[0.0, 0.0])
    out = layer(torch.tensor([[0.8, 0.0]]))
    np.testing.assert_allclose(out.detach().numpy(), [[-math.sin(0.8), 0.0]], atol=1e-6)


def test_dressed_circuit_structure_and_weight_order():
    circuit, inputs, weights = dressed_circuit(n_qubits=4, q_depth=2)
    ops = [
        (
            inst.operation.name,
            [circuit.find_bit(q).index for q in inst.qubits],
            inst.operation.params,
        )
        for inst in circuit.data
    ]
    assert [name for name, _, _ in ops[:8]] == ["h"] * 4 + ["ry"] * 4
    layer_ops = ops[8:15]
    assert [(n, q) for n, q, _ in layer_ops[:3]] == [("cx", [0, 1]), ("cx", [2, 3]), ("cx", [1, 2])]
    assert [p[0] for _, _, p in layer_ops[3:]] == list(weights[0:4])
    assert [p[0] for _, _, p in ops[18:22]] == list(weights[4:8])
    assert len(inputs) == 4 and len(weights) == 8


def test_quantum_layer_weight_layout_and_reference_agreement():
    torch.manual_seed(1)
    weights = 0.8 * torch.randn(12)
    angles = torch.rand(5, 4) * 2 - 1
    results = []
    for backend in ("fast", "reference"):
        layer = QuantumLayer(n_qubits=4, q_depth=3, backend=backend, initial_weights=weights)
        assert [name for name, _ in layer.named_parameters()] == ["weight"]
        x = angles.clone().requires_grad_(True)
        out = layer(x)
        (out * torch.arange(1.0, 5.0)).sum().backward()
        results.append((out.detach(), x.grad, layer.weight.grad))
    for fast, reference in zip(*results, strict=True):
        torch.testing.assert_close(fast, reference, atol=1e-6, rtol=0)


def test_aer_backend_exact_agrees_and_shots_are_noisy():
    angles = torch.rand(4, 4)
    weights = 0.5 * torch.randn(8)
    exact = QuantumLayer(4, 2, initial_weights=weights)(angles)
    aer = QuantumLayer(4, 2, backend="aer", initial_weights=weights)(angles)
    torch.testing.assert_close(aer, exact, atol=1e-6, rtol=0)
    shots = QuantumLayer(4, 2, backend="aer", shots=256, seed=3, initial_weights=weights)(angles)
    error = (shots - exact).abs().max().item()
    assert 0 < error < 0.5


def test_backend_errors_are_clear():
    with pytest.raises(ValueError, match="'fast' is exact"):
        make_backend("fast", shots=100)
    with pytest.raises(ValueError, match="backend='gpu' is unknown"):
        make_backend("gpu")


def test_estimator_follows_v2_broadcasting():
    circuit, _inputs, _weights = dressed_circuit(3, 2)
    observables = z_observables(3)
    values = np.random.default_rng(0).uniform(-1, 1, (5, 1, circuit.num_parameters))
    fast = FastStatevectorEstimator().run([(circuit, observables, values)]).result()[0]
    ref = StatevectorEstimator().run([(circuit, observables, values)]).result()[0]
    assert fast.data.evs.shape == ref.data.evs.shape == (5, 3)
    np.testing.assert_allclose(fast.data.evs, ref.data.evs, atol=1e-12)
    assert np.all(fast.data.stds == 0)
    # one observable against a 1-d batch, and a bound circuit with no parameters
    single = FastStatevectorEstimator().run([(circuit, observables[1], values[:, 0])]).result()
    np.testing.assert_allclose(single[0].data.evs, ref.data.evs[:, 1], atol=1e-12)
    bound = circuit.assign_parameters(values[0, 0])
    scalar = FastStatevectorEstimator().run([(bound, observables[2])]).result()[0].data.evs
    np.testing.assert_allclose(scalar, ref.data.evs[0, 2], atol=1e-12)


def test_gradient_run_matches_param_shift_for_mixed_circuit_lists():
    circuit, _, _ = dressed_circuit(2, 2)
    other = QuantumCircuit(2)
    theta = ParameterVector("t", 2)
    other.rx(theta[0], 0)
    other.crz(theta[1], 0, 1)
    other.h(1)
    circuits = [circuit, other, circuit]
    observables = [SparsePauliOp("ZI"), SparsePauliOp("XY"), SparsePauliOp("IZ")]
    rng = np.random.default_rng(2)
    values = [rng.uniform(-2, 2, c.num_parameters) for c in circuits]
    parameters = [None, [theta[1]], list(circuit.parameters)[:3]]
    fast = FastAdjointGradient().run(circuits, observables, values, parameters).result()
    reference_estimator = StatevectorEstimator(default_precision=0.0)
    reference = (
        ParamShiftEstimatorGradient(reference_estimator)
        .run(circuits, observables, values, parameters)
        .result()
    )
    for got, want in zip(fast.gradients, reference.gradients, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_unsupported_instructions_fail_clearly():
    estimator = FastStatevectorEstimator()
    theta = ParameterVector("t", 3)
    circuit = QuantumCircuit(1)
    circuit.u(theta[0], theta[1], theta[2], 0)
    with pytest.raises(UnsupportedCircuitError, match="parametrised gate 'u' is not supported"):
        estimator.run([(circuit, SparsePauliOp("Z"), [0.1, 0.2, 0.3])]).result()
    measured = QuantumCircuit(1, 1)
    measured.measure(0, 0)
    with pytest.raises(UnsupportedCircuitError, match="measurements"):
        compile_circuit(measured)
    nonlinear = QuantumCircuit(1)
    nonlinear.ry(theta[0] * theta[0], 0)
    with pytest.raises(UnsupportedCircuitError, match="not affine"):
        compile_circuit(nonlinear)


def test_real_circuits_use_real_arithmetic():
    assert compile_circuit(dressed_circuit(4, 6)[0]).real
    complex_circuit = QuantumCircuit(1)
    complex_circuit.rx(ParameterVector("t", 1)[0], 0)
    assert not compile_circuit(complex_circuit).real


def test_dressed_head_gradients_through_torch_connector_match_finite_differences():
    torch.manual_seed(0)
    head = DressedQuantumHead(n_qubits=4, q_depth=2, n_classes=2, q_delta=0.5)
    features = torch.randn(3, 512) * 0.1

    def loss_fn() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(head(features), torch.tensor([0, 1, 1]))

    params = [features.requires_grad_(True), *head.parameters()]
    analytic = torch.autograd.grad(loss_fn(), params)
    step = 1e-2
    generator = torch.Generator().manual_seed(0)
    for param, grad in zip(params, analytic, strict=True):
        flat = param.data.view(-1)
        for index in torch.randperm(flat.numel(), generator=generator)[:6].tolist():
            original = flat[index].item()
            flat[index] = original + step
            plus = loss_fn().item()
            flat[index] = original - step
            minus = loss_fn().item()
            flat[index] = original
            numeric = (plus - minus) / (2 * step)
            assert abs(numeric - grad.view(-1)[index].item()) < 2e-4 + 2e-3 * abs(numeric)


@pytest.mark.filterwarnings("ignore:Input #0 requires gradient:UserWarning")
def test_torch_gradcheck_on_quantum_layer_inputs():
    layer = QuantumLayer(n_qubits=3, q_depth=2, initial_weights=0.7 * torch.randn(6))
    angles = torch.rand(2, 3, requires_grad=True)
    assert torch.autograd.gradcheck(
        layer, (angles,), eps=1e-3, atol=2e-3, rtol=1e-2, fast_mode=False, raise_exception=True
    )


def _shared_weight_values(rng, n_rows, n_inputs, n_weights):
    """Rows of [inputs, weights] with the weights shared, as a QNN batch has them."""
    inputs = rng.uniform(-math.pi, math.pi, (n_rows, n_inputs))
    weights = np.broadcast_to(rng.uniform(-math.pi, math.pi, n_weights), (n_rows, n_weights))
    return np.concatenate([inputs, weights], axis=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_qnn_circuits(), seed=st.integers(0, 2**16))
def test_heisenberg_path_matches_the_adjoint_sweep(case, seed):
    circuit, inputs, weights, observables = case
    if circuit.num_qubits > 4:
        return
    qnn = _fast_qnn(circuit, inputs, weights, observables)
    program = compile_circuit(qnn._circuit)
    compiled = compile_observables(observables, circuit.num_qubits)
    n_rows = 4 * 4**circuit.num_qubits + 1  # enough rows for the Heisenberg path to pay
    values = _shared_weight_values(np.random.default_rng(seed), n_rows, len(inputs), len(weights))
    fast = program._heisenberg(values, compiled, with_jacobian=True)
    has_shared_suffix = any(
        slot >= 0 for slot in program._rotation_slots[program._shared_suffix_start(values) :]
    )
    assert (fast is not None) == has_shared_suffix
    evs, jac = program.jacobian(values, compiled)
    np.testing.assert_allclose(program.expectation_values(values, compiled), evs, atol=1e-12)
    reference_evs, reference_jac = program._chunk_jacobian(values, compiled)
    np.testing.assert_allclose(evs, reference_evs, atol=1e-12)
    np.testing.assert_allclose(jac, reference_jac, atol=1e-12)


def test_large_batches_match_qiskit_reference():
    # 2 qubits: the Heisenberg path takes over from 2 * 4**2 = 32 rows on.
    circuit, inputs, weights = dressed_circuit(2, 3)
    for observables in (z_observables(2), [SparsePauliOp("XY"), SparsePauliOp("YI")]):
        values = _shared_weight_values(np.random.default_rng(5), 40, 2, 6)
        fast = _fast_qnn(circuit, list(inputs), list(weights), observables)
        reference = _reference_qnn(circuit, list(inputs), list(weights), observables)
        x, w = values[:, :2], values[0, 2:]
        np.testing.assert_allclose(fast.forward(x, w), reference.forward(x, w), atol=TOLERANCE)
        for got, want in zip(fast.backward(x, w), reference.backward(x, w), strict=True):
            np.testing.assert_allclose(got, want, atol=TOLERANCE)


def test_float64_layer_and_per_row_weights_match_the_qiskit_reference():
    """The float64 path (used for Hessians) and forward_rows (landscape grids) against Qiskit."""
    torch.manual_seed(2)
    weights = 0.8 * torch.randn(12)
    angles = (torch.rand(5, 4) * 2 - 1).double()
    reference = QuantumLayer(n_qubits=4, q_depth=3, backend="reference", initial_weights=weights)
    x_ref = angles.float().clone().requires_grad_(True)
    out_ref = reference(x_ref)
    (out_ref * torch.arange(1.0, 5.0)).sum().backward()
    layer = QuantumLayer(n_qubits=4, q_depth=3, initial_weights=weights).double()
    x = angles.clone().requires_grad_(True)
    out = layer(x)
    assert out.dtype == torch.float64
    (out * torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
    torch.testing.assert_close(out.float().detach(), out_ref.detach(), atol=1e-6, rtol=0)
    torch.testing.assert_close(x.grad.float(), x_ref.grad, atol=1e-6, rtol=0)
    torch.testing.assert_close(layer.weight.grad.float(), reference.weight.grad, atol=1e-6, rtol=0)
    assert torch.autograd.gradcheck(lambda a: layer(a), (angles[:2].clone().requires_grad_(True),))

    row_weights = torch.randn(5, 12)
    rows = layer.float().forward_rows(angles.float(), row_weights)
    for i in range(5):
        single = QuantumLayer(4, 3, backend="reference", initial_weights=row_weights[i])
        torch.testing.assert_close(rows[i], single(angles[i : i + 1].float())[0], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="weight rows"):
        layer.forward_rows(angles.float(), row_weights[:3])
