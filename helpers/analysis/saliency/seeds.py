"""Saliency over seeds: the architecture's faithfulness, not one trained model's.

For every seed's models, on the same test images: Integrated Gradients' normalised deletion and
insertion gains over random maps and how alike the maps of the four hidden units are, each a
mean over the images that every model scores (an image whose curve one model leaves out, or
whose unit maps are undefined for one model, is left out for all, so the models are compared on
the same images); and IG's median relative completeness gap (a convergence check: Sundararajan
et al. ask for under 5 %). Stated as mean ± SE over seeds, with the number of common images;
the models compared paired by seed, as one family.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from helpers.analysis.results import Results
from helpers.analysis.saliency.maps import (
    RANDOM,
    explain_methods,
    head_unit_saliency,
    unit_similarity,
)
from helpers.analysis.saliency.scores import score_methods
from helpers.model.device import DEFAULT_MEMORY_BUDGET_MB

METHOD = "integrated_gradients"  # the method whose faithfulness is compared across seeds
GAINS = {  # name: (curve, sign of method area - random area that means "more faithful")
    "IG deletion gain over random (normalised)": ("deletion", -1),
    "IG insertion gain over random (normalised)": ("insertion", 1),
}
COMPLETENESS = "IG completeness gap (median, relative)"


def _common_mean(per_image: Mapping[str, np.ndarray]) -> tuple[dict[str, float], int]:
    """Each model's mean over the images where every model's value is defined, and their
    number (NaN means when there is none)."""
    common = np.all([np.isfinite(values) for values in per_image.values()], axis=0)
    means = {
        kind: float(values[common].mean()) if common.any() else float("nan")
        for kind, values in per_image.items()
    }
    return means, int(common.sum())


def seed_scores(
    models_by_seed: Mapping[int, Mapping[str, nn.Module]],
    images: torch.Tensor,
    seed: int = 0,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> dict[int, dict[str, tuple[dict[str, float], int]]]:
    """Every seed's models: ``[seed][score] -> (value per model, images it is over)``.

    All models are explained together, so each batch goes through the shared backbone once for
    every model of every seed (:mod:`.bank`)."""
    models = {(s, kind): m for s, by_kind in models_by_seed.items() for kind, m in by_kind.items()}
    maps, probabilities = explain_methods(
        models, images, seed, methods=(METHOD, RANDOM), memory_budget_mb=memory_budget_mb
    )
    scores = score_methods(models, images, maps, probabilities, memory_budget_mb=memory_budget_mb)
    method, reference = scores[METHOD], scores[RANDOM]
    unit_maps, _ = head_unit_saliency(models, images, memory_budget_mb)
    gaps = maps.completeness
    result: dict[int, dict[str, tuple[dict[str, float], int]]] = {}
    for s, by_kind in models_by_seed.items():
        keys = {kind: (s, kind) for kind in by_kind}
        one: dict[str, tuple[dict[str, float], int]] = {}
        for name, (mode, sign) in GAINS.items():
            area, chance = method.area(mode), reference.area(mode)
            one[name] = _common_mean(
                {k: sign * (area[key] - chance[key]) for k, key in keys.items()}
            )
        one["similarity of the unit maps"] = _common_mean(
            {kind: unit_similarity(unit_maps[key]) for kind, key in keys.items()}
        )
        one[COMPLETENESS] = (
            {kind: float(np.nanmedian(gaps[key])) for kind, key in keys.items()},
            int(min(np.isfinite(gaps[key]).sum() for key in keys.values())),
        )
        result[s] = one
    return result


def saliency_results(
    models_by_seed: Mapping[int, Mapping[str, nn.Module]],
    images: torch.Tensor,
    seed: int = 0,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> Results:
    """:func:`seed_scores` of every seed's models, as mean ± SE over seeds; the faithfulness
    gains and the unit-map similarity compared between models, paired by seed (one family)."""
    results = Results("saliency")
    per_seed = list(seed_scores(models_by_seed, images, seed, memory_budget_mb).values())
    for name in per_seed[0]:
        kinds = per_seed[0][name][0]
        values = {kind: [scores[name][0][kind] for scores in per_seed] for kind in kinds}
        common = [scores[name][1] for scores in per_seed]
        for kind, by_seed in values.items():
            results.add(name, by_seed, "seeds", model=kind, images=f"{min(common)}-{max(common)}")
        if name != COMPLETENESS:
            results.compare_models(name, values, "seeds")
    return results
