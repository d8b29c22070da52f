"""Layouts (t-SNE, UMAP), separability metrics and the activation atlas of notebooks 04-05."""

import numpy as np
import pytest
import torch

from helpers.analysis import activations, embedding, separability
from helpers.analysis.atlas import activation_atlas
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits
from helpers.present import embedding as draw


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
    assert len(rows) == sum(len(embedding.layer_order(kind)) for kind in heads)
    by_key = {(row["model"], row["layer"]): row for row in rows}
    assert (
        by_key[("hybrid", "layer3")]["knn_accuracy"]
        == by_key[("classical", "layer3")]["knn_accuracy"]
    )
    assert by_key[("hybrid", "q_out")]["knn_accuracy"] > 0.8  # the trained smoke head separates
    text = draw.describe_separability(rows)
    assert "input" in text and "avgpool" in text  # the backbone trend; heads: over seeds


def test_atlas_assigns_every_sample_to_one_cell_and_averages_its_images():
    rng = np.random.default_rng(0)
    layout = rng.uniform(-3, 5, (200, 2))
    layout[0] = layout.max(axis=0)  # the corners must fall inside the grid
    layout[1] = layout.min(axis=0)
    images = torch.randn(200, 3, 4, 4)
    labels = torch.tensor(rng.integers(0, 2, 200))
    atlas = activation_atlas(layout, images, labels, grid=5)
    assert atlas.cell_of.shape == (200,) and atlas.counts.sum() == 200
    assert ((atlas.cell_of >= 0) & (atlas.cell_of < 25)).all()
    for cell in range(25):
        members = atlas.cell_of == cell
        assert atlas.counts[cell] == members.sum()
        if members.any():
            torch.testing.assert_close(atlas.images[cell], images[members].mean(0))
            votes = np.bincount(labels.numpy()[members], minlength=2)
            assert votes[atlas.dominant[cell]] == votes.max()
            assert atlas.purity[cell] == pytest.approx(votes.max() / members.sum())
        else:
            assert atlas.dominant[cell] == -1
    top_left = np.array([layout[:, 0].min(), layout[:, 1].max()])
    nearest = np.argmin(np.abs(layout - top_left).sum(axis=1))
    assert atlas.cell_of[nearest] == 0  # row 0 is the top of the layout
    assert atlas.occupied == int((atlas.counts > 0).sum())
    weighted = sum(atlas.purity[c] * atlas.counts[c] for c in range(25) if atlas.counts[c]) / 200
    assert atlas.weighted_purity == pytest.approx(weighted)


def test_head_separability_does_not_depend_on_a_units_scale():
    values, labels = _blobs(n=80)
    layers = {"backbone": {}, "classical": {"h_out": values}}
    scaled = {"backbone": {}, "classical": {"h_out": values * torch.linspace(0.1, 10, 10)}}
    first = embedding.head_separability(activations.Activations(layers, labels, list(range(80))))
    second = embedding.head_separability(activations.Activations(scaled, labels, list(range(80))))
    assert first["classical"]["h_out"] == pytest.approx(second["classical"]["h_out"])
    np.testing.assert_allclose(embedding.standardised(values).std(axis=0), 1.0)


def test_separability_is_compared_over_seeds_and_images():
    values, labels = _blobs(n=80)
    noisy = values + torch.randn(80, 10, generator=torch.Generator().manual_seed(0)) * 3

    def layers(classical: torch.Tensor, hybrid: torch.Tensor) -> dict:
        return {"backbone": {}, "classical": {"h_out": classical}, "hybrid": {"q_out": hybrid}}

    per_seed = {s: activations.Activations(layers(values, noisy), labels, list(range(80)))
                for s in (0, 1, 2)}  # fmt: skip
    train_values, train_labels = _blobs(n=120, seed=1)
    noise = torch.randn(120, 10, generator=torch.Generator().manual_seed(1))
    train_noisy = train_values + noise * 3
    references = {s: activations.Activations(layers(train_values, train_noisy), train_labels,
                                             list(range(120))) for s in (0, 1, 2)}  # fmt: skip
    results = embedding.separability_results(per_seed, references, margin=0.05)
    knn = results.family.comparisons[
        "knn_accuracy of the units against the training images (q_out / h_out), hybrid vs classical"
    ]
    assert (knn.unit, knn.n, knn.n_images, knn.margin) == ("seeds × images", 3, 80, 0.05)
    assert knn.difference < 0  # the noisy layer separates worse
    correct = separability.unit_knn_correct(per_seed[0], references[0])
    assert knn.difference == pytest.approx(correct["hybrid"].mean() - correct["classical"].mean())
    sil = results.family.comparisons["silhouette of the units (q_out / h_out), hybrid vs classical"]
    assert (sil.unit, sil.n_images) == ("seeds × image groups", 20)
    row = results.number("silhouette", model="hybrid", layer="q_out")
    assert row["mean"] == pytest.approx(
        embedding.silhouette(embedding.standardised(noisy), labels)[0]
    )
    pseudo = separability.unit_silhouette_pseudo_values(per_seed[0])
    assert pseudo["hybrid"].shape == (20,)
    # the pseudo-values' mean is the jackknife's bias-corrected silhouette: near the plain one
    assert pseudo["hybrid"].mean() == pytest.approx(row["mean"], abs=0.02)


def test_reference_knn_scores_each_query_alone_on_the_references_scale():
    values, labels = _blobs(n=60, separation=6.0)
    queries = torch.tensor([[1.0] + [0.0] * 9, [5.0] + [0.0] * 9, [5.0] + [0.0] * 9])
    query_labels = torch.tensor([0, 1, 0])
    got = separability.reference_knn_correct(values, labels, queries, query_labels)
    np.testing.assert_array_equal(got, [1.0, 1.0, 0.0])
    # each query's score is its own (not a function of the other queries) ...
    alone = [separability.reference_knn_correct(values, labels, queries[i : i + 1],
                                                query_labels[i : i + 1])[0]
             for i in range(3)]  # fmt: skip
    np.testing.assert_array_equal(got, alone)
    # ... and no unit's scale matters (a noise unit × 1000 would decide raw distances)
    scale = torch.ones(10)
    scale[1] = 1000.0
    scaled = separability.reference_knn_correct(values * scale, labels, queries * scale,
                                                query_labels)  # fmt: skip
    np.testing.assert_array_equal(got, scaled)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_a_layer_equal_for_every_image_is_laid_out_at_the_origin_not_crashed_on(method):
    """All-off ReLU units (seen at 224 px with random weights) made scikit-learn's t-SNE
    segfault the kernel."""
    dead = torch.zeros(40, 4)
    layout = {"tsne": embedding.tsne, "umap": embedding.umap_layout}[method]
    with pytest.warns(UserWarning, match="same for every image"):
        result = layout(dead)
    assert result.shape == (40, 2) and not result.any()
