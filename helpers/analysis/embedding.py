"""2-D layouts of activations (t-SNE, UMAP, atlases) and how well each layer separates classes.

Separability is measured in the **original** activation space (k-NN accuracy, cross-validated;
silhouette score), and the faithfulness of a layout by its trustworthiness (Venna & Kaski 2001):
the share of each point's layout neighbours that are also its neighbours in the activations.
Every number comes with its standard error over images.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness

from helpers.analysis.activations import (
    BACKBONE_LAYERS,
    HEAD_LAYERS,
    Activations,
    layer_order,
)
from helpers.analysis.results import Results, absent, explore_path
from helpers.analysis.separability import (
    NEIGHBOURS,
    knn_accuracy,
    silhouette,
    standardised,
    unit_knn_correct,
    unit_silhouette_pseudo_values,
)
from helpers.analysis.stats import as_matrix
from helpers.config import Config
from helpers.declare import FRACTION, POSITIVE, POSITIVE_NUMBER, Analysis, Parameter, Tab
from helpers.io import atomic_write
from helpers.model.data import drawn_per_class


def check_sizes(cfg: Config) -> None:
    """Raise if the images drawn cannot feed the k-NN, trustworthiness or t-SNE (preflight)."""
    n, least = cfg.embedding_images, max(cfg.n_classes * (NEIGHBOURS + 1), 2 * NEIGHBOURS + 1)
    counts = drawn_per_class(cfg, n) or [n]  # None: the data check says why
    if n < least:
        problem = (
            f"embedding_images={n}: the k-NN accuracy and trustworthiness ({NEIGHBOURS} "
            f"neighbours) need at least {least} test images for {cfg.n_classes} classes; give "
            f"embedding_images >= {least}."
        )
    elif min(counts) < NEIGHBOURS + 1:
        problem = (
            f"embedding_images={n}: the test split gives {counts} images per class, and the k-NN "
            f"accuracy needs at least {NEIGHBOURS + 1} of each; use a larger test split."
        )
    elif cfg.perplexity >= sum(counts):
        problem = (
            f"perplexity={cfg.perplexity:g}: t-SNE needs a perplexity below the number of images "
            f"({sum(counts)} test images for embedding_images={n}); give a smaller perplexity "
            "or more images."
        )
    else:
        return
    raise ValueError(problem)


ANALYSIS = Analysis(
    name="separability",
    notebook="04_tsne",
    title="Layer by layer: how well does each layer separate the classes?",
    parameters=(
        Parameter(
            "embedding_images",
            500,
            POSITIVE,
            smoke=128,
            help="test images embedded (04, 05) and shown by the explorer",
        ),
        Parameter("perplexity", 30.0, POSITIVE_NUMBER, smoke=10.0, help="t-SNE perplexity"),
        Parameter(
            "separability_margin",
            0.05,
            FRACTION,
            help="equivalence margin of 04's k-NN accuracy and silhouette of the units",
        ),
    ),
    key_figure="04_separability",
    check=check_sizes,
    writes=("explore/layouts_tsne.npz",),
    tab=Tab("Layout", "helpers.present.explore_tabs:LayoutTab"),
)
LAYOUT_METHODS = {"tsne": "t-SNE", "umap": "UMAP"}  # what save_layouts writes, by name
PCA_COMPONENTS = 50  # t-SNE and UMAP run on the first 50 principal components (standard practice)


def principal_components(values: torch.Tensor | np.ndarray, seed: int = 0) -> np.ndarray:
    """The first :data:`PCA_COMPONENTS` principal components (or the data, when it is smaller)."""
    x = as_matrix(values)
    if x.shape[1] <= PCA_COMPONENTS:
        return x
    n_components = min(PCA_COMPONENTS, len(x) - 1)
    return PCA(n_components, random_state=seed).fit_transform(x)


def constant_layout(values: torch.Tensor | np.ndarray) -> np.ndarray | None:
    """All points at the origin ``(N, 2)`` when every sample of a layer is the same (e.g. ReLU
    units that are off for every image), where a layout is undefined (scikit-learn's t-SNE
    crashes the process on it); else None."""
    x = as_matrix(values)
    if np.ptp(x, axis=0).max(initial=0.0) > 1e-12:
        return None
    warnings.warn(
        "a layer is the same for every image: its layout puts them all at the origin", stacklevel=3
    )
    return np.zeros((len(x), 2))


def tsne(values: torch.Tensor | np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """t-SNE layout ``(N, 2)``: PCA initialisation, fixed seed, on the first 50 PCs.

    The perplexity is capped at (N - 1) / 3, scikit-learn's limit for N points. A constant
    layer gets :func:`constant_layout`.
    """
    constant = constant_layout(values)
    if constant is not None:
        return constant
    x = principal_components(values, seed)
    perplexity = min(perplexity, (len(x) - 1) / 3 - 1e-6)
    model = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    return model.fit_transform(x)


def layout_trustworthiness(values: torch.Tensor | np.ndarray, layout: np.ndarray) -> float:
    """Trustworthiness of a 2-D layout of ``values`` (1: neighbourhoods kept, ~0.5: random)."""
    return float(trustworthiness(as_matrix(values), layout, n_neighbors=NEIGHBOURS))


def embed_layers(
    activations: Activations,
    method: str = "tsne",
    layers: Mapping[str, Sequence[str]] | None = None,
    **options: object,
) -> dict[str, dict[str, np.ndarray]]:
    """2-D layouts (``tsne`` or ``umap``) of chosen layers of both models, keyed [model][layer].

    ``layers`` defaults to every layer of each model; a shared backbone layer is laid out once
    and the same array is used in both models' entries. ``options`` go to the layout function.

    Args:
        activations: The captured activations of N test images.
        method: ``"tsne"`` or ``"umap"``.
        layers: The layer names to lay out, by model; None for every layer of every model.
        **options: Passed on to :func:`tsne` (``perplexity``, ``seed``) or :func:`umap_layout`
            (``metric``, ``seed``).

    Returns:
        Layouts ``(N, 2)`` keyed ``[model][layer]``.

    Example:
        >>> layouts = embed_layers(activations, "tsne", perplexity=30.0, seed=0)  # doctest: +SKIP
    """
    layout = {"tsne": tsne, "umap": umap_layout}[method]
    layers = layers or {
        kind: layer_order(kind) for kind in HEAD_LAYERS if kind in activations.layers
    }
    shared: dict[str, np.ndarray] = {}
    result: dict[str, dict[str, np.ndarray]] = {}
    for kind, names in layers.items():
        result[kind] = {}
        for name in names:
            if name in BACKBONE_LAYERS:
                if name not in shared:
                    shared[name] = layout(activations.layers["backbone"][name], **options)
                result[kind][name] = shared[name]
            else:
                result[kind][name] = layout(activations.layers[kind][name], **options)
    return result


def separability_table(
    activations: Activations,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    seed: int = 0,
) -> list[dict[str, object]]:
    """Per model and layer: k-NN accuracy, silhouette (both ± SE) and layout trustworthiness.

    Args:
        activations: The captured activations the layouts were made from.
        layouts: Layouts ``(N, 2)`` keyed ``[model][layer]`` (:func:`embed_layers`).
        seed: Seeds the k-NN cross-validation folds.

    Returns:
        One row per model and layer: ``model``, ``layer``, ``depth``, ``knn_accuracy``,
        ``silhouette`` (each with ``_se``), ``trustworthiness``, ``dimensions``.

    Example:
        >>> rows = separability_table(activations, layouts, seed=0)  # doctest: +SKIP
    """
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


SCORES = ("knn_accuracy", "silhouette")
Separability = dict[str, dict[str, dict[str, float]]]  # [model][layer][score]


def head_separability(activations: Activations, seed: int = 0) -> Separability:
    """k-NN accuracy and silhouette of every head layer of every model on standardised units
    (:func:`standardised`), ``[model][layer][score]``: one seed's models.

    Args:
        activations: One seed's activations (e.g. ``session.activations_of(seed)``).
        seed: Seeds the k-NN cross-validation folds.

    Returns:
        ``knn_accuracy`` and ``silhouette``, keyed ``[model][layer][score]``.

    Example:
        >>> scores = head_separability(session.activations_of(0), seed=0)  # doctest: +SKIP
    """
    labels = activations.labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            kind: {
                layer: {
                    "knn_accuracy": knn_accuracy(standardised(values), labels, seed)[0],
                    "silhouette": silhouette(standardised(values), labels)[0],
                }
                for layer, values in layers.items()
            }
            for kind, layers in activations.layers.items()
            if kind != "backbone"
        }


def separability_results(
    per_seed: Mapping[int, Activations],
    references: Mapping[int, Activations],
    margin: float,
    seed: int = 0,
) -> Results:
    """Head-layer separability over seeds (:func:`head_separability` of each seed's models, on
    standardised units, the same test images for every seed): every layer's scores as mean ±
    SE over seeds; and the models compared at the layer their last Linear reads (q_out, h_out)
    as one family with equivalence ``margin``: k-NN accuracy over seeds × test images, each
    test image scored against the seed's training images (:func:`unit_knn_correct`), and the
    silhouette over seeds × image groups (:func:`unit_silhouette_pseudo_values`: an image's
    silhouette depends on the other images, so groups of images are the second unit).

    Args:
        per_seed: Each seed's activations (e.g. ``session.activations_of(seed)``), by seed.
        references: Each seed's head layers on the training images
            (``session.reference_activations_of(seed)``), by seed.
        margin: The equivalence margin of both scores (``cfg.separability_margin``).
        seed: Seeds the k-NN folds and the image groups (the run's ``seed``).

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"separability"``).

    Example:
        >>> per_seed = {s: session.activations_of(s) for s in cfg.seeds}  # doctest: +SKIP
        >>> refs = {s: session.reference_activations_of(s) for s in cfg.seeds}  # doctest: +SKIP
        >>> results = separability_results(  # doctest: +SKIP
        ...     per_seed, refs, cfg.separability_margin, cfg.seed)
    """
    results = Results(ANALYSIS.name)
    scores = [head_separability(activations, seed) for activations in per_seed.values()]
    for kind, layers in scores[0].items():
        for layer in layers:
            for score in SCORES:
                values = [one[kind][layer][score] for one in scores]
                results.add(score, values, "seeds", model=kind, layer=layer)
    correct = [unit_knn_correct(per_seed[s], references[s]) for s in per_seed]
    silhouettes = [unit_silhouette_pseudo_values(per_seed[s], seed) for s in per_seed]
    for name, unit, per_model in (
        ("knn_accuracy of the units against the training images", "seeds × images", correct),
        ("silhouette of the units", "seeds × image groups", silhouettes),
    ):
        values = {kind: np.stack([one[kind] for one in per_model]) for kind in scores[0]}
        results.compare_models(f"{name} (q_out / h_out)", values, unit, margin=margin)
    return results


def umap_layout(
    values: torch.Tensor | np.ndarray, metric: str = "euclidean", seed: int = 0
) -> np.ndarray:
    """UMAP layout ``(N, 2)`` (McInnes et al. 2018) on the first 50 PCs, seeded (single thread);
    a constant layer gets :func:`constant_layout`."""
    import umap  # imported here: numba compiles it on first import (~15 s)

    constant = constant_layout(values)
    if constant is not None:
        return constant
    x = principal_components(values, seed)
    neighbours = min(15, len(x) - 1)
    model = umap.UMAP(n_neighbors=neighbours, metric=metric, random_state=seed, n_jobs=1)
    return model.fit_transform(x)


@dataclasses.dataclass
class Layouts:
    """2-D layouts of one method: ``points[model][layer] (N, 2)`` for test images ``indices``."""

    method: str
    points: dict[str, dict[str, np.ndarray]]
    indices: list[int]
    labels: np.ndarray

    def position(self, index: int) -> int | None:
        """The row of test image ``index`` in the layouts, None if it was not laid out."""
        return self.indices.index(index) if index in self.indices else None


def save_layouts(
    cfg: Config,
    method: str,
    layouts: Mapping[str, Mapping[str, np.ndarray]],
    activations: Activations,
) -> Path:
    """Write the layouts ``[model][layer] (N, 2)`` of ``activations``' images (by ``method``,
    ``tsne`` or ``umap``) with their test indices and labels, as ``layouts_<method>.npz``.

    Args:
        cfg: The run's configuration (where to write).
        method: ``"tsne"`` or ``"umap"``.
        layouts: Layouts ``(N, 2)`` keyed ``[model][layer]``.
        activations: The activations they were made from (their indices and labels).

    Returns:
        The written file, ``<artifacts_dir>/explore/layouts_<method>.npz``.

    Example:
        >>> save_layouts(cfg, "tsne", layouts, activations)  # doctest: +SKIP
    """
    if method not in LAYOUT_METHODS:
        raise ValueError(f"method={method!r} is unknown; use one of {list(LAYOUT_METHODS)}.")
    arrays = {
        f"{kind}/{layer}": np.asarray(points, dtype=np.float32)
        for kind, by_layer in layouts.items()
        for layer, points in by_layer.items()
    }
    arrays["indices"] = np.asarray(activations.indices, dtype=np.int64)
    arrays["labels"] = np.asarray(activations.labels, dtype=np.int64)
    path = explore_path(cfg) / f"layouts_{method}.npz"
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def _read_layouts(path: Path, method: str) -> Layouts:
    with np.load(path) as stored:
        points: dict[str, dict[str, np.ndarray]] = {}
        for key in stored.files:
            if "/" in key:
                kind, layer = key.split("/", 1)
                points.setdefault(kind, {})[layer] = stored[key]
        indices = [int(i) for i in stored["indices"]]
        return Layouts(method, points, indices, stored["labels"])


def load_layouts(cfg: Config) -> tuple[dict[str, Layouts], list[str]]:
    """Every method's layouts of the run, and a line for each absent one."""
    layouts, gone = {}, []
    for method in LAYOUT_METHODS:
        path = explore_path(cfg) / f"layouts_{method}.npz"
        if path.is_file():
            layouts[method] = _read_layouts(path, method)
        else:
            gone.append(absent(cfg, path))
    return layouts, gone
