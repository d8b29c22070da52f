import math

import pytest
import torch

from helpers.config import Config
from helpers.model.heads import DressedQuantumHead, TransferModel, build_head, classical_head


@pytest.mark.parametrize(
    ("name", "n_params"),
    [
        ("512_n", 512 * 2 + 2),
        ("512_nq_n", 512 * 4 + 4 + 4 * 2 + 2),
        ("551_512_n", 512 * 512 + 512 + 512 * 2 + 2),
    ],
)
def test_classical_heads_match_mari(name, n_params):
    head = classical_head(name, n_qubits=4, n_classes=2)
    assert sum(p.numel() for p in head.parameters()) == n_params
    assert head(torch.randn(5, 512)).shape == (5, 2)


def test_hybrid_head_shapes_gradients_and_hook_points():
    torch.manual_seed(0)
    head = DressedQuantumHead(n_qubits=4, q_depth=3, n_classes=3)
    assert head.q_layer.weight.shape == (12,)
    assert head.q_layer.weight.abs().max() < 0.1  # q_delta * N(0, 1)
    features = torch.randn(6, 512)
    q_in = head.encode(head.pre_net(features))
    assert q_in.abs().max() < math.pi / 2
    logits = head(features)
    assert logits.shape == (6, 3)
    logits.sum().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_build_head_and_transfer_model(smoke_cfg):
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 512))
    for kind in ("classical", "hybrid"):
        model = TransferModel(backbone, build_head(kind, smoke_cfg))
        assert model(torch.randn(2, 3, 2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="kind='quantum' is unknown"):
        build_head("quantum", Config())
