"""Covariance, ZCA whitening and effective dimensionality of layer activations.

ZCA whitening (Bell & Sejnowski 1997; Kessy et al. 2018) maps centred activations x to W x with
W = C^(-1/2) = U (Λ + ε I)^(-1/2) Uᵀ, the symmetric whitening matrix closest to the identity:
whitened units keep their meaning (unit j stays "qubit j") while becoming uncorrelated with unit
variance. ε regularises directions with (near) zero variance; here it is relative,
ε = ``epsilon`` × mean eigenvalue, so one default suits layers of any scale.

The participation ratio PR = (Σλ)² / Σλ² of the covariance eigenvalues is the effective number of
dimensions the activations use: D for isotropic data in D dimensions, 1 when all variance lies
along one direction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import torch

from helpers.analysis.activations import (
    BACKBONE_LAYERS,
    HEAD_LAYERS,
    UNIT_LAYERS,
    Activations,
    layer_order,
)
from helpers.analysis.embedding import umap_layout
from helpers.analysis.stats import as_matrix, bootstrap_error

EPSILON = 1e-5  # relative regulariser of the ZCA matrix (times the mean eigenvalue)


def covariance(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Sample covariance ``(D, D)`` of ``(N, D)`` activations (N - 1 normalisation)."""
    return np.atleast_2d(np.cov(as_matrix(values), rowvar=False))


def correlation(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Pearson correlation ``(D, D)``; units with zero variance get 0 off the diagonal."""
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
    """The ZCA whitening of ``(N, D)`` activations (D up to a few thousand)."""
    x = as_matrix(values)
    eigenvalues, vectors = np.linalg.eigh(covariance(x))
    eigenvalues = np.clip(eigenvalues, 0, None)
    regulariser = epsilon * max(float(eigenvalues.mean()), np.finfo(float).tiny)
    matrix = (vectors / np.sqrt(eigenvalues + regulariser)) @ vectors.T
    return Whitening(x.mean(axis=0), (matrix + matrix.T) / 2, eigenvalues[::-1], epsilon)


def layer_spectra(activations: Activations) -> dict[str, dict[str, np.ndarray]]:
    """Covariance spectrum of every layer of both models, keyed [model][layer] in depth order;
    each shared backbone layer is decomposed once and the same array used for both models."""
    shared = {name: spectrum(activations.layers["backbone"][name]) for name in BACKBONE_LAYERS}
    return {
        kind: {
            name: shared[name] if name in shared else spectrum(activations.layers[kind][name])
            for name in layer_order(kind)
        }
        for kind in HEAD_LAYERS
        if kind in activations.layers
    }


def dimensionality_table(
    activations: Activations, spectra: dict[str, dict[str, np.ndarray]]
) -> list[dict[str, object]]:
    """Per model and layer (``spectra`` from :func:`layer_spectra`): dimension D, participation
    ratio, PR / D and the share of the variance along the top eigenvector."""
    rows: list[dict[str, object]] = []
    for model, by_layer in spectra.items():
        for depth, (name, eigenvalues) in enumerate(by_layer.items()):
            dimension = int(activations.of(model)[name][0].numel())
            ratio = participation_ratio(eigenvalues)
            total = eigenvalues.sum()
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
                }
            )
    return rows


def mean_abs_offdiagonal(matrix: np.ndarray) -> float:
    """Mean |entry| off the diagonal: how correlated the units are on average."""
    mask = ~np.eye(len(matrix), dtype=bool)
    return float(np.abs(matrix[mask]).mean()) if mask.any() else float("nan")


def effective_dimensions(values: torch.Tensor | np.ndarray) -> float:
    """Participation ratio of the activations' covariance spectrum."""
    return participation_ratio(spectrum(values))


def unit_coupling(values: torch.Tensor | np.ndarray) -> float:
    """Mean |correlation| between different units of a layer."""
    return mean_abs_offdiagonal(correlation(values))


STATISTICS = {
    "effective dimensions": effective_dimensions,
    "mean |correlation| between units": unit_coupling,
}


def _with_error(
    values: torch.Tensor | np.ndarray, statistic: Callable[[np.ndarray], float]
) -> tuple[float, float]:
    """A statistic of the activations and its bootstrap standard error over images."""
    x = as_matrix(values)
    return statistic(x), bootstrap_error(x, statistic)


@dataclasses.dataclass
class UnitComparison:
    """One statistic of a hybrid head layer and its classical counterpart, each ± bootstrap SE."""

    statistic: str
    hybrid_layer: str
    classical_layer: str
    dimensions: int
    hybrid: tuple[float, float]
    classical: tuple[float, float]


@dataclasses.dataclass
class WhiteningSummary:
    """The backbone's effective dimensionality and the hybrid-vs-classical unit comparisons."""

    backbone_layer: str
    backbone_dimensions: int
    backbone: tuple[float, float]
    comparisons: list[UnitComparison]


def compare_heads(
    layers: dict[str, dict[str, torch.Tensor]], pairs: dict[str, str], shared: str = "avgpool"
) -> WhiteningSummary:
    """Effective dimensions and unit coupling, hybrid vs classical, with bootstrap errors.

    ``pairs`` maps hybrid layer names to their classical counterparts (e.g. q_out -> h_out);
    pairs of identically named layers (logits) are skipped.
    """
    comparisons = [
        UnitComparison(
            label,
            hybrid_layer,
            classical_layer,
            int(layers["hybrid"][hybrid_layer][0].numel()),
            _with_error(layers["hybrid"][hybrid_layer], statistic),
            _with_error(layers["classical"][classical_layer], statistic),
        )
        for hybrid_layer, classical_layer in pairs.items()
        if hybrid_layer != classical_layer
        for label, statistic in STATISTICS.items()
    ]
    backbone = layers["backbone"][shared]
    return WhiteningSummary(
        shared, int(backbone[0].numel()), _with_error(backbone, effective_dimensions), comparisons
    )


def whitened_layouts(
    activations: Activations,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    transforms: Mapping[str, Whitening],
    metric: str = "euclidean",
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Each head's unit layer (q_out, h_out) laid out raw and after its ZCA whitening
    (``transforms["<model> <layer>"]``), keyed [model]["<layer> raw" | "<layer> whitened"]."""
    result = {}
    for kind, layer in UNIT_LAYERS.items():
        whitened = transforms[f"{kind} {layer}"](activations.flat(kind, layer))
        result[kind] = {
            f"{layer} raw": layouts[kind][layer],
            f"{layer} whitened": umap_layout(whitened, metric, seed),
        }
    return result
