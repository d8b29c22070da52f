"""2-D layouts of layer activations (t-SNE, UMAP) and how well each layer separates the classes.

Separability is measured in the **original** activation space (k-NN accuracy, cross-validated;
silhouette score), and the faithfulness of a layout by its trustworthiness (Venna & Kaski 2001):
the share of each point's layout neighbours that are also its neighbours in the activations.
Every number comes with its standard error over images.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.metrics import silhouette_samples
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from helpers.activations import BACKBONE_LAYERS, COUNTERPARTS, HEAD_LAYERS, Activations
from helpers.stats import format_value, verdict

PCA_COMPONENTS = 50  # t-SNE and UMAP run on the first 50 principal components (standard practice)
NEIGHBOURS = 5  # k of the k-NN classifier and of trustworthiness


def _as_array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    array = values.flatten(1).double().numpy() if isinstance(values, torch.Tensor) else values
    return np.asarray(array, dtype=np.float64).reshape(len(array), -1)


def principal_components(values: torch.Tensor | np.ndarray, seed: int = 0) -> np.ndarray:
    """The first :data:`PCA_COMPONENTS` principal components (or the data, when it is smaller)."""
    x = _as_array(values)
    if x.shape[1] <= PCA_COMPONENTS:
        return x
    n_components = min(PCA_COMPONENTS, len(x) - 1)
    return PCA(n_components, random_state=seed).fit_transform(x)


def tsne(values: torch.Tensor | np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """t-SNE layout ``(N, 2)``: PCA initialisation, fixed seed, on the first 50 PCs.

    The perplexity is capped at (N - 1) / 3, scikit-learn's limit for N points.
    """
    x = principal_components(values, seed)
    perplexity = min(perplexity, (len(x) - 1) / 3 - 1e-6)
    model = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    return model.fit_transform(x)


def knn_accuracy(
    values: torch.Tensor | np.ndarray, labels: torch.Tensor, seed: int = 0, folds: int = 5
) -> tuple[float, float]:
    """Cross-validated k-NN accuracy and its standard error over images."""
    y = np.asarray(labels)
    folds = min(folds, int(np.bincount(y).min()))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(
        KNeighborsClassifier(NEIGHBOURS), _as_array(values), y, cv=splitter
    )
    correct = (predicted == y).astype(float)
    return float(correct.mean()), float(correct.std(ddof=1) / np.sqrt(len(correct)))


def silhouette(values: torch.Tensor | np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    """Mean silhouette score of the classes (Euclidean) and its standard error over images.

    NaN when all activations are identical (e.g. a dead ReLU layer): the score is undefined.
    """
    x = _as_array(values)
    if np.ptp(x, axis=0).max() == 0:
        return float("nan"), float("nan")
    scores = silhouette_samples(x, np.asarray(labels))
    return float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(len(scores)))


def layout_trustworthiness(values: torch.Tensor | np.ndarray, layout: np.ndarray) -> float:
    """Trustworthiness of a 2-D layout of ``values`` (1: neighbourhoods kept, ~0.5: random)."""
    return float(trustworthiness(_as_array(values), layout, n_neighbors=NEIGHBOURS))


def layer_order(kind: str) -> list[str]:
    """The layers a model passes through, input first."""
    return [*BACKBONE_LAYERS, *HEAD_LAYERS[kind]]


def embed_layers(
    activations: Activations, perplexity: float = 30.0, seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """t-SNE layout of every layer of both models; the shared backbone layers are embedded once."""
    shared = {
        layer: tsne(activations.layers["backbone"][layer], perplexity, seed)
        for layer in BACKBONE_LAYERS
    }
    return {
        kind: {
            **shared,
            **{layer: tsne(activations.layers[kind][layer], perplexity, seed) for layer in heads},
        }
        for kind, heads in HEAD_LAYERS.items()
        if kind in activations.layers
    }


def separability_table(
    activations: Activations,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    seed: int = 0,
) -> list[dict[str, object]]:
    """Per model and layer: k-NN accuracy, silhouette (both ± SE) and layout trustworthiness."""
    rows: list[dict[str, object]] = []
    shared: dict[str, dict[str, object]] = {}
    for kind, by_layer in layouts.items():
        for depth, layer in enumerate(layer_order(kind)):
            if layer in BACKBONE_LAYERS and layer in shared:
                rows.append({**shared[layer], "model": kind})
                continue
            values = activations.of(kind)[layer]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row: dict[str, object] = {"model": kind, "layer": layer, "depth": depth}
                row["knn_accuracy"], row["knn_accuracy_se"] = knn_accuracy(
                    values, activations.labels, seed
                )
                row["silhouette"], row["silhouette_se"] = silhouette(values, activations.labels)
                row["trustworthiness"] = layout_trustworthiness(values, by_layer[layer])
                row["dimensions"] = int(values[0].numel())
            rows.append(row)
            if layer in BACKBONE_LAYERS:
                shared[layer] = row
    return rows


def describe_separability(rows: list[dict[str, object]]) -> str:
    """A markdown summary: the backbone's trend, then hybrid vs classical at each head layer."""
    by_key = {(row["model"], row["layer"]): row for row in rows}

    def score(model: str, layer: str, name: str = "knn_accuracy") -> tuple[float, float]:
        row = by_key[(model, layer)]
        return float(row[name]), float(row[f"{name}_se"])

    first, last = BACKBONE_LAYERS[0], BACKBONE_LAYERS[-1]
    lines = [
        f"- Through the frozen backbone, k-NN accuracy goes from "
        f"{format_value(*score('hybrid', first))} ({first}) to "
        f"{format_value(*score('hybrid', last))} ({last})."
    ]
    for hybrid_layer, classical_layer in COUNTERPARTS.items():
        hybrid, classical = score("hybrid", hybrid_layer), score("classical", classical_layer)
        hybrid_silhouette = score("hybrid", hybrid_layer, "silhouette")
        classical_silhouette = score("classical", classical_layer, "silhouette")
        lines.append(
            f"- **{hybrid_layer}** (hybrid) vs **{classical_layer}** (classical): k-NN accuracy "
            f"{format_value(*hybrid)} vs {format_value(*classical)}, "
            f"{verdict(classical, hybrid)}; silhouette {format_value(*hybrid_silhouette)} vs "
            f"{format_value(*classical_silhouette)}, "
            f"{verdict(classical_silhouette, hybrid_silhouette)}."
        )
    return "\n".join(lines)
