"""Activation capture with hooks and its cache."""

import math
import re

import pytest
import torch

from helpers.analysis import activations, embedding
from helpers.model.backbone import load_backbone
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import SyntheticObjects, load_splits
from helpers.model.heads import DressedQuantumHead, classical_head


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    backbone = load_backbone("none", seed=0)
    heads = {"hybrid": DressedQuantumHead(4, 2, 2), "classical": classical_head("512_nq_n", 4, 2)}
    return backbone, heads, SyntheticObjects(10, 32, seed=3)


def test_hooks_capture_exactly_the_named_layers_with_their_shapes(parts):
    backbone, heads, dataset = parts
    layers, labels = activations.capture(backbone, heads, dataset, 4, None)
    n = len(dataset)
    expected = {
        "backbone": {
            "input": (n, 3, 32, 32),
            "conv1": (n, 64, 16, 16),
            "layer1": (n, 64, 8, 8),
            "layer2": (n, 128, 4, 4),
            "layer3": (n, 256, 2, 2),
            "layer4": (n, 512, 1, 1),
            "avgpool": (n, 512, 1, 1),
        },
        "hybrid": {"q_pre": (n, 4), "q_in": (n, 4), "q_out": (n, 4), "logits": (n, 2)},
        "classical": {"h_in": (n, 4), "h_out": (n, 4), "logits": (n, 2)},
    }
    assert {g: {k: tuple(v.shape) for k, v in d.items()} for g, d in layers.items()} == expected
    assert labels.tolist() == dataset.targets
    for module in [backbone, *backbone.children(), *heads["hybrid"].children()]:
        assert not module._forward_hooks  # every hook removed


def test_quantum_layer_activations_match_a_recomputation_by_hand(parts):
    backbone, heads, dataset = parts
    layers, _ = activations.capture(backbone, heads, dataset, 4)
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        features = backbone(images)
        head = heads["hybrid"]
        q_pre = head.pre_net(features)
        q_in = torch.tanh(q_pre) * math.pi / 2
        torch.testing.assert_close(layers["backbone"]["avgpool"].flatten(1), features)
        torch.testing.assert_close(layers["hybrid"]["q_pre"], q_pre)
        torch.testing.assert_close(layers["hybrid"]["q_in"], q_in)
        torch.testing.assert_close(layers["hybrid"]["q_out"], head.q_layer(q_in))
        torch.testing.assert_close(layers["hybrid"]["logits"], head(features))
        hidden = heads["classical"].pre_net(features)
        torch.testing.assert_close(layers["classical"]["h_in"], hidden)
        torch.testing.assert_close(layers["classical"]["h_out"], hidden.relu())


def test_spatial_pooling_keeps_at_most_max_features_block_means():
    maps = torch.randn(2, 64, 16, 16)
    pooled = activations.pool_spatial(maps, 4096)
    assert pooled.shape == (2, 64, 8, 8)
    torch.testing.assert_close(pooled[0, 5, 1, 2], maps[0, 5, 2:4, 4:6].mean())
    assert activations.pool_spatial(maps, None) is maps
    vectors = torch.randn(2, 512)
    assert activations.pool_spatial(vectors, 16) is vectors


def test_activations_are_cached_and_keyed_by_the_trained_weights(trained_smoke_cfg, monkeypatch):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    heads = {kind: model.head for kind, model in models.items()}
    val = load_splits(cfg).val
    first = activations.cached_activations(cfg, models["hybrid"].backbone, heads, val, [0, 5, 7])
    assert first.labels.tolist() == [val.targets[i] for i in (0, 5, 7)]

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(activations, "capture", fail)
    again = activations.cached_activations(cfg, models["hybrid"].backbone, heads, val, [0, 5, 7])
    torch.testing.assert_close(again.layers["hybrid"]["q_out"], first.layers["hybrid"]["q_out"])
    changed = {**heads, "hybrid": DressedQuantumHead(4, cfg.q_depth, 2)}
    with pytest.raises(AssertionError, match="recomputed"):
        activations.cached_activations(cfg, models["hybrid"].backbone, changed, val, [0, 5, 7])
    assert first.flat("hybrid", "layer2").shape == (3, 128 * 4 * 4)
    assert list(first.of("classical")) == embedding.layer_order("classical")


def test_truncated_activation_cache_entry_is_discarded_and_captured_again(parts, smoke_cfg):
    backbone, heads, dataset = parts
    first = activations.cached_activations(smoke_cfg, backbone, heads, dataset, [0, 5, 7])
    (path,) = (smoke_cfg.cache_path / "activations").iterdir()
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"{re.escape(str(path))} \(.*central directory"):
        again = activations.cached_activations(smoke_cfg, backbone, heads, dataset, [0, 5, 7])
    for group, layers in first.layers.items():
        for name, values in layers.items():
            torch.testing.assert_close(again.layers[group][name], values)
    assert torch.equal(again.labels, first.labels) and again.indices == [0, 5, 7]
    assert torch.load(path, weights_only=True)["indices"] == [0, 5, 7]


def test_cached_activations_pool_spatial_layers_to_max_features(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    heads = {kind: model.head for kind, model in models.items()}
    val = load_splits(cfg).val
    acts = activations.cached_activations(
        cfg, models["hybrid"].backbone, heads, val, [1, 2], max_features=256
    )
    for name in ("input", "conv1", "layer1", "layer2", "layer3"):
        assert acts.layers["backbone"][name][0].numel() <= 256, name
    assert acts.layers["backbone"]["conv1"].shape == (2, 64, 2, 2)
    assert acts.layers["hybrid"]["q_out"].shape == (2, 4)


def test_unit_layer_is_the_qubits_or_the_hidden_relu_units(parts):
    _, heads, _ = parts
    assert activations.unit_layer(heads["hybrid"], "hybrid") is heads["hybrid"].q_layer
    assert activations.unit_layer(heads["classical"], "classical") is heads["classical"].activation


def test_counterparts_pair_layers_at_the_same_place_in_the_head():
    # the Linear 512 -> 4 outputs before each nonlinearity, then what the last Linear reads
    assert activations.COUNTERPARTS == {"q_pre": "h_in", "q_out": "h_out", "logits": "logits"}
    for dressed, classical in activations.COUNTERPARTS.items():
        assert dressed in activations.HEAD_LAYERS["hybrid"]
        assert dressed in activations.HEAD_LAYERS["product"]
        assert classical in activations.HEAD_LAYERS["classical"]
