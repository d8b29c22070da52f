"""Separability scores of a layer's activations: cross-validated k-NN accuracy and silhouette,
on units standardised so that a unit's scale does not matter, and their jackknife pseudo-values
over groups of images for comparisons over seeds × image groups (notebook 04,
:mod:`helpers.analysis.embedding`)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import silhouette_samples
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from helpers.analysis.activations import UNIT_LAYERS, Activations
from helpers.analysis.designs import IMAGE_GROUPS, jackknife_values
from helpers.analysis.stats import as_matrix, mean_and_error

NEIGHBOURS = 5  # k of the k-NN classifier and of trustworthiness


def knn_correct(
    values: torch.Tensor | np.ndarray, labels: torch.Tensor, seed: int = 0, folds: int = 5
) -> np.ndarray:
    """Whether each image's cross-validated k-NN prediction is its class (1.0) or not (0.0)."""
    y = np.asarray(labels)
    folds = min(folds, int(np.bincount(y).min()))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(
        KNeighborsClassifier(NEIGHBOURS), as_matrix(values), y, cv=splitter
    )
    return (predicted == y).astype(float)


def knn_accuracy(
    values: torch.Tensor | np.ndarray, labels: torch.Tensor, seed: int = 0, folds: int = 5
) -> tuple[float, float]:
    """Cross-validated k-NN accuracy (:func:`knn_correct`) and its standard error over images."""
    return mean_and_error(knn_correct(values, labels, seed, folds))


def silhouette_values(values: torch.Tensor | np.ndarray, labels: torch.Tensor) -> np.ndarray:
    """Each image's silhouette (Euclidean, by class); NaN for every image when all activations
    are identical (e.g. a dead ReLU layer): the score is undefined."""
    x = as_matrix(values)
    if np.ptp(x, axis=0).max() == 0:
        return np.full(len(x), np.nan)
    return silhouette_samples(x, np.asarray(labels))


def silhouette(values: torch.Tensor | np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    """Mean silhouette score of the classes (:func:`silhouette_values`) and its standard error
    over images (NaN when undefined)."""
    return mean_and_error(silhouette_values(values, labels))


def standardised(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Every unit z-scored over the images (constant units become 0): distances that do not
    depend on a unit's scale, which a ReLU layer can trade freely with the next Linear layer."""
    x = as_matrix(values)
    scale = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def unit_pseudo_values(activations: Activations, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Jackknife pseudo-values (:func:`~helpers.analysis.designs.jackknife_values`, over
    ``IMAGE_GROUPS`` groups of the images, the same groups for every model and seed) of the
    k-NN accuracy and silhouette of every model's units layer (q_out, h_out), standardised.

    An image's k-NN prediction and silhouette depend on the other images, so per-image values
    are not independent units; the pseudo-values of groups are (a simulated population null
    gave 27 % false detections on per-image silhouettes, 5.5 % on pseudo-values).

    Args:
        activations: One seed's activations.
        seed: Seeds the k-NN folds and the image groups.

    Returns:
        ``(IMAGE_GROUPS,)`` arrays keyed ``[model][score]``.

    Example:
        >>> pseudo = unit_pseudo_values(session.activations_of(0))  # doctest: +SKIP
    """
    labels = np.asarray(activations.labels, dtype=float)[:, None]

    def knn(x: np.ndarray) -> float:
        return knn_accuracy(x[:, :-1], x[:, -1].astype(int), seed)[0]

    def silhouette_of(x: np.ndarray) -> float:
        return silhouette(x[:, :-1], x[:, -1].astype(int))[0]

    found = {}
    for kind in activations.layers:
        if kind == "backbone":
            continue
        x = np.hstack([standardised(activations.flat(kind, UNIT_LAYERS[kind])), labels])
        found[kind] = {
            score: jackknife_values(statistic, x, IMAGE_GROUPS, seed)
            for score, statistic in (("knn_accuracy", knn), ("silhouette", silhouette_of))
        }
    return found
