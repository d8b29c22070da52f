"""The conclusions of notebook 03 in words: one seed's scores, the similarity of the units' maps
and the models' accuracy on the explained images (descriptive, ± SE over images)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from helpers.analysis.saliency import MIN_CURVE_CHANGE
from helpers.analysis.saliency.maps import COMPLETENESS_TARGET, MAX_IG_STEPS, finite_median
from helpers.present.tables import format_value


def _value(row: Mapping[str, object], score: str) -> str:
    return format_value(float(row[score]), float(row[f"{score}_se"]))


def describe_unit_similarity(similarity: Mapping[str, tuple[float, float]]) -> str:
    """One line per model: mean rank correlation between the maps of its different units.

    Args:
        similarity: ``(mean, standard error)`` over images of each model's unit-map
            similarity (``saliency.unit_similarity``), by model name.

    Returns:
        The lines, joined by newlines.

    Example:
        >>> print(describe_unit_similarity({"hybrid": (0.41, 0.02)}))  # doctest: +ELLIPSIS
        hybrid: mean rank correlation between the maps of different units 0.410 ± 0.020 (...)
    """
    return "\n".join(
        f"{name}: mean rank correlation between the maps of different units "
        f"{mean:.3f} ± {error:.3f} (± SE over images; one seed's model)"
        for name, (mean, error) in similarity.items()
    )


def _by_method(rows: list[dict[str, object]]) -> dict[str, dict[str, dict[str, object]]]:
    grouped: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(str(row["method"]), {})[str(row["model"])] = row
    return grouped


def _values(rows: Mapping[str, Mapping[str, object]], score: str) -> str:
    """``classical 0.100 ± 0.010, hybrid 0.200 ± 0.010``."""
    return ", ".join(f"{name} {_value(row, score)}" for name, row in rows.items())


def _counts(values: object) -> str:
    return ", ".join(str(value) for value in values)


def _describe_exclusions(summary: Mapping[str, Mapping[str, object]]) -> str:
    """The images left out of the normalised curves, per model and explained class (one
    method's summary rows)."""

    def count(row: Mapping[str, object]) -> str:
        left_out = int(row["images"]) - int(row["kept"])
        per_class = row.get("kept_by_class")
        kept = "" if per_class is None else f" (kept per explained class: {_counts(per_class)})"
        return f"{left_out} of {row['images']}{kept}"

    counts = "; ".join(f"{name} {count(row)}" for name, row in summary.items())
    return (
        "- Normalised curves leave out images whose intact probability of the explained class is "
        f"within {MIN_CURVE_CHANGE} of chance: {counts}; the same images for both curves and "
        "every method."
    )


def describe_scores(
    rows: list[dict[str, object]], gains: list[dict[str, object]], chance: float | None = None
) -> str:
    """A markdown summary of one seed's scores and gains over random maps, ± SE over images
    (descriptive: the comparisons between models are paired over seeds, in
    ``saliency.SaliencyStudy.results``).

    Gains are those of the normalised curves; when the rows carry them, it also states
    Integrated Gradients' relative completeness gap and the images the normalised curves
    exclude.

    Args:
        rows: One seed's score rows (``saliency.score_rows``), with a ``classical`` and a
            ``hybrid`` row per method.
        gains: The gains over random maps (``saliency.gains_over_random``).
        chance: The pointing game's chance level (a fraction), stated when given.

    Returns:
        Markdown: one bullet per method, then the exclusions, chance level and a note on ± SE.

    Example:
        >>> text = describe_scores(rows, gains, chance=0.25)  # doctest: +SKIP
    """
    summaries, gain_rows = _by_method(rows), _by_method(gains)
    lines = []
    for method, models in gain_rows.items():
        summary = summaries[method]
        first_row = next(iter(summary.values()))
        parts = [f"**{method.replace('_', ' ')}**"]
        if {"classical", "hybrid"} <= set(summary):  # the correlation needs both models
            parts[0] += (
                ": classical-hybrid rank correlation "
                f"{_value(summary['classical'], 'rank_corr_classical_hybrid')} "
                f"({summary['classical']['rank_corr_images']} images with non-constant maps)"
            )
        for score in ("deletion_gain", "insertion_gain"):
            parts.append(
                f"normalised {score.replace('_', ' ')} over random maps: {_values(models, score)}"
            )
        if "pointing_game" in first_row:
            parts.append(f"pointing game: {_values(summary, 'pointing_game')}")
        if "completeness_gap" in first_row:
            parts.append(
                "completeness gap |Σ attributions − ΔF| / |ΔF| (ΔF = F(x) − F(baseline), F the "
                f"explained logit): {_values(summary, 'completeness_gap')}"
            )
        lines.append("- " + "; ".join(parts) + ".")
    first = summaries[next(iter(gain_rows))] if gain_rows else None
    if first is not None and "kept" in next(iter(first.values())):
        lines.append(_describe_exclusions(first))
    if chance is not None:
        lines.append(f"- The pointing game's chance level is {chance:.0%}.")
    if lines:
        lines.append("- All ± are standard errors over images, for one seed's models.")
    return "\n".join(lines)


def describe_accuracy(probabilities: Mapping[str, torch.Tensor], labels: torch.Tensor) -> str:
    """Each model's accuracy on the explained images.

    Args:
        probabilities: Class probabilities ``(B, C)`` by model name.
        labels: True class indices ``(B,)``.

    Returns:
        One line per model, joined by newlines.

    Example:
        >>> import torch
        >>> print(describe_accuracy({"hybrid": torch.eye(2)}, torch.tensor([0, 0])))
        hybrid: accuracy 0.500 on these 2 images
    """
    return "\n".join(
        f"{name}: accuracy {(probs.argmax(1) == labels).float().mean():.3f} on these "
        f"{len(labels)} images"
        for name, probs in probabilities.items()
    )


def describe_convergence(gaps: Mapping[tuple[int, str], np.ndarray]) -> str:
    """Whether Integrated Gradients converged for every model: the models whose median
    completeness gap stayed above the target at the cap of ``MAX_IG_STEPS`` steps, named.

    Args:
        gaps: Each model's per-image relative completeness gaps, keyed ``(seed, kind)``
            (``study.maps.completeness``).

    Returns:
        One sentence.

    Example:
        >>> gaps = {(0, "hybrid"): np.array([0.01, 0.02]), (0, "classical"): np.array([0.03])}
        >>> print(describe_convergence(gaps))
        Integrated Gradients converged for all 2 models: median completeness gap under 5 %.
    """
    medians = {key: finite_median(values) for key, values in gaps.items()}
    above = {key: gap for key, gap in medians.items() if gap > COMPLETENESS_TARGET}
    target = f"{COMPLETENESS_TARGET:.0%}".replace("%", " %")
    if not above:
        return (
            f"Integrated Gradients converged for all {len(medians)} models: median "
            f"completeness gap under {target}."
        )
    named = ", ".join(
        f"seed {seed} {kind} ({gap:.0%})".replace("%", " %") for (seed, kind), gap in above.items()
    )
    return (
        f"Integrated Gradients did not converge for {len(above)} of {len(medians)} models at the "
        f"cap of {MAX_IG_STEPS} steps (median completeness gap above {target}): {named}. Their "
        "attributions do not sum to the output change, so their deletion and insertion scores, "
        "which enter the comparisons, rank pixels by an inexact integral."
    )
