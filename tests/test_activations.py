"""Activation capture with hooks, its cache, and the separability metrics of notebook 04."""

import math

import numpy as np
import pytest
import torch

from helpers import activations, embedding
from helpers.backbone import load_backbone
from helpers.data import SyntheticObjects, load_splits
from helpers.heads import DressedQuantumHead, classical_head
from helpers.train import load_trained_models


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    backbone = load_backbone("none", seed=0)
    heads = {"hybrid": DressedQuantumHead(4, 2, 2), "classical": classical_head("512_nq_n", 4, 2)}
    return backbone, heads, SyntheticObjects(10, 32, seed=3)


def test_hooks_capture_exactly_the_named_layers_with_their_shapes(parts):
    backbone, heads, dataset = parts
    layers, labels = activations.capture(backbone, heads, dataset, 4, None, progress=False)
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
        "hybrid": {"q_in": (n, 4), "q_out": (n, 4), "logits": (n, 2)},
        "classical": {"h_in": (n, 4), "h_out": (n, 4), "logits": (n, 2)},
    }
    assert {g: {k: tuple(v.shape) for k, v in d.items()} for g, d in layers.items()} == expected
    assert labels.tolist() == dataset.targets
    for module in [backbone, *backbone.children(), *heads["hybrid"].children()]:
        assert not module._forward_hooks  # every hook removed


def test_quantum_layer_activations_match_a_recomputation_by_hand(parts):
    backbone, heads, dataset = parts
    layers, _ = activations.capture(backbone, heads, dataset, 4, progress=False)
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        features = backbone(images)
        head = heads["hybrid"]
        q_in = torch.tanh(head.pre_net(features)) * math.pi / 2
        torch.testing.assert_close(layers["backbone"]["avgpool"].flatten(1), features)
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


def _blobs(seed=0, n=120, separation=6.0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    values = rng.standard_normal((n, 10))
    values[:, 0] += separation * labels
    return torch.tensor(values), torch.tensor(labels)


def test_separability_metrics_rank_a_separable_set_above_a_shuffled_one():
    values, labels = _blobs()
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    knn, knn_se = embedding.knn_accuracy(values, labels)
    knn_shuffled, _ = embedding.knn_accuracy(values, shuffled)
    assert knn > 0.95 and 0 < knn_se < 0.05 and knn_shuffled < 0.7
    sil, _ = embedding.silhouette(values, labels)
    sil_shuffled, _ = embedding.silhouette(values, shuffled)
    assert sil > 0.3 > sil_shuffled
    assert np.isnan(embedding.silhouette(torch.zeros(6, 3), torch.tensor([0, 1] * 3))[0])


def test_tsne_is_seeded_and_trustworthiness_ranks_layouts():
    values, _ = _blobs(n=60)
    layout = embedding.tsne(values, perplexity=10, seed=1)
    assert layout.shape == (60, 2)
    np.testing.assert_allclose(layout, embedding.tsne(values, perplexity=10, seed=1))
    random_layout = np.random.default_rng(0).standard_normal((60, 2))
    assert embedding.layout_trustworthiness(values, layout) > embedding.layout_trustworthiness(
        values, random_layout
    )
    planar = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    assert embedding.layout_trustworthiness(planar, planar.numpy()) == pytest.approx(1.0)


def test_separability_table_covers_every_layer_and_shares_the_backbone(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    heads = {kind: model.head for kind, model in models.items()}
    val = load_splits(cfg).val
    acts = activations.cached_activations(cfg, models["hybrid"].backbone, heads, val, range(40))
    layouts = embedding.embed_layers(acts, "tsne", perplexity=5, seed=0)
    assert layouts["hybrid"]["conv1"] is layouts["classical"]["conv1"]  # embedded once
    rows = embedding.separability_table(acts, layouts)
    assert len(rows) == 2 * len(embedding.layer_order("hybrid"))
    by_key = {(row["model"], row["layer"]): row for row in rows}
    assert (
        by_key[("hybrid", "layer3")]["knn_accuracy"]
        == by_key[("classical", "layer3")]["knn_accuracy"]
    )
    assert by_key[("hybrid", "q_out")]["knn_accuracy"] > 0.8  # the trained smoke head separates
    text = embedding.describe_separability(rows)
    assert "q_out" in text and "h_out" in text
