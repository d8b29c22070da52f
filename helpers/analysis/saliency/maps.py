"""Saliency maps of whole batches: gradient, SmoothGrad and Integrated Gradients, per-unit maps,
and the maps of every model for every method (:func:`explain_methods`).

The methods follow Captum's definitions (``Saliency``, ``NoiseTunnel`` SmoothGrad,
``IntegratedGradients`` with its default Gauss-Legendre rule; the tests check the maps against
Captum's) but are computed by :mod:`.bank`, which sends every batch through the shared frozen
backbone once for all models instead of once per model, as Captum would."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from helpers.analysis.activations import record_outputs, unit_layer
from helpers.analysis.saliency.algorithms import (
    HeadBank,
    Key,
    gradient_maps,
    integrated_gradients_maps,
    smoothgrad_maps,
    unit_maps,
)
from helpers.model.device import DEFAULT_MEMORY_BUDGET_MB

METHODS = ("gradient", "smoothgrad", "integrated_gradients")
RANDOM = "random"  # reference "method": uniform random maps, the chance level of every score
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # noise std as a fraction of each image's range (Smilkov et al.: 10-20 %)
# Integration steps (Gauss-Legendre) to start from, doubled for each model whose median
# completeness gap is above COMPLETENESS_TARGET (Sundararajan et al.'s check), up to MAX_IG_STEPS;
# only those models are computed again (a backward pass per model is most of IG's cost), and a
# model still above the target at the cap is reported with its gap. At 224 px (random backbone,
# trained heads, 16 images) 8 steps gave median gaps of 0.0-1.6 % for the circuit heads and
# 0.7-7 % for the classical twins, one of which (gap 100 %: its ReLU units open only at the end
# of the path) would refine past 64 steps, one model costing as much as 15 at 8 steps; on the
# shared CIFAR models at 32 px, 16 steps gave 11-17 %.
IG_STEPS = 8
MAX_IG_STEPS = 32
COMPLETENESS_TARGET = 0.05
# |F(x) - F(baseline)| (logit units) below which IG's relative completeness gap is undefined:
# near-zero output changes would blow a relative gap up
COMPLETENESS_MIN_CHANGE = 1e-2


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``(B, C)``."""
    return model(images).softmax(dim=1)


def attribution_maps(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    method: str = "gradient",
    *,
    smoothgrad_samples: int = SMOOTHGRAD_SAMPLES,
    ig_steps: int = IG_STEPS,
    seed: int = 0,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> torch.Tensor:
    """Saliency of the pre-softmax logit of ``targets`` w.r.t. the input pixels, ``(B, H, W)``.

    ``gradient`` is Simonyan et al.'s map: max over colour channels of |d logit / d pixel|.
    ``smoothgrad`` averages that |gradient| over noisy copies (std = 15 % of each image's range)
    before the channel max. ``integrated_gradients`` is :func:`integrated_gradients`' map.
    ``random`` returns seeded uniform noise: the chance reference.
    """
    targets = torch.as_tensor(targets, dtype=torch.long)
    maps, _ = _maps(
        {0: model}, images, {0: targets}, method, seed, memory_budget_mb,
        smoothgrad_samples=smoothgrad_samples, ig_steps=ig_steps,
    )  # fmt: skip
    return maps[0]


def _maps(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    targets: Mapping[Key, torch.Tensor],
    method: str,
    seed: int,
    memory_budget_mb: int,
    *,
    smoothgrad_samples: int = SMOOTHGRAD_SAMPLES,
    ig_steps: int = IG_STEPS,
    ig_target: float = COMPLETENESS_TARGET,
) -> tuple[dict[Key, torch.Tensor], dict[Key, np.ndarray]]:
    """Every model's ``method`` maps of its ``targets`` and (IG, starting at ``ig_steps``, see
    :func:`converged_integrated_gradients`) completeness gaps, sharing the backbone's work
    between the models that share a backbone (:mod:`.bank`)."""
    if method == RANDOM:  # one random map for every model: its curves cost one set of passes
        generator = torch.Generator().manual_seed(seed)
        shared = torch.rand(images[:, 0].shape, generator=generator)
        return dict.fromkeys(models, shared), {}
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; use one of {(*METHODS, RANDOM)}.")
    images = images.detach()
    maps: dict[Key, torch.Tensor] = {}
    gaps: dict[Key, np.ndarray] = {}
    for bank in HeadBank.groups(models, images.shape[-1], memory_budget_mb):
        chosen = {key: targets[key] for key in bank.heads}
        if method == "gradient":
            maps.update(gradient_maps(bank, images, chosen))
        elif method == "smoothgrad":
            maps.update(
                smoothgrad_maps(bank, images, chosen, smoothgrad_samples, SMOOTHGRAD_NOISE, seed)
            )
        else:
            found, found_gaps = converged_integrated_gradients(
                bank, images, chosen, ig_steps, ig_target
            )
            maps.update(found)
            gaps.update(found_gaps)
    return maps, gaps


def converged_integrated_gradients(
    bank: HeadBank,
    images: torch.Tensor,
    targets: Mapping[Key, torch.Tensor],
    steps: int,
    target_gap: float = COMPLETENESS_TARGET,
) -> tuple[dict[Key, torch.Tensor], dict[Key, np.ndarray]]:
    """Integrated Gradients maps and completeness gaps of every head, each head's ``steps``
    doubled (up to ``MAX_IG_STEPS``) while its median gap is above ``target_gap`` (Sundararajan
    et al.'s recipe: add steps until the attributions sum to within 5 % of the output change).
    Only the heads still above the target are computed again: a backward pass per head is most
    of IG's cost, and the backbone's forward pass is shared by the heads refined together."""
    maps: dict[Key, torch.Tensor] = {}
    gaps: dict[Key, np.ndarray] = {}
    pending = dict(bank.heads)
    while pending:
        subset = dataclasses.replace(bank, heads=pending)
        chosen = {key: targets[key] for key in pending}
        attributions, change = integrated_gradients_maps(subset, images, chosen, steps)
        for key, found in attributions.items():
            gaps[key] = completeness_gap(found, change[key])
            maps[key] = found.sum(dim=1).abs()
        # NaN (no defined gap) counts as converged: more steps cannot define it
        pending = {
            key: head
            for key, head in pending.items()
            if finite_median(gaps[key]) > target_gap and steps < MAX_IG_STEPS
        }
        steps *= 2
    return maps, gaps


def finite_median(values: np.ndarray) -> float:
    """The median of the finite values (NaN when there is none)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def completeness_gap(attributions: torch.Tensor, change: torch.Tensor) -> np.ndarray:
    """IG's relative completeness gap per image: |sum(attributions) - change| / |change|, NaN
    where |change| < ``COMPLETENESS_MIN_CHANGE`` (see :func:`integrated_gradients`)."""
    shortfall = (attributions.sum(dim=(1, 2, 3)) - change).abs()
    defined = change.abs() >= COMPLETENESS_MIN_CHANGE
    gap = torch.where(defined, shortfall / change.abs().clamp_min(1e-30), torch.nan)
    return gap.double().numpy()


def integrated_gradients(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    steps: int = IG_STEPS,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    target_gap: float = COMPLETENESS_TARGET,
) -> tuple[torch.Tensor, np.ndarray]:
    """Integrated Gradients maps ``(B, H, W)`` and each image's relative completeness gap ``(B,)``.

    The attributions integrate the gradient of the ``targets`` logit F from a zero baseline (the
    dataset's mean colour in normalised space) with Gauss-Legendre quadrature (Captum's default
    rule); the map is |sum over channels|, the usual reduction for signed attributions.
    Completeness (Sundararajan et al. 2017) says the attributions sum to F(x) - F(baseline); the
    gap is the shortfall relative to that change (so that it does not depend on each model's
    logit scale). It is a quadrature error that shrinks as the steps grow: they start at
    ``steps`` and double while the median gap is above ``target_gap`` (``math.inf``: exactly
    ``steps``); NaN where |F(x) - F(baseline)| < ``COMPLETENESS_MIN_CHANGE``.
    """
    targets = torch.as_tensor(targets, dtype=torch.long)
    maps, gaps = _maps(
        {0: model}, images, {0: targets}, "integrated_gradients", 0, memory_budget_mb,
        ig_steps=steps, ig_target=target_gap,
    )  # fmt: skip
    return maps[0], gaps[0]


def unit_saliency(
    model: nn.Module, images: torch.Tensor, unit_layer: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input saliency of every unit of one layer: ``(B, units, H, W)`` and the units' values.

    For the hybrid head, ``unit_layer = model.head.q_layer`` gives "what qubit j looks at": the
    max over channels of |d<Z_j> / d pixel|. For the classical twin, ``model.head.activation``
    gives its hidden units (a ReLU unit that is off for an image has a zero map).
    """
    images = images.detach().clone().requires_grad_(True)
    with record_outputs({"units": unit_layer}, detach=False) as outputs:
        model(images)
    units = outputs["units"][0]
    maps = []
    for j in range(units.shape[1]):
        (grad,) = torch.autograd.grad(units[:, j].sum(), images, retain_graph=True)
        maps.append(grad.abs().amax(dim=1))
    return torch.stack(maps, dim=1), units.detach()


def rank_correlation(maps_a: torch.Tensor, maps_b: torch.Tensor) -> np.ndarray:
    """Spearman correlation between two sets of maps, one value per image ``(B,)``.

    NaN where a map is constant (e.g. all zero: every hidden ReLU unit is off for that image, so
    the logit does not depend on the pixels and the correlation is undefined).
    """
    return _ranked_correlation(_normalised_ranks(maps_a), _normalised_ranks(maps_b))


def _normalised_ranks(maps: torch.Tensor) -> np.ndarray:
    """Each map's pixel ranks (ties averaged), centred and scaled to unit norm (all zero for a
    constant map), ``(B, H*W)``."""
    ranks = rankdata(maps.flatten(1).numpy(), axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1, keepdims=True)
    return np.divide(ranks, norms, out=np.zeros_like(ranks), where=norms > 0)


def _ranked_correlation(ranks_a: np.ndarray, ranks_b: np.ndarray) -> np.ndarray:
    """Spearman correlation of :func:`_normalised_ranks` rows, NaN where either map is constant."""
    defined = ranks_a.any(axis=1) & ranks_b.any(axis=1)
    return np.where(defined, (ranks_a * ranks_b).sum(axis=1), np.nan)


class MethodMaps(dict[str, dict[str, torch.Tensor]]):
    """Maps ``[method][model]`` (a plain dict otherwise), with ``completeness[model]``: Integrated
    Gradients' relative completeness gap of every image (:func:`integrated_gradients`), which
    :func:`~helpers.analysis.saliency.scores.score_methods` reports with the IG scores."""

    def __init__(
        self,
        maps: Mapping[str, dict[str, torch.Tensor]] | None = None,
        completeness: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(maps or {})
        self.completeness: dict[str, np.ndarray] = dict(completeness or {})


def _explain(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    method: str,
    seed: int,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> tuple[dict[Key, torch.Tensor], dict[Key, torch.Tensor], dict[Key, np.ndarray]]:
    """:func:`explain`, plus each model's IG completeness gaps (empty for other methods)."""
    probabilities = predict_all(models, images, memory_budget_mb)
    targets = {name: probs.argmax(dim=1) for name, probs in probabilities.items()}
    maps, gaps = _maps(models, images, targets, method, seed, memory_budget_mb)
    return maps, probabilities, gaps


def predict_all(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> dict[Key, torch.Tensor]:
    """Every model's class probabilities ``(B, C)``, one backbone pass per shared backbone."""
    probabilities: dict[Key, torch.Tensor] = {}
    for bank in HeadBank.groups(models, images.shape[-1], memory_budget_mb):
        probabilities.update(bank.probabilities(images))
    return probabilities


def explain(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    method: str = "gradient",
    seed: int = 0,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> tuple[dict[Key, torch.Tensor], dict[Key, torch.Tensor]]:
    """Every model's maps of its predicted class, and its class probabilities, keyed by model.

    Random reference maps are one seeded draw, the same for every model.
    """
    maps, probabilities, _ = _explain(models, images, method, seed, memory_budget_mb)
    return maps, probabilities


def explain_methods(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    seed: int = 0,
    methods: Sequence[str] = (*METHODS, RANDOM),
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    ig_steps: int = IG_STEPS,
) -> tuple[MethodMaps, dict[Key, torch.Tensor]]:
    """:func:`explain` for every method (default: all, and the random reference): maps
    ``[method][model]`` (with IG's completeness gaps, see :class:`MethodMaps`) and each model's
    class probabilities. Models may be keyed by kind or by (seed, kind): every model on one
    backbone shares its passes."""
    probabilities = predict_all(models, images, memory_budget_mb)
    targets = {name: probs.argmax(dim=1) for name, probs in probabilities.items()}
    maps = MethodMaps()
    for method in methods:
        maps[method], gaps = _maps(
            models, images, targets, method, seed, memory_budget_mb, ig_steps=ig_steps
        )
        maps.completeness.update(gaps)
    return maps, probabilities


def head_unit_saliency(
    models: Mapping[Key, nn.Module],
    images: torch.Tensor,
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
) -> tuple[dict[Key, torch.Tensor], dict[Key, torch.Tensor]]:
    """:func:`unit_saliency` of each model's hidden units (qubits' <Z_j>, classical ReLU units):
    maps and values keyed like ``models`` (by kind, or by (seed, kind))."""
    maps: dict[Key, torch.Tensor] = {}
    values: dict[Key, torch.Tensor] = {}
    for bank in HeadBank.groups(models, images.shape[-1], memory_budget_mb):
        layers = {key: unit_layer(models[key], _kind(key)) for key in bank.heads}
        found_maps, found_values = unit_maps(bank, images.detach(), layers)
        maps.update(found_maps)
        values.update(found_values)
    return maps, values


def _kind(key: Key) -> str:
    """The model kind of a key: the key itself, or the last entry of a (seed, kind) key."""
    return key[-1] if isinstance(key, tuple) else key


def unit_similarity(unit_maps: torch.Tensor) -> np.ndarray:
    """Mean rank correlation between the maps of different units of one image, ``(B,)``.

    Near 1: all units (qubits) look at the same pixels; near 0: they look at different ones.

    Args:
        unit_maps: Per-unit saliency maps ``(B, U, H, W)`` (:func:`unit_saliency`).

    Returns:
        The mean over unit pairs of the maps' rank correlation, per image ``(B,)`` (NaN where
        every unit's map is undefined).

    Example:
        >>> maps = torch.rand(2, 1, 8, 8).repeat(1, 3, 1, 1)  # three units, the same map
        >>> unit_similarity(maps).round(3)
        array([1., 1.])
    """
    ranks = [_normalised_ranks(unit_maps[:, unit]) for unit in range(unit_maps.shape[1])]
    pairs = [
        _ranked_correlation(ranks[a], ranks[b])
        for a in range(len(ranks))
        for b in range(a + 1, len(ranks))
    ]
    with warnings.catch_warnings():  # all-NaN rows (every unit off) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(pairs, axis=1), axis=1)
