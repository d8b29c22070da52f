"""Covariance, ZCA whitening and effective dimensionality of layer activations.

ZCA whitening (Bell & Sejnowski 1997; Kessy et al. 2018) maps centred activations x to W x with
W = C^(-1/2) = U (Λ + ε I)^(-1/2) Uᵀ, the symmetric whitening matrix closest to the identity:
whitened units keep their meaning (unit j stays "qubit j") while becoming uncorrelated with unit
variance. ε regularises directions with (near) zero variance; here it is relative,
ε = ``epsilon`` × mean eigenvalue, so one default suits layers of any scale.

The participation ratio PR = (Σλ)² / Σλ² of the covariance eigenvalues is the effective number of
dimensions the activations use: D for isotropic data in D dimensions, 1 when all variance lies
along one direction.

Dead units: a ReLU unit that is 0 on (almost) every image carries no signal, and its correlation
with the other units is undefined (0/0) or rests on a handful of images. A unit is dead when it
takes one single value on at least :data:`DEAD_FRACTION` of the images (:func:`dead_units`);
:func:`whitening_results` measures unit coupling and effective dimensions over the live units only,
per seed, and reports how many units it left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import partial

import numpy as np
import torch

from helpers.analysis.activations import (
    BACKBONE_LAYERS,
    HEAD_LAYERS,
    UNIT_LAYERS,
    Activations,
    layer_order,
)
from helpers.analysis.dead_units import DEAD_FRACTION, dead_units, live_columns
from helpers.analysis.designs import IMAGE_GROUPS, jackknife_values
from helpers.analysis.embedding import check_sizes, umap_layout
from helpers.analysis.results import Results
from helpers.analysis.stats import as_matrix
from helpers.declare import FRACTION, POSITIVE_NUMBER, Analysis, Parameter, one_of

# UMAP distances (umap-learn's named metrics that need no extra arguments)
UMAP_METRICS = (
    "euclidean", "manhattan", "chebyshev", "minkowski", "canberra", "braycurtis", "cosine",
    "correlation", "hamming", "jaccard", "dice", "russellrao", "kulsinski", "rogerstanimoto",
    "sokalmichener", "sokalsneath", "yule", "hellinger",
)  # fmt: skip
ANALYSIS = Analysis(
    name="whitening",
    notebook="05_manifold_whitening",
    title="Manifolds and whitening: how many directions does each layer use?",
    parameters=(
        Parameter(
            "umap_metric", "euclidean", one_of(*UMAP_METRICS), help="UMAP distance (e.g. cosine)"
        ),
        Parameter(
            "dimensions_margin",
            0.25,
            POSITIVE_NUMBER,
            help="equivalence margin of 05's effective dimensions of the units (dimensions)",
        ),
        Parameter(
            "coupling_margin",
            0.05,
            FRACTION,
            help="equivalence margin of 05's unit coupling (mean |correlation|)",
        ),
    ),
    shared=("embedding_images",),
    key_figure="05_spectra",
    check=check_sizes,
    writes=("explore/layouts_umap.npz",),
)
EPSILON = 1e-5  # relative regulariser of the ZCA matrix (times the mean eigenvalue)


def covariance(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Sample covariance ``(D, D)`` of ``(N, D)`` activations (N - 1 normalisation)."""
    return np.atleast_2d(np.cov(as_matrix(values), rowvar=False))


def correlation(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Pearson correlation ``(D, D)``; units with zero variance get 0 off the diagonal (fine for
    a picture, not for averaging: :func:`unit_coupling` leaves such units out).

    Args:
        values: Activations ``(N, D)``, one unit per column.

    Returns:
        The correlation matrix ``(D, D)``, 1 on the diagonal.

    Example:
        >>> correlation(np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 1.0], [2.0, 4.0, 1.0]]))
        array([[1., 1., 0.],
               [1., 1., 0.],
               [0., 0., 1.]])
    """
    cov = covariance(values)
    scale = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(scale, scale)
    corr = np.nan_to_num(corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def spectrum(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Covariance eigenvalues, largest first, from the SVD of the centred data (any D)."""
    x = as_matrix(values)
    x = x - x.mean(axis=0)
    singular = np.linalg.svd(x, compute_uv=False)
    return singular**2 / max(len(x) - 1, 1)


def participation_ratio(eigenvalues: np.ndarray) -> float:
    """Effective dimensionality (Σλ)² / Σλ²; NaN when there is no variance at all."""
    eigenvalues = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0, None)
    total = eigenvalues.sum()
    return float(total**2 / (eigenvalues**2).sum()) if total > 0 else float("nan")


@dataclasses.dataclass
class Whitening:
    """A fitted ZCA transform: ``whiten(x) = (x - mean) @ matrix`` (matrix is symmetric)."""

    mean: np.ndarray
    matrix: np.ndarray
    eigenvalues: np.ndarray
    epsilon: float

    def __call__(self, values: torch.Tensor | np.ndarray) -> np.ndarray:
        return (as_matrix(values) - self.mean) @ self.matrix


def fit_zca(values: torch.Tensor | np.ndarray, epsilon: float = EPSILON) -> Whitening:
    """The ZCA whitening of ``(N, D)`` activations (D up to a few thousand).

    Args:
        values: Activations ``(N, D)``.
        epsilon: The regulariser, relative to the mean eigenvalue.

    Returns:
        The fitted :class:`Whitening`: its mean ``(D,)``, symmetric ``matrix`` ``(D, D)`` and
        the covariance eigenvalues, largest first; calling it whitens ``(N, D)`` values.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(500, 3)) * [1.0, 2.0, 3.0]
        >>> zca = fit_zca(x)
        >>> np.allclose(np.cov(zca(x), rowvar=False), np.eye(3), atol=1e-3)
        True
    """
    x = as_matrix(values)
    eigenvalues, vectors = np.linalg.eigh(covariance(x))
    eigenvalues = np.clip(eigenvalues, 0, None)
    regulariser = epsilon * max(float(eigenvalues.mean()), np.finfo(float).tiny)
    matrix = (vectors / np.sqrt(eigenvalues + regulariser)) @ vectors.T
    return Whitening(x.mean(axis=0), (matrix + matrix.T) / 2, eigenvalues[::-1], epsilon)


def layer_spectra(activations: Activations) -> dict[str, dict[str, np.ndarray]]:
    """Covariance spectrum of every layer of both models, keyed [model][layer] in depth order;
    each shared backbone layer is decomposed once and the same array used for both models.

    Args:
        activations: The captured activations of N test images.

    Returns:
        Covariance eigenvalues ``(min(N, D),)``, largest first, keyed ``[model][layer]``.

    Example:
        >>> spectra = layer_spectra(session.activations)  # doctest: +SKIP
    """
    shared = {name: spectrum(activations.layers["backbone"][name]) for name in BACKBONE_LAYERS}
    return {
        kind: {
            name: shared[name] if name in shared else spectrum(activations.layers[kind][name])
            for name in layer_order(kind)
        }
        for kind in HEAD_LAYERS
        if kind in activations.layers
    }


def _live_dimensionality(values: torch.Tensor, eigenvalues: np.ndarray) -> dict[str, object]:
    """Dead-unit count and participation ratio of the live units (``eigenvalues``: all units'
    spectrum, reused when no unit is dead)."""
    dead = int(dead_units(values).dead.sum())
    ratio = effective_dimensions(values) if dead else participation_ratio(eigenvalues)
    return {"dead_units": dead, "live_participation_ratio": ratio}


def dimensionality_table(
    activations: Activations, spectra: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, object]]:
    """Per model and layer (``spectra`` from :func:`layer_spectra`): dimension D, participation
    ratio, PR / D, the share of the variance along the top eigenvector, the number of dead units
    (:func:`dead_units`) and the participation ratio of the live units alone.

    Args:
        activations: The activations the spectra were computed from.
        spectra: Covariance eigenvalues keyed ``[model][layer]`` (:func:`layer_spectra`).

    Returns:
        One row per model and layer: ``model``, ``layer``, ``depth``, ``dimensions``,
        ``participation_ratio``, ``pr_per_dimension``, ``top_eigenvalue_share``,
        ``dead_units``, ``live_participation_ratio``.

    Example:
        >>> rows = dimensionality_table(activations, layer_spectra(activations))  # doctest: +SKIP
    """
    rows: list[dict[str, object]] = []
    live: dict[str, dict[str, object]] = {}  # backbone layers once, shared by every model
    for model, by_layer in spectra.items():
        for depth, (name, eigenvalues) in enumerate(by_layer.items()):
            values = activations.of(model)[name]
            dimension = int(values[0].numel())
            ratio = participation_ratio(eigenvalues)
            total = eigenvalues.sum()
            key = name if name in BACKBONE_LAYERS else f"{model} {name}"
            if key not in live:
                live[key] = _live_dimensionality(values, eigenvalues)
            rows.append(
                {
                    "model": model,
                    "layer": name,
                    "depth": depth,
                    "dimensions": dimension,
                    "participation_ratio": ratio,
                    "pr_per_dimension": ratio / dimension,
                    "top_eigenvalue_share": float(eigenvalues[0] / total)
                    if total > 0
                    else float("nan"),
                    **live[key],
                }
            )
    return rows


def mean_abs_offdiagonal(matrix: np.ndarray) -> float:
    """Mean |entry| off the diagonal: how correlated the units are on average."""
    mask = ~np.eye(len(matrix), dtype=bool)
    return float(np.abs(matrix[mask]).mean()) if mask.any() else float("nan")


def effective_dimensions(
    values: torch.Tensor | np.ndarray, dead_fraction: float | None = DEAD_FRACTION
) -> float:
    """Participation ratio of the covariance spectrum of the live units (:func:`dead_units`;
    ``dead_fraction=None``: of every unit given); NaN without a live unit."""
    return participation_ratio(spectrum(live_columns(values, dead_fraction)))


def unit_coupling(
    values: torch.Tensor | np.ndarray, dead_fraction: float | None = DEAD_FRACTION
) -> float:
    """Mean |correlation| between different live units of a layer (:func:`dead_units`;
    ``dead_fraction=None``: every unit given).

    A unit constant on the images at hand (possible in a bootstrap resample) has no correlation,
    so its pairs are left out rather than counted as 0; NaN (undefined) with fewer than two
    varying units.
    """
    x = live_columns(values, dead_fraction)
    x = x[:, np.ptp(x, axis=0) > 0]
    return mean_abs_offdiagonal(correlation(x)) if x.shape[1] >= 2 else float("nan")


def standardised_dimensions(
    values: torch.Tensor | np.ndarray, dead_fraction: float | None = DEAD_FRACTION
) -> float:
    """Participation ratio of the live units' correlation matrix: effective dimensions that do
    not depend on each unit's scale (a ReLU unit's scale can be traded with the next layer's
    weights; a qubit's <Z> cannot)."""
    x = live_columns(values, dead_fraction)
    x = x[:, np.ptp(x, axis=0) > 0]
    return participation_ratio(np.linalg.eigvalsh(correlation(x))) if x.size else float("nan")


STATISTICS = {
    "effective dimensions (correlation)": standardised_dimensions,
    "unit coupling": unit_coupling,
}


def whitening_results(
    per_seed: Mapping[int, Activations], dimensions_margin: float, coupling_margin: float
) -> Results:
    """The units layer of every model (q_out, h_out: what the last Linear reads) across seeds:
    live-unit effective dimensions (of the correlation matrix, so units' scales do not matter)
    and coupling, and dead-unit counts, as mean ± SE over seeds
    (``per_seed[seed]`` holds that seed's models). The statistics are compared between models
    over seeds × image groups (:func:`~helpers.analysis.stats.jackknife_values` over
    ``IMAGE_GROUPS`` groups of the same images for every seed: a crossed design, so the verdict
    counts the images drawn), as one family with the equivalence margins given.

    Args:
        per_seed: Each seed's activations (e.g. ``session.activations_of(seed)``), by seed.
        dimensions_margin: The effective dimensions' equivalence margin (``cfg``'s).
        coupling_margin: The unit coupling's equivalence margin (``cfg``'s).

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"whitening"``).

    Example:
        >>> per_seed = {s: session.activations_of(s) for s in cfg.seeds}  # doctest: +SKIP
        >>> results = whitening_results(per_seed, 0.25, 0.05)  # doctest: +SKIP
    """
    results = Results(ANALYSIS.name)
    first = next(iter(per_seed.values()))
    kinds = [kind for kind in first.layers if kind != "backbone"]
    for kind in kinds:
        dead = [
            len(dead_units(a.flat(kind, UNIT_LAYERS[kind])).dead_indices) for a in per_seed.values()
        ]
        results.add("dead units", dead, "seeds", model=kind, layer=UNIT_LAYERS[kind])
    margins = dict(zip(STATISTICS, (dimensions_margin, coupling_margin), strict=True))
    live = {  # the live units on all the images, the same for every jackknife subset
        kind: [
            live_columns(a.flat(kind, UNIT_LAYERS[kind]), DEAD_FRACTION) for a in per_seed.values()
        ]
        for kind in kinds
    }
    for name, statistic in STATISTICS.items():
        every_unit = partial(statistic, dead_fraction=None)
        pseudo = {}
        for kind, by_seed in live.items():
            values = [every_unit(x) for x in by_seed]
            results.add(name, values, "seeds", model=kind, layer=UNIT_LAYERS[kind])
            pseudo[kind] = np.stack(
                [jackknife_values(every_unit, x, IMAGE_GROUPS) for x in by_seed]
            )
        results.compare_models(
            f"{name} of the live units", pseudo, "seeds × image groups", margin=margins[name]
        )
    return results


def whitened_layouts(
    activations: Activations,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    transforms: Mapping[str, Whitening],
    metric: str = "euclidean",
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """The units layer (q_out, h_out) of each model of ``layouts`` laid out raw and after its
    ZCA whitening (``transforms["<model> <layer>"]``), keyed [model]["<layer> raw" |
    "<layer> whitened"].

    Args:
        activations: The captured activations the layouts were made from.
        layouts: UMAP layouts ``(N, 2)`` keyed ``[model][layer]``; the raw ones are reused.
        transforms: :func:`fit_zca` transforms keyed ``"<model> <layer>"`` (e.g.
            ``"hybrid q_out"``).
        metric: The UMAP distance of the whitened layouts.
        seed: Seeds UMAP.

    Returns:
        Layouts ``(N, 2)`` keyed ``[model]["<layer> raw" | "<layer> whitened"]``.

    Example:
        >>> pairs = whitened_layouts(activations, layouts, zca, seed=0)  # doctest: +SKIP
    """
    result = {}
    for kind, by_layer in layouts.items():
        layer = UNIT_LAYERS[kind]
        whitened = transforms[f"{kind} {layer}"](activations.flat(kind, layer))
        result[kind] = {
            f"{layer} raw": by_layer[layer],
            f"{layer} whitened": umap_layout(whitened, metric, seed),
        }
    return result
