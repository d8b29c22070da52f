"""Mari's dressed circuit and QuantumLayer: structure, backends and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.model.heads import DressedQuantumHead
from helpers.quantum import QuantumLayer, dressed_circuit
from helpers.quantum.layer import make_backend

DEPTH_ZERO_CASES = [
    pytest.param(backend, dtype, tol, id=f"{backend}-{str(dtype)[6:]}")
    for backend in ("fast", "reference")
    for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-12))
]


def _product_angles(dtype: torch.dtype, rows: int = 5, n_qubits: int = 4) -> torch.Tensor:
    """Random angles in [-pi/2, pi/2], with the end points in the first row."""
    generator = torch.Generator().manual_seed(5)
    angles = (torch.rand(rows, n_qubits, generator=generator, dtype=torch.float64) * 2 - 1) * (
        math.pi / 2
    )
    angles[0, :2] = torch.tensor([-math.pi / 2, math.pi / 2])
    return angles.to(dtype)


@pytest.mark.parametrize(("backend", "dtype", "tol"), DEPTH_ZERO_CASES)
def test_depth_zero_forward_is_minus_sine(backend: str, dtype: torch.dtype, tol: float):
    # H then RY(x) turns |0> into cos(x)|+> - sin(x)|->..., whose <Z> is -sin(x).
    layer = QuantumLayer(n_qubits=4, q_depth=0, backend=backend)
    angles = _product_angles(dtype)
    out = layer(angles)
    assert out.dtype == dtype
    torch.testing.assert_close(out.detach(), -torch.sin(angles), atol=tol, rtol=0)
    rows = layer.forward_rows(angles, torch.zeros(len(angles), 0))  # zero weights per row
    assert rows.dtype == dtype
    torch.testing.assert_close(rows, -torch.sin(angles), atol=tol, rtol=0)


@pytest.mark.parametrize(("backend", "dtype", "tol"), DEPTH_ZERO_CASES)
def test_depth_zero_backward_gives_minus_cosine_and_an_empty_weight_gradient(
    backend: str, dtype: torch.dtype, tol: float
):
    layer = QuantumLayer(n_qubits=4, q_depth=0, backend=backend)
    assert layer.weight.shape == (0,) and layer.weight.requires_grad
    angles = _product_angles(dtype, rows=3).requires_grad_(True)
    grad_x, grad_w = torch.autograd.grad(layer(angles).sum(), [angles, layer.weight])
    torch.testing.assert_close(grad_x, -torch.cos(angles.detach()), atol=tol, rtol=0)
    assert grad_w.shape == (0,)
    # The full Jacobian d<Z_j>/dx_k is diagonal (a product state), per sample as well.
    jacobian = torch.autograd.functional.jacobian(layer, angles.detach())  # (B, n, B, n)
    expected = torch.zeros_like(jacobian)
    for b in range(len(angles)):
        expected[b, :, b, :] = torch.diag(-torch.cos(angles.detach()[b]))
    torch.testing.assert_close(jacobian, expected, atol=tol, rtol=0)
    layer(angles).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.shape == (0,)
    if dtype == torch.float64:
        assert torch.autograd.gradcheck(layer, (angles,), raise_exception=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_depth_zero_dressed_head_trains_without_circuit_weights(dtype: torch.dtype):
    torch.manual_seed(3)
    head = DressedQuantumHead(n_qubits=4, q_depth=0).to(dtype)
    assert sum(p.numel() for p in head.q_layer.parameters() if p.requires_grad) == 0
    features = torch.randn(32, 512, dtype=dtype)
    labels = (features @ torch.randn(512, dtype=dtype) > 0).long()  # linearly separable
    optimizer = torch.optim.Adam(head.parameters(), lr=0.02)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(features), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert head.q_layer.weight.grad.shape == (0,)
    assert head.pre_net.weight.grad.abs().sum() > 0  # gradients flow through the circuit
    assert losses[-1] < 0.8 * losses[0], losses


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


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_forward_returns_the_input_dtype_and_gradients_cross_the_cpu_boundary(dtype):
    weights = 0.6 * torch.randn(8, generator=torch.Generator().manual_seed(2))
    layer = QuantumLayer(4, 2, initial_weights=weights)
    angles = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(3)) - 0.5
    reference = angles.double().requires_grad_(True)
    layer(reference).pow(2).sum().backward()
    expected_weight_grad = layer.weight.grad.clone()
    layer.weight.grad = None
    low = angles.to(dtype).requires_grad_(True)
    out = layer(low)
    assert out.dtype == dtype and out.shape == (2, 3, 4) and out.device == low.device
    out.float().pow(2).sum().backward()
    assert low.grad.dtype == dtype and layer.weight.grad.dtype == torch.float32
    tol = 1e-5 if dtype == torch.float32 else 0.05
    torch.testing.assert_close(low.grad.double(), reference.grad, atol=tol, rtol=tol)
    torch.testing.assert_close(
        layer.weight.grad.double(), expected_weight_grad.double(), atol=tol * 10, rtol=tol
    )
