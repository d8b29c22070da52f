"""ZCA whitening, spectra and participation ratio of notebook 05."""

import numpy as np
import pytest
import torch

from helpers.analysis import embedding, whitening
from helpers.analysis.activations import (
    BACKBONE_LAYERS,
    HEAD_LAYERS,
    Activations,
    cached_activations,
)
from helpers.analysis.designs import jackknife_values
from helpers.analysis.stats import as_matrix
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import load_splits


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


def _with_dead_units(n=200, seed=1):
    """4 units: 0 is always 0, 2 is 0 on 99.5 % of the rows, 1 and 3 are correlated and live."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(n)
    x = np.column_stack(
        [
            np.zeros(n),
            common + 0.5 * rng.standard_normal(n),
            np.zeros(n),
            -common + rng.standard_normal(n),
        ]
    )
    x[7, 2] = 3.0  # one row of 200 differs: 99.5 % constant
    return x


def _abs_correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    return abs((a * b).sum() / np.sqrt((a**2).sum() * (b**2).sum()))


def test_dead_units_are_constant_on_at_least_the_dead_fraction_of_images():
    x = _with_dead_units()
    units = whitening.dead_units(torch.tensor(x))
    assert units.dead_fraction == whitening.DEAD_FRACTION == 0.99
    assert units.dead.tolist() == [True, False, True, False]
    assert units.live.tolist() == [1, 3]
    assert units.dead_indices == (0, 2)
    np.testing.assert_allclose(units.mode_fraction, [1.0, 1 / 200, 0.995, 1 / 200])
    strict = whitening.dead_units(x, dead_fraction=1.0)  # only strictly constant units
    assert strict.dead_indices == (0,) and strict.live.tolist() == [1, 2, 3]


def test_dead_fraction_threshold_at_the_boundary():
    column = np.zeros((100, 1))
    column[:1] = 1.0  # 99 of 100 rows at 0
    assert whitening.dead_units(column, 0.99).dead_indices == (0,)  # at the threshold: dead
    assert whitening.dead_units(column, 1 - 1 / 100).dead_indices == (0,)
    assert whitening.dead_units(column, 0.991).dead_indices == ()
    assert whitening.dead_units(column, 1.0).dead_indices == ()
    column[:2] = 1.0  # 98 of 100
    assert whitening.dead_units(column, 0.99).dead_indices == ()
    assert whitening.dead_units(column, 0.98).dead_indices == (0,)
    column[:] = 2.5
    assert whitening.dead_units(column, 1.0).dead_indices == (0,)
    assert whitening.dead_units(column[:1], 1.0).mode_fraction.tolist() == [1.0]
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="dead_fraction"):
            whitening.dead_units(column, bad)


def test_unit_coupling_is_over_live_units_only():
    x = _with_dead_units()
    live = _abs_correlation(x[:, 1], x[:, 3])
    assert whitening.unit_coupling(x) == pytest.approx(live)
    assert whitening.unit_coupling(x[:, [1, 3]], None) == pytest.approx(live)
    # every unit given: the strictly constant unit 0 has no correlation and is left out (not 0),
    # the 99.5 % one is varying and stays
    pairs = [_abs_correlation(x[:, i], x[:, j]) for i, j in ((1, 2), (1, 3), (2, 3))]
    assert whitening.unit_coupling(x, None) == pytest.approx(np.mean(pairs))
    assert whitening.unit_coupling(x, 1.0) == pytest.approx(np.mean(pairs))
    # the defect: averaging the plotted correlation counts the dead units as decorrelated
    assert whitening.mean_abs_offdiagonal(whitening.correlation(x)) < live / 2


def test_unit_coupling_is_nan_with_fewer_than_two_live_units():
    x = _with_dead_units()
    assert np.isnan(whitening.unit_coupling(x[:, [0, 1, 2]]))  # one live unit
    assert np.isnan(whitening.unit_coupling(x[:, [0, 2]]))  # none
    assert np.isnan(whitening.unit_coupling(x[:, [1]], None))
    assert whitening.effective_dimensions(x[:, [0, 1, 2]]) == pytest.approx(1.0)
    assert np.isnan(whitening.effective_dimensions(x[:, [0, 2]]))


def test_effective_dimensions_is_the_participation_ratio_of_the_live_units():
    x = _with_dead_units()
    eigenvalues = np.linalg.eigvalsh(np.cov(x[:, [1, 3]], rowvar=False))
    expected = eigenvalues.sum() ** 2 / (eigenvalues**2).sum()
    assert whitening.effective_dimensions(x) == pytest.approx(expected)
    # isotropic live units: PR exactly 2 once the 99.5 % unit is left out
    x[:, [1, 3]] = np.tile([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], (50, 1))
    assert whitening.effective_dimensions(x) == pytest.approx(2.0)
    assert whitening.effective_dimensions(x, None) != pytest.approx(2.0)


def _seed_activations(seed, classical_units):
    rng = np.random.default_rng(seed)
    layers = {
        "backbone": {"avgpool": torch.tensor(rng.standard_normal((200, 6)))},
        "hybrid": {
            "q_out": torch.tensor(rng.standard_normal((200, 4)) @ rng.standard_normal((4, 4)))
        },
        "classical": {"h_out": torch.tensor(classical_units)},
    }
    return Activations(layers, torch.zeros(200), list(range(200)))


def test_unit_results_measure_live_units_per_seed_and_compare_them_paired():
    x = _with_dead_units()
    per_seed = {seed: _seed_activations(seed, x + 0.01 * seed * x) for seed in range(3)}
    results = whitening.whitening_results(per_seed, 0.25, 0.05)
    dead = results.number("dead units", model="classical")
    assert (dead["mean"], dead["n"], dead["unit"]) == (2.0, 3, "seeds")
    assert results.number("dead units", model="hybrid")["mean"] == 0.0
    coupling = [whitening.unit_coupling(a.flat("classical", "h_out")) for a in per_seed.values()]
    row = results.number("unit coupling", model="classical")
    assert row["mean"] == pytest.approx(np.mean(coupling))
    assert coupling[0] == pytest.approx(_abs_correlation(x[:, 1], x[:, 3]))  # live units 1 and 3
    hybrid = [whitening.unit_coupling(a.flat("hybrid", "q_out")) for a in per_seed.values()]
    comparison = results.family.comparisons["unit coupling of the live units, hybrid vs classical"]
    assert (comparison.unit, comparison.n, comparison.n_images, comparison.margin) == (
        "seeds × image groups",
        3,
        whitening.IMAGE_GROUPS,
        0.05,
    )
    pseudo = {  # the jackknife's pseudo-values over the same 20 groups of images
        kind: [jackknife_values(whitening.unit_coupling, as_matrix(a.flat(kind, layer)), 20)
               for a in per_seed.values()]
        for kind, layer in (("hybrid", "q_out"), ("classical", "h_out"))
    }  # fmt: skip
    expected = np.mean(np.subtract(pseudo["hybrid"], pseudo["classical"]))
    assert comparison.difference == pytest.approx(expected)
    # the bias-corrected difference is close to the plain one
    assert comparison.difference == pytest.approx(np.mean(np.subtract(hybrid, coupling)), abs=0.02)
    assert results.family.size == 2  # two statistics, one pair of models present


def test_dimensionality_table_counts_dead_units_and_their_live_participation_ratio():
    generator = torch.Generator().manual_seed(3)
    layers = {
        "backbone": {name: torch.randn(200, 5, generator=generator) for name in BACKBONE_LAYERS}
    }
    for kind in ("hybrid", "classical"):
        layers[kind] = {
            name: torch.randn(200, 4, generator=generator) for name in HEAD_LAYERS[kind]
        }
    h_out = _with_dead_units()
    layers["classical"]["h_out"] = torch.tensor(h_out)
    layers["backbone"]["avgpool"][:, 0] = 0.0
    acts = Activations(layers, torch.zeros(200), list(range(200)))
    rows = whitening.dimensionality_table(acts, whitening.layer_spectra(acts))
    by_key = {(row["model"], row["layer"]): row for row in rows}
    row = by_key[("classical", "h_out")]
    assert row["dead_units"] == 2 and row["dimensions"] == 4
    assert row["live_participation_ratio"] == pytest.approx(whitening.effective_dimensions(h_out))
    assert row["participation_ratio"] == pytest.approx(whitening.effective_dimensions(h_out, None))
    for key in (("hybrid", "avgpool"), ("classical", "avgpool")):
        assert by_key[key]["dead_units"] == 1
    assert by_key[("hybrid", "q_out")]["dead_units"] == 0
    assert by_key[("hybrid", "q_out")]["live_participation_ratio"] == pytest.approx(
        by_key[("hybrid", "q_out")]["participation_ratio"]
    )
    assert {*rows[0]} == {
        "model",
        "layer",
        "depth",
        "dimensions",
        "participation_ratio",
        "pr_per_dimension",
        "top_eigenvalue_share",
        "dead_units",
        "live_participation_ratio",
    }


def test_manifold_summary_on_the_trained_smoke_models(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    models = load_trained_models(cfg)
    heads = {kind: model.head for kind, model in models.items()}
    acts = cached_activations(
        cfg, models["hybrid"].backbone, heads, load_splits(cfg).test, range(48)
    )
    spectra = whitening.layer_spectra(acts)
    assert spectra["hybrid"]["layer2"] is spectra["classical"]["layer2"]  # decomposed once
    rows = whitening.dimensionality_table(acts, spectra)
    assert len(rows) == sum(len(embedding.layer_order(kind)) for kind in heads)
    for kind in ("classical", "hybrid"):
        layers = [row["layer"] for row in rows if row["model"] == kind]
        assert layers == embedding.layer_order(kind)
    for row in rows:
        assert 1 - 1e-9 <= row["participation_ratio"] <= row["dimensions"] + 1e-9
        live = row["dimensions"] - row["dead_units"]
        assert 1 - 1e-9 <= row["live_participation_ratio"] <= live + 1e-9
    layout = embedding.umap_layout(acts.flat("hybrid", "q_out"), seed=0)
    assert layout.shape == (48, 2)
    np.testing.assert_allclose(layout, embedding.umap_layout(acts.flat("hybrid", "q_out"), seed=0))


def test_standardised_dimensions_do_not_depend_on_a_units_scale():
    x = _correlated(n=500, d=4)
    scaled = x * np.array([1.0, 10.0, 0.1, 3.0])  # a ReLU layer can trade these with the next
    assert whitening.standardised_dimensions(scaled) == pytest.approx(
        whitening.standardised_dimensions(x)
    )
    assert whitening.effective_dimensions(scaled) != pytest.approx(
        whitening.effective_dimensions(x)
    )
    assert whitening.standardised_dimensions(np.random.default_rng(0).normal(size=(4000, 3))) == (
        pytest.approx(3.0, rel=0.01)
    )
