"""Saliency maps (Simonyan et al. 2013, SmoothGrad, Integrated Gradients) and their scores.

Every map is ``(B, H, W)``, non-negative, computed for a whole batch at once. Attribution methods
come from Captum, the field's library; :mod:`.maps` adds the channel reduction, unit (per-qubit)
saliency and Integrated Gradients' completeness gap (Sundararajan et al. 2017); :mod:`.scores`
the quantitative checks: rank correlation between two models' maps, deletion/insertion curves
(Petsiuk et al. 2018), raw and normalised per image between their end points, and the pointing
game (Zhang et al. 2016).
"""

from helpers.analysis.saliency.maps import (
    COMPLETENESS_MIN_CHANGE,
    IG_STEPS,
    METHODS,
    RANDOM,
    SMOOTHGRAD_NOISE,
    SMOOTHGRAD_SAMPLES,
    Explanation,
    MethodMaps,
    attribution_maps,
    explain,
    explain_methods,
    explain_user_image,
    head_unit_saliency,
    integrated_gradients,
    load_user_image,
    predict,
    rank_correlation,
    unit_saliency,
    unit_similarity,
)
from helpers.analysis.saliency.scores import (
    CURVE_STEPS,
    INSERTION_BLUR_SIGMA,
    MIN_CURVE_CHANGE,
    MODES,
    SaliencyScores,
    curve_area,
    gains_over_random,
    normalise_curves,
    perturbation_curves,
    pointing_game,
    saliency_order,
    score_methods,
    score_rows,
    score_saliency,
)
from helpers.analysis.saliency.seeds import ANALYSIS, SaliencyStudy, SeedSaliency, saliency_study

__all__ = [
    "ANALYSIS",
    "COMPLETENESS_MIN_CHANGE",
    "CURVE_STEPS",
    "IG_STEPS",
    "INSERTION_BLUR_SIGMA",
    "METHODS",
    "MIN_CURVE_CHANGE",
    "MODES",
    "RANDOM",
    "SMOOTHGRAD_NOISE",
    "SMOOTHGRAD_SAMPLES",
    "Explanation",
    "MethodMaps",
    "SaliencyScores",
    "SaliencyStudy",
    "SeedSaliency",
    "attribution_maps",
    "curve_area",
    "explain",
    "explain_methods",
    "explain_user_image",
    "gains_over_random",
    "head_unit_saliency",
    "integrated_gradients",
    "load_user_image",
    "normalise_curves",
    "perturbation_curves",
    "pointing_game",
    "predict",
    "rank_correlation",
    "saliency_order",
    "saliency_study",
    "score_methods",
    "score_rows",
    "score_saliency",
    "unit_saliency",
    "unit_similarity",
]
