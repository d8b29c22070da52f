"""Saliency maps (Simonyan et al. 2013, SmoothGrad, Integrated Gradients) and their scores.

Every map is ``(B, H, W)``, non-negative, computed for a whole batch at once. Attribution methods
come from Captum, the field's library; :mod:`.maps` adds the channel reduction, unit (per-qubit)
saliency and Integrated Gradients' completeness gap (Sundararajan et al. 2017); :mod:`.scores`
the quantitative checks: rank correlation between two models' maps, deletion/insertion curves
(Petsiuk et al. 2018), raw and normalised per image between their end points, and the pointing
game (Zhang et al. 2016).
"""

from helpers.analysis.saliency.maps import (
    METHODS,
    explain,
    predict,
    unit_saliency,
    unit_similarity,
)
from helpers.analysis.saliency.scores import (
    MIN_CURVE_CHANGE,
    MODES,
    SaliencyScores,
    gains_over_random,
    score_rows,
)
from helpers.analysis.saliency.seeds import ANALYSIS, PICTURED_IMAGES, saliency_study
from helpers.analysis.saliency.user_image import Explanation, explain_user_image, load_user_image

__all__ = [
    "ANALYSIS",
    "METHODS",
    "MIN_CURVE_CHANGE",
    "MODES",
    "PICTURED_IMAGES",
    "Explanation",
    "SaliencyScores",
    "explain",
    "explain_user_image",
    "gains_over_random",
    "load_user_image",
    "predict",
    "saliency_study",
    "score_rows",
    "unit_saliency",
    "unit_similarity",
]
