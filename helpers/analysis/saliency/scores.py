"""Quantitative checks of saliency maps: deletion/insertion curves (Petsiuk et al. 2018), raw and
normalised per image, the pointing game (Zhang et al. 2016), and gains over random maps."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

import numpy as np
import torch
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from helpers.analysis.saliency.algorithms import (
    HeadBank,
    Key,
    curve_features,
    target_probabilities,
)
from helpers.analysis.saliency.maps import RANDOM, MethodMaps, rank_correlation
from helpers.analysis.stats import mean_and_error
from helpers.model.device import DEFAULT_MEMORY_BUDGET_MB

MODES = ("deletion", "insertion")
# deletion/insertion evaluated at 0, 1/15, ..., 1 of the pixels: 16 points (coarser than Petsiuk
# et al.'s one point per 224 pixels: a step changes 3,345 pixels at 224 px); each interior point
# is one backbone pass per image and map, most of notebook 03's cost
CURVE_STEPS = 15
INSERTION_BLUR_SIGMA = 0.1  # of the image side: the blurred canvas insertion starts from
# Intact probability above chance below which a curve's normalisation is undefined
MIN_CURVE_CHANGE = 0.02


def saliency_order(maps: torch.Tensor) -> torch.Tensor:
    """Pixel indices ``(B, H*W)`` from most to least salient (ties in raster order)."""
    return maps.flatten(1).argsort(dim=1, descending=True, stable=True)


def perturbation_curves(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    order: torch.Tensor,
    mode: str,
    steps: int = CURVE_STEPS,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> torch.Tensor:
    """Target-class probability as pixels are deleted or inserted in ``order``: ``(B, steps+1)``.

    ``deletion`` replaces pixels of the image, most salient first, by the mean colour (zero in
    normalised space); ``insertion`` copies them, most salient first, onto a blurred version of
    the image. Column k holds the probability after k/steps of the pixels were changed. A good
    map makes deletion fall fast (small area) and insertion rise fast (large area).
    """
    curves = model_curves(
        {0: model}, images, {0: targets}, {0: order}, mode=mode, steps=steps,
        memory_budget_mb=memory_budget_mb,
    )  # fmt: skip
    return curves[0]


def curve_canvas(images: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Where a ``mode`` curve starts and ends: the image and the mean colour (deletion), or a
    blurred copy and the image (insertion)."""
    _check_mode(mode)
    if mode == "deletion":
        return images, torch.zeros_like(images)
    sigma = INSERTION_BLUR_SIGMA * max(images.shape[-2:])
    kernel = 2 * int(3 * sigma) + 1
    return gaussian_blur(images, [kernel, kernel], [sigma, sigma]), images


def model_curves(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    targets: Mapping[Key, torch.Tensor],
    orders: Mapping[Key, torch.Tensor],
    *,
    mode: Literal["deletion", "insertion"],
    steps: int = CURVE_STEPS,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> dict[Key, torch.Tensor]:
    """:func:`perturbation_curves` of every model with its own pixel order, ``(B, steps+1)``
    each; models on one backbone share the end points and every order object they share."""
    start, end = curve_canvas(images.detach(), mode)
    curves: dict[Key, torch.Tensor] = {}
    for bank in HeadBank.groups(models, images.shape[-1], memory_budget_mb):
        paths = curve_features(bank, start, end, {key: orders[key] for key in bank.heads}, steps)
        curves.update(target_probabilities(bank, paths, targets))
    return curves


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: use 'deletion' or 'insertion'.")


def normalise_curves(
    curves: torch.Tensor, mode: str, chance: float, min_change: float = MIN_CURVE_CHANGE
) -> torch.Tensor:
    """Each curve of :func:`perturbation_curves` as the probability above chance, relative to the
    intact image's, ``(B, K)``: ``(p_k - chance) / (p_intact - chance)``.

    ``chance`` is 1 / the number of classes, the same for every class, so the reference level is
    class-neutral: unlike the curve's other end point (the mean-colour image under deletion,
    which a model gives one class strongly), it drops no image for the class it is explained
    as. Deletion starts at 1 and a faithful map drives it to 0 (chance) or below fast; insertion
    ends at 1. An affine squeeze of every probability towards chance (a probability ceiling below
    1, as the hybrid head's bounded logits give) leaves it unchanged. Rows whose intact
    probability is within ``min_change`` of chance (the model is unsure of the image, or the
    target is not its prediction) are NaN: the same images for both modes and every method.
    """
    _check_mode(mode)
    intact = curves[:, :1] if mode == "deletion" else curves[:, -1:]
    above = intact - chance
    return torch.where(above >= min_change, (curves - chance) / above, torch.nan)


def curve_area(curves: torch.Tensor) -> np.ndarray:
    """Area under each curve over the changed fraction in [0, 1] (trapezoid rule), ``(B,)``."""
    fractions = np.linspace(0, 1, curves.shape[1])
    return np.trapezoid(curves.numpy(), fractions, axis=1)


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, tolerance: int = 0) -> np.ndarray:
    """Whether each map's maximum lies within ``tolerance`` pixels of the object mask, ``(B,)``."""
    batch, _, width = maps.shape
    peak = maps.flatten(1).argmax(dim=1)
    rows, cols = peak // width, peak % width
    if tolerance:
        masks = torch.nn.functional.max_pool2d(
            masks[:, None].float(), 2 * tolerance + 1, stride=1, padding=tolerance
        )[:, 0].bool()
    return masks[torch.arange(batch), rows, cols].numpy()


@dataclasses.dataclass
class SaliencyScores:
    """Per-image scores of one saliency method for every model (arrays of length N).

    ``deletion_curves``/``insertion_curves`` hold the raw probabilities of the explained class
    ``(N, steps+1)``; :meth:`curves` and :meth:`area` give them normalised per image against
    ``chance`` (1 / the number of classes; :func:`normalise_curves`, the primary score) or raw.
    ``completeness`` holds Integrated Gradients' relative completeness gap per model and image
    (``integrated_gradients``); ``targets`` the class each model explains per image, which the
    summary counts the kept images by.
    """

    method: str
    deletion_curves: dict[str, torch.Tensor]
    insertion_curves: dict[str, torch.Tensor]
    rank_correlation: np.ndarray
    pointing: dict[str, np.ndarray] | None
    completeness: dict[str, np.ndarray] | None = None
    chance: float = 0.5
    targets: dict[str, torch.Tensor] | None = None

    def curves(self, mode: str, normalised: bool = True) -> dict[str, torch.Tensor]:
        """Every model's ``mode`` curves, normalised per image (NaN rows: excluded) or raw."""
        _check_mode(mode)
        raw = self.deletion_curves if mode == "deletion" else self.insertion_curves
        if not normalised:
            return dict(raw)
        return {m: normalise_curves(c, mode, self.chance) for m, c in raw.items()}

    def area(self, mode: str, normalised: bool = True) -> dict[str, np.ndarray]:
        """Every model's area under its ``mode`` curves, ``(N,)`` (NaN for excluded images)."""
        return {model: curve_area(c) for model, c in self.curves(mode, normalised).items()}

    def kept(self) -> dict[str, np.ndarray]:
        """Per model, whether each image's normalised curves are defined, ``(N,)`` (the same for
        both modes: its intact probability is above chance by ``MIN_CURVE_CHANGE``)."""
        return {m: c[:, 0].isfinite().numpy() for m, c in self.curves("deletion").items()}

    def select(self, keys: Mapping[Key, Key], maps: Mapping[Key, torch.Tensor]) -> SaliencyScores:
        """The scores of the models ``keys`` (new name -> name here) that have them, renamed;
        the classical-hybrid rank correlation is that of their ``maps`` (by new name)."""

        def pick(values: Mapping[Key, object] | None) -> dict | None:
            if values is None:
                return None
            return {new: values[old] for new, old in keys.items() if old in values}

        return dataclasses.replace(
            self,
            deletion_curves=pick(self.deletion_curves),
            insertion_curves=pick(self.insertion_curves),
            rank_correlation=_classical_hybrid_correlation(maps, len(self.rank_correlation)),
            pointing=pick(self.pointing),
            completeness=pick(self.completeness),
            targets=pick(self.targets),
        )

    def summary(self) -> list[dict[str, object]]:
        """One row per model: mean and standard error of every score.

        ``deletion_auc``/``insertion_auc`` are the normalised areas (over the ``kept`` images
        of ``images``; with ``targets``, ``kept_by_class`` counts them per explained class),
        ``*_auc_raw`` the areas in probability units over every image; IG rows add
        ``completeness_gap`` (relative, see ``integrated_gradients``) over
        ``completeness_images`` images where it is defined.
        """
        areas = {
            f"{mode}_auc{suffix}": self.area(mode, normalised)
            for mode in MODES
            for normalised, suffix in ((True, ""), (False, "_raw"))
        }
        kept = self.kept()
        rows = []
        for model, curves in self.deletion_curves.items():
            row: dict[str, object] = {"method": self.method, "model": model}
            scores = {name: by_model[model] for name, by_model in areas.items()}
            scores["rank_corr_classical_hybrid"] = self.rank_correlation
            if self.pointing is not None:
                scores["pointing_game"] = self.pointing[model]
            if self.completeness is not None:
                scores["completeness_gap"] = self.completeness[model]
            for name, values in scores.items():
                row[name], row[f"{name}_se"] = mean_and_error(values)
            row["images"], row["kept"] = len(curves), int(kept[model].sum())
            if self.targets is not None:
                classes = round(1 / self.chance)
                counts = np.bincount(self.targets[model].numpy()[kept[model]], minlength=classes)
                row["kept_by_class"] = counts.tolist()
            row["rank_corr_images"] = int(np.isfinite(self.rank_correlation).sum())
            if self.completeness is not None:
                row["completeness_images"] = int(np.isfinite(self.completeness[model]).sum())
            rows.append(row)
        return rows


def score_saliency(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    maps: Mapping[Key, torch.Tensor],
    targets: Mapping[Key, torch.Tensor],
    method: str,
    masks: torch.Tensor | None = None,
    completeness: Mapping[Key, np.ndarray] | None = None,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    steps: int = CURVE_STEPS,
    curves: Mapping[str, dict[Key, torch.Tensor]] | None = None,
    chance: float | None = None,
) -> SaliencyScores:
    """Deletion/insertion curves (``curves[mode]`` when already computed), classical-hybrid
    rank correlation (when both are among the models), pointing game (with ``masks``), and IG's
    ``completeness`` gaps when given; ``chance`` (1 / classes) is read off a model when None."""
    if curves is None:
        found = method_curves(models, images, {method: maps}, targets, steps, memory_budget_mb)
        curves = found[method]
    if chance is None:
        with torch.no_grad():
            chance = 1 / next(iter(models.values()))(images[:1]).shape[1]
    return SaliencyScores(
        method=method,
        deletion_curves=curves["deletion"],
        insertion_curves=curves["insertion"],
        rank_correlation=_classical_hybrid_correlation(maps, len(images)),
        pointing=None
        if masks is None
        else {name: pointing_game(m, masks) for name, m in maps.items()},
        completeness=None if completeness is None else dict(completeness),
        chance=chance,
        targets=dict(targets),
    )


def method_curves(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    maps: Mapping[str, Mapping[Key, torch.Tensor]],
    targets: Mapping[Key, torch.Tensor],
    steps: int = CURVE_STEPS,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> dict[str, dict[str, dict[Key, torch.Tensor]]]:
    """``[method][mode][model]``: the deletion/insertion curves of every model that has a map of
    each method. All of them share each mode's end points, and models that share one map (the
    random reference) share its curves' backbone passes."""
    orders: dict[int, torch.Tensor] = {}
    for by_model in maps.values():
        for chosen in by_model.values():
            orders.setdefault(id(chosen), saliency_order(chosen))
    pairs = [(method, name) for method, by_model in maps.items() for name in by_model]
    every = {
        mode: model_curves(
            {pair: models[pair[1]] for pair in pairs},
            images,
            {pair: targets[pair[1]] for pair in pairs},
            {(method, name): orders[id(maps[method][name])] for method, name in pairs},
            mode=mode,
            steps=steps,
            memory_budget_mb=memory_budget_mb,
        )
        for mode in MODES
    }
    return {
        method: {mode: {name: every[mode][(method, name)] for name in by_model} for mode in MODES}
        for method, by_model in maps.items()
    }


def _classical_hybrid_correlation(maps: Mapping[Key, torch.Tensor], n_images: int) -> np.ndarray:
    """Per image, the rank correlation of the classical and the hybrid map (NaN without both)."""
    if "classical" in maps and "hybrid" in maps:
        return rank_correlation(maps["classical"], maps["hybrid"])
    return np.full(n_images, np.nan)


def score_methods(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    maps: Mapping[str, Mapping[Key, torch.Tensor]],
    probabilities: Mapping[Key, torch.Tensor],
    masks: torch.Tensor | None = None,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    curve_steps: int = CURVE_STEPS,
) -> dict[str, SaliencyScores]:
    """:func:`score_saliency` of every method's maps, each model explaining its predicted class
    (the curves of every method computed together, :func:`method_curves`).

    Integrated Gradients' scores carry the completeness gaps of ``maps`` when it is the
    :class:`MethodMaps` of ``explain_methods``.
    """
    targets = {name: probs.argmax(1) for name, probs in probabilities.items()}
    gaps = maps.completeness if isinstance(maps, MethodMaps) and maps.completeness else None
    curves = method_curves(models, images, maps, targets, curve_steps, memory_budget_mb)
    return {
        method: score_saliency(
            models,
            images,
            by_model,
            targets,
            method,
            masks,
            completeness=gaps if method == "integrated_gradients" else None,
            curves=curves[method],
            chance=1 / next(iter(probabilities.values())).shape[1],
        )
        for method, by_model in maps.items()
    }


def score_rows(scores: Mapping[str, SaliencyScores]) -> list[dict[str, object]]:
    """Every method's :meth:`SaliencyScores.summary` rows, one list.

    Args:
        scores: Each method's :class:`SaliencyScores`, by method.

    Returns:
        One row per method and model: ``method``, ``model``, every score with its ``_se``, and
        the image counts.

    Example:
        >>> rows = score_rows(scores)  # doctest: +SKIP
    """
    return [row for score in scores.values() for row in score.summary()]


def gains_over_random(scores: Mapping[str, SaliencyScores]) -> list[dict[str, object]]:
    """Per method and model, how much better than random maps the curves are (paired by image).

    ``deletion_gain`` = random deletion area - method deletion area, ``insertion_gain`` = method
    insertion area - random insertion area, both of the normalised curves (the primary score: it
    does not depend on each model's probability scale; images excluded from them drop out);
    ``*_gain_raw`` are the same in probability units. Positive means more faithful than chance.

    Args:
        scores: Each method's :class:`SaliencyScores`, by method, including ``"random"``.

    Returns:
        One row per method (random excluded) and model: ``method``, ``model``, the four gains
        and their ``_se`` over images.

    Example:
        >>> gains = gains_over_random(scores)  # doctest: +SKIP
    """
    reference = scores[RANDOM]
    rows: list[dict[str, object]] = []
    for method, score in scores.items():
        if method == RANDOM:
            continue
        for model in score.deletion_curves:
            row: dict[str, object] = {"method": method, "model": model}
            for normalised, suffix in ((True, ""), (False, "_raw")):
                for mode, sign in (("deletion", -1), ("insertion", 1)):
                    gain = sign * (
                        score.area(mode, normalised)[model]
                        - reference.area(mode, normalised)[model]
                    )
                    name = f"{mode}_gain{suffix}"
                    row[name], row[f"{name}_se"] = mean_and_error(gain)
            rows.append(row)
    return rows
