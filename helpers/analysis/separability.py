"""Separability scores of a layer's activations: k-NN accuracy and silhouette, on units
standardised so that a unit's scale does not matter, and the per-image values that compare
models over seeds × images (notebook 04, :mod:`helpers.analysis.embedding`): each test image's
k-NN correctness against the training images as reference, and jackknife pseudo-values of the
silhouette over groups of test images."""

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


def standardised(
    values: torch.Tensor | np.ndarray, reference: torch.Tensor | np.ndarray | None = None
) -> np.ndarray:
    """Every unit z-scored by its mean and SD over the images, or over ``reference`` images when
    given (constant units become 0): distances that do not depend on a unit's scale, which a
    ReLU layer can trade freely with the next Linear layer."""
    x = as_matrix(values)
    known = x if reference is None else as_matrix(reference)
    scale = known.std(axis=0)
    return (x - known.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def reference_knn_correct(
    reference: torch.Tensor | np.ndarray,
    reference_labels: torch.Tensor,
    queries: torch.Tensor | np.ndarray,
    query_labels: torch.Tensor,
) -> np.ndarray:
    """Whether each query's k-NN prediction among the reference points is its class (1.0) or
    not (0.0), on units z-scored by the reference's mean and SD (the reference's statistics
    alone, so a query's score does not depend on the other queries).

    Args:
        reference: The neighbours ``(M, D)``, e.g. a layer's activations on the training images.
        reference_labels: Their classes ``(M,)``.
        queries: The points scored ``(N, D)``, e.g. the same layer on the test images.
        query_labels: Their classes ``(N,)``.

    Returns:
        ``(N,)`` correctness, one independent value per query given the reference.

    Example:
        >>> x = torch.tensor([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> y = torch.tensor([0, 0, 0, 1, 1, 1])
        >>> reference_knn_correct(x, y, torch.tensor([[0.3], [4.0]]), torch.tensor([0, 0]))
        array([1., 0.])
    """
    classifier = KNeighborsClassifier(min(NEIGHBOURS, len(reference)))
    classifier.fit(standardised(reference), np.asarray(reference_labels))
    predicted = classifier.predict(standardised(queries, reference))
    return (predicted == np.asarray(query_labels)).astype(float)


def unit_knn_correct(activations: Activations, reference: Activations) -> dict[str, np.ndarray]:
    """Every model's per-test-image k-NN correctness (:func:`reference_knn_correct`) in its units
    layer (q_out, h_out), with the same seed's training images as the reference.

    A cross-validated k-NN within the test images makes each image's prediction depend on the
    others (their jackknife inflated the SE of the accuracy from about 0.01 to 0.12-0.35: the
    jackknife fails for a non-smooth statistic); against a fixed reference, the test images are
    independent draws, like the correctness of notebook 02's accuracy.

    Args:
        activations: One seed's activations of the test images.
        reference: The same seed's head layers on the training images
            (``session.reference_activations_of(seed)``).

    Returns:
        ``(N,)`` correctness keyed by model.

    Example:
        >>> correct = unit_knn_correct(  # doctest: +SKIP
        ...     session.activations_of(0), session.reference_activations_of(0))
    """
    return {
        kind: reference_knn_correct(
            reference.flat(kind, UNIT_LAYERS[kind]),
            reference.labels,
            activations.flat(kind, UNIT_LAYERS[kind]),
            activations.labels,
        )
        for kind in activations.layers
        if kind != "backbone"
    }


def unit_silhouette_pseudo_values(activations: Activations, seed: int = 0) -> dict[str, np.ndarray]:
    """Jackknife pseudo-values (:func:`~helpers.analysis.designs.jackknife_values`, over
    ``IMAGE_GROUPS`` groups of the images, the same groups for every model and seed) of the
    silhouette of every model's units layer (q_out, h_out), standardised.

    An image's silhouette depends on the other images, so per-image values are not independent
    units; the pseudo-values of groups are (a simulated population null gave 27 % false
    detections on per-image silhouettes, 5.5 % on pseudo-values).

    Args:
        activations: One seed's activations.
        seed: Seeds the image groups.

    Returns:
        ``(IMAGE_GROUPS,)`` arrays keyed by model.

    Example:
        >>> pseudo = unit_silhouette_pseudo_values(session.activations_of(0))  # doctest: +SKIP
    """
    labels = np.asarray(activations.labels, dtype=float)[:, None]

    def silhouette_of(x: np.ndarray) -> float:
        return silhouette(x[:, :-1], x[:, -1].astype(int))[0]

    return {
        kind: jackknife_values(
            silhouette_of,
            np.hstack([standardised(activations.flat(kind, UNIT_LAYERS[kind])), labels]),
            IMAGE_GROUPS,
            seed,
        )
        for kind in activations.layers
        if kind != "backbone"
    }
