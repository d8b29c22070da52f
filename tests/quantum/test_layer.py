"""Mari's dressed circuit and QuantumLayer: structure, backends and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.model.heads import DressedQuantumHead
from helpers.quantum import (
    QuantumLayer,
    dressed_circuit,
    make_backend,
)


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
