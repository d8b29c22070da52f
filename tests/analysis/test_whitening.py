"""ZCA whitening, spectra and participation ratio of notebook 05."""

import numpy as np
import pytest
import torch

from helpers.analysis import embedding, whitening
from helpers.analysis.activations import COUNTERPARTS, cached_activations
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits
from helpers.present.whitening import describe_whitening


def _correlated(n=4000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d))
    return rng.standard_normal((n, d)) @ mixing + rng.standard_normal(d) * 3


def test_zca_whitened_activations_have_identity_covariance_and_w_is_symmetric():
    x = _correlated()
    zca = whitening.fit_zca(x)
    np.testing.assert_allclose(zca.matrix, zca.matrix.T, atol=1e-12)
    np.testing.assert_allclose(whitening.covariance(zca(x)), np.eye(6), atol=1e-3)
    np.testing.assert_allclose(zca(x).mean(axis=0), 0, atol=1e-10)
    cov = whitening.covariance(x)
    np.testing.assert_allclose(zca.matrix @ cov @ zca.matrix, np.eye(6), atol=1e-3)
    eigenvalues = np.linalg.eigvalsh(zca.matrix)
    assert (eigenvalues > 0).all()  # W = C^(-1/2) is positive definite: ZCA, not PCA whitening
    assert whitening.fit_zca(torch.tensor(x)).matrix == pytest.approx(zca.matrix)


def test_zca_epsilon_regularises_a_rank_deficient_covariance():
    x = _correlated(d=3)
    x = np.hstack([x, x[:, :1]])  # a duplicated unit: singular covariance
    zca = whitening.fit_zca(x, epsilon=1e-3)
    assert np.isfinite(zca.matrix).all()
    assert np.abs(zca(x)).max() < 1e3


def test_participation_ratio_counts_effective_dimensions():
    n = 7
    isotropic = np.vstack([np.eye(n), -np.eye(n)])  # centred, covariance proportional to I
    assert whitening.participation_ratio(whitening.spectrum(isotropic)) == pytest.approx(n)
    rank_one = np.linspace(-1, 1, 50)[:, None] * np.arange(1, n + 1)
    assert whitening.participation_ratio(whitening.spectrum(rank_one)) == pytest.approx(1.0)
    assert whitening.participation_ratio(np.ones(5)) == pytest.approx(5.0)
    assert np.isnan(whitening.participation_ratio(np.zeros(3)))
    x = _correlated(n=300)
    np.testing.assert_allclose(
        whitening.spectrum(x)[:6], np.sort(np.linalg.eigvalsh(whitening.covariance(x)))[::-1]
    )


def test_correlation_of_a_constant_unit_is_zero_off_the_diagonal():
    x = np.column_stack([np.arange(10.0), np.ones(10), -np.arange(10.0)])
    corr = whitening.correlation(x)
    np.testing.assert_allclose(corr, [[1, 0, -1], [0, 1, 0], [-1, 0, 1]], atol=1e-12)
    assert whitening.mean_abs_offdiagonal(corr) == pytest.approx(2 / 6)


def test_manifold_summary_on_the_trained_smoke_models(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    heads = {kind: model.head for kind, model in models.items()}
    acts = cached_activations(
        cfg, models["hybrid"].backbone, heads, load_splits(cfg).val, range(48)
    )
    spectra = whitening.layer_spectra(acts)
    assert spectra["hybrid"]["layer2"] is spectra["classical"]["layer2"]  # decomposed once
    rows = whitening.dimensionality_table(acts, spectra)
    assert len(rows) == 20
    for kind in ("classical", "hybrid"):
        layers = [row["layer"] for row in rows if row["model"] == kind]
        assert layers == embedding.layer_order(kind)
    for row in rows:
        assert 1 - 1e-9 <= row["participation_ratio"] <= row["dimensions"] + 1e-9
    summary = whitening.compare_heads(acts.layers, COUNTERPARTS)
    assert [(c.hybrid_layer, c.classical_layer) for c in summary.comparisons] == [
        ("q_in", "h_in"),
        ("q_in", "h_in"),
        ("q_out", "h_out"),
        ("q_out", "h_out"),
    ]
    q_out = acts.flat("hybrid", "q_out")
    assert summary.comparisons[2].hybrid[0] == pytest.approx(whitening.effective_dimensions(q_out))
    assert summary.comparisons[3].hybrid[0] == pytest.approx(whitening.unit_coupling(q_out))
    assert all(c.hybrid[1] > 0 and c.classical[1] >= 0 for c in summary.comparisons)
    text = describe_whitening(summary)
    assert "q_out" in text and "h_out" in text and "avgpool" in text
    layout = embedding.umap_layout(acts.flat("hybrid", "q_out"), seed=0)
    assert layout.shape == (48, 2)
    np.testing.assert_allclose(layout, embedding.umap_layout(acts.flat("hybrid", "q_out"), seed=0))
