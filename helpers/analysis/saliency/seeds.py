"""Notebook 03's saliency computed once for every model of every seed: the pictures of one seed
and the architecture's faithfulness over seeds share their maps, curves and backbone passes.

:func:`saliency_study` explains the same test images with Integrated Gradients and the random
reference for every model of every seed, with the gradient and SmoothGrad for the first seed's
models as well (the pictures), scores every map (deletion/insertion curves) and computes every
model's unit maps; each batch goes through the shared backbone once for all of them
(:mod:`.bank`). :meth:`SaliencyStudy.of_seed` gives one seed's models by kind (the pictures and
their per-method table); :meth:`SaliencyStudy.results` the comparison over seeds:

Integrated Gradients' normalised deletion and insertion gains over random maps (paired per
image) and how alike the maps of the four hidden units are, per seed and image; and IG's median
relative completeness gap (a convergence check: Sundararajan et al. ask for under 5 %). Every seed
explains the same images, so the models are compared over seeds × images (a crossed design whose
standard error counts both samplings), as one family, each comparison also tested for equivalence
within ``saliency_margin``; each model's numbers are stated as mean ± SE over seeds.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from helpers.analysis.results import Results
from helpers.analysis.saliency.algorithms import Key
from helpers.analysis.saliency.maps import (
    IG_STEPS,
    METHODS,
    RANDOM,
    MethodMaps,
    explain_methods,
    head_unit_saliency,
    unit_similarity,
)
from helpers.analysis.saliency.scores import CURVE_STEPS, SaliencyScores, score_methods
from helpers.analysis.saliency.user_image import check_inputs
from helpers.declare import POSITIVE, POSITIVE_NUMBER, Analysis, Parameter, Tab
from helpers.model.device import DEFAULT_MEMORY_BUDGET_MB

# The smallest difference worth calling one: 5 % of the way from chance to the intact image's
# probability, averaged over the curve (normalised area), or 0.05 of rank correlation
SALIENCY_MARGIN = 0.05

ANALYSIS = Analysis(
    name="saliency",
    notebook="03_saliency",
    title="Saliency: where do the classical and the hybrid network look?",
    parameters=(
        Parameter(
            "saliency_images",
            20,
            POSITIVE,
            smoke=16,
            help="images scored (balanced classes, seeded)",
        ),
        Parameter(
            "score_all_methods",
            False,
            help="also compute the gradient and SmoothGrad maps for every scored image and score "
            "them (deletion/insertion); by default they are drawn for the pictured images only "
            "(at 224 px scoring them costs about as much as the rest of 03)",
        ),
        Parameter("user_image", "", help="a photo to explain, besides the test images"),
        Parameter(
            "saliency_margin",
            SALIENCY_MARGIN,
            POSITIVE_NUMBER,
            help="equivalence margin of the saliency comparisons: differences of IG gains over "
            "random (normalised area) or of unit-map similarities (rank correlation) within "
            "±this are equivalent",
        ),
    ),
    key_figure="03_deletion_insertion",
    check=check_inputs,
    tab=Tab("Image", "helpers.present.explore_tabs:ImageTab"),
)

METHOD = "integrated_gradients"  # the method whose faithfulness is compared across seeds
GAINS = {  # name: (curve, sign of method area - random area that means "more faithful")
    "IG deletion gain over random (normalised)": ("deletion", -1),
    "IG insertion gain over random (normalised)": ("insertion", 1),
}
SIMILARITY = "similarity of the unit maps"
COMPLETENESS = "IG completeness gap (median, relative)"
UNIT = "seeds × images"  # the comparisons' units: every seed's models explain the same images
PICTURE_METHODS = ("gradient", "smoothgrad")  # for the first seed's models only
PICTURED_IMAGES = 6  # the images the notebook's figures draw: the picture methods' default share


class SeedSaliency(NamedTuple):
    """One seed's models by kind: maps ``[method][kind]``, class probabilities, scores
    ``[method]`` and the unit maps and values."""

    maps: MethodMaps
    probabilities: dict[str, torch.Tensor]
    scores: dict[str, SaliencyScores]
    unit_maps: dict[str, torch.Tensor]
    unit_values: dict[str, torch.Tensor]


@dataclasses.dataclass
class SaliencyStudy:
    """Everything :func:`saliency_study` computed, keyed by ``(seed, kind)``."""

    maps: MethodMaps
    probabilities: dict[Key, torch.Tensor]
    scores: dict[str, SaliencyScores]
    unit_maps: dict[Key, torch.Tensor]
    unit_values: dict[Key, torch.Tensor]

    @property
    def seeds(self) -> list[int]:
        return list(dict.fromkeys(seed for seed, _ in self.probabilities))

    def of_seed(self, seed: int) -> SeedSaliency:
        """The models of ``seed``, keyed by kind.

        Args:
            seed: A training seed of the study.

        Returns:
            The :class:`SeedSaliency`: maps ``[method][kind]`` ``(B, H, W)``, probabilities
            ``(B, C)``, scores ``[method]``, unit maps ``(B, U, H, W)`` and values ``(B, U)``.

        Example:
            >>> maps, probabilities, scores, unit_maps, values = study.of_seed(0)  # doctest: +SKIP
        """
        keys = {kind: (s, kind) for s, kind in self.probabilities if s == seed}
        if not keys:
            raise KeyError(f"seed {seed} is not in this study; its seeds are {self.seeds}.")

        def pick(values: Mapping[Key, object]) -> dict:
            return {kind: values[key] for kind, key in keys.items() if key in values}

        maps = MethodMaps(
            {method: pick(by_model) for method, by_model in self.maps.items()},
            pick(self.maps.completeness),
        )
        scores = {method: score.select(keys, maps[method]) for method, score in self.scores.items()}
        return SeedSaliency(
            maps, pick(self.probabilities), scores, pick(self.unit_maps), pick(self.unit_values)
        )

    def image_scores(self) -> dict[str, dict[str, np.ndarray]]:
        """Every compared per-image score: ``[score][kind]`` a ``(seeds, images)`` matrix (the
        same images for every seed), NaN where undefined (an image whose intact probability is
        at chance for the model, or whose unit maps are all undefined)."""
        method, reference = self.scores[METHOD], self.scores[RANDOM]
        found = {}
        for name, (mode, sign) in GAINS.items():
            area, chance = method.area(mode), reference.area(mode)
            found[name] = self._by_kind({key: sign * (area[key] - chance[key]) for key in area})
        found[SIMILARITY] = self._by_kind(
            {key: unit_similarity(maps) for key, maps in self.unit_maps.items()}
        )
        return found

    def _by_kind(self, per_key: Mapping[Key, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-image values keyed ``(seed, kind)`` as one ``(seeds, images)`` matrix per kind."""
        kinds = dict.fromkeys(kind for _, kind in per_key)
        return {kind: np.stack([per_key[(seed, kind)] for seed in self.seeds]) for kind in kinds}

    def results(self, margin: float = SALIENCY_MARGIN) -> Results:
        """The per-image scores (:meth:`image_scores`) stated per model as mean ± SE over seeds
        (of each seed's mean over its defined images), and compared between models over seeds ×
        images (a crossed design: the verdicts hold for new images as well as new seeds; one
        family), equivalent within ``±margin``; IG's median completeness gap per model.

        Args:
            margin: The equivalence margin of every comparison (``cfg.saliency_margin``).

        Returns:
            The analysis' :class:`~helpers.analysis.results.Results` (``"saliency"``).

        Example:
            >>> publish_results(study.results(cfg.saliency_margin), cfg)  # doctest: +SKIP
        """
        results = Results(ANALYSIS.name)
        for name, by_kind in self.image_scores().items():
            for kind, values in by_kind.items():
                _add_per_seed(results, name, kind, values, np.nanmean)
            results.compare_models(name, by_kind, UNIT, margin=margin)
        for kind, gaps in self._by_kind(self.maps.completeness).items():
            _add_per_seed(results, COMPLETENESS, kind, gaps, np.nanmedian)
        return results


def _add_per_seed(
    results: Results, name: str, kind: str, values: np.ndarray, reduce: Callable
) -> None:
    """State ``values`` ``(seeds, images)`` as ``reduce`` over each seed's defined images, mean ±
    SE over seeds, labelled with the range of defined images per seed."""
    defined = np.isfinite(values).sum(axis=1)
    with warnings.catch_warnings():  # a seed without a defined image states NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        per_seed = reduce(values, axis=1)
    results.add(name, per_seed, "seeds", model=kind, images=f"{defined.min()}-{defined.max()}")


def saliency_study(
    models_by_seed: Mapping[int, Mapping[str, nn.Module]],
    images: torch.Tensor,
    seed: int = 0,
    masks: torch.Tensor | None = None,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    picture_methods: Sequence[str] = PICTURE_METHODS,
    picture_seed: int | None = None,
    ig_steps: int = IG_STEPS,
    curve_steps: int = CURVE_STEPS,
    picture_images: int | None = None,
) -> SaliencyStudy:
    """Integrated Gradients and random maps of every model of every seed, ``picture_methods``
    for the models of ``picture_seed`` (default: the first), all scored (pointing game with
    ``masks``; deletion/insertion at ``curve_steps``), and every model's unit maps; ``seed``
    seeds the random maps and SmoothGrad's noise.

    Args:
        models_by_seed: The models (images to logits), ``[seed][kind]``.
        images: Normalised test images ``(B, 3, H, W)``.
        seed: Seeds the random maps and SmoothGrad's noise.
        masks: Object masks ``(B, H, W)`` for the pointing game (synthetic data), or None.
        memory_budget_mb: Memory one batch of images may take.
        picture_methods: The methods computed for the models of ``picture_seed`` only.
        picture_seed: The seed whose models get ``picture_methods``; None for the first.
        ig_steps: Integrated Gradients' integration steps to start from.
        curve_steps: Steps of the deletion and insertion curves.
        picture_images: Compute ``picture_methods`` for the first this many images only and
            leave them unscored (their curves cost as much as IG's); None: every image, scored.

    Returns:
        The :class:`SaliencyStudy`, keyed by ``(seed, kind)``.

    Example:
        >>> study = saliency_study(
        ...     session.models_by_seed, images, seed=0, masks=masks, picture_seed=0
        ... )  # doctest: +SKIP
    """
    models = {(s, kind): m for s, by_kind in models_by_seed.items() for kind, m in by_kind.items()}
    first = next(iter(models_by_seed)) if picture_seed is None else picture_seed
    if first not in models_by_seed:
        raise KeyError(f"picture_seed={first} has no models; the seeds are {list(models_by_seed)}.")
    found, probabilities = explain_methods(
        models, images, seed, (METHOD, RANDOM), memory_budget_mb, ig_steps
    )
    pictures, _ = explain_methods(
        {key: m for key, m in models.items() if key[0] == first},
        images[:picture_images],
        seed,
        methods=picture_methods,
        memory_budget_mb=memory_budget_mb,
    )
    merged = {**pictures, **found}
    maps = MethodMaps(
        {method: merged[method] for method in (*METHODS, RANDOM) if method in merged},
        found.completeness,
    )
    scored = maps if picture_images is None else found  # else the picture methods are not scored
    scores = score_methods(
        models,
        images,
        MethodMaps({method: maps[method] for method in scored}, maps.completeness),
        probabilities,
        masks,
        memory_budget_mb,
        curve_steps,
    )
    unit_maps, unit_values = head_unit_saliency(models, images, memory_budget_mb)
    return SaliencyStudy(maps, probabilities, scores, unit_maps, unit_values)
