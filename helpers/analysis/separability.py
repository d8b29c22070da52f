"""Per-image separability scores of a layer's activations: each image's cross-validated k-NN
correctness and its silhouette, on units standardised so that a unit's scale does not matter
(notebook 04, :mod:`helpers.analysis.embedding`)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import silhouette_samples
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

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
