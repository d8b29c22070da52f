"""Saliency maps (Simonyan et al. 2013, SmoothGrad, Integrated Gradients) and their scores.

Every map is ``(B, H, W)``, non-negative, computed for a whole batch at once. Attribution methods
come from Captum, the field's library; this module adds the channel reduction, unit (per-qubit)
saliency, and the quantitative checks: rank correlation between two models' maps,
deletion/insertion curves (Petsiuk et al. 2018) and the pointing game (Zhang et al. 2016).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
from PIL import Image
from scipy.stats import rankdata
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from helpers.analysis.activations import record_outputs, unit_layer
from helpers.analysis.stats import mean_and_error
from helpers.config import Config
from helpers.model.data import image_transform

METHODS = ("gradient", "smoothgrad", "integrated_gradients")
RANDOM = "random"  # reference "method": uniform random maps, the chance level of every score
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # noise std as a fraction of the input range (Smilkov et al.: 10-20 %)
IG_STEPS = 32
CURVE_STEPS = 16  # deletion/insertion evaluated at 0, 1/16, ..., 1 of the pixels
INSERTION_BLUR_SIGMA = 0.1  # of the image side: the blurred canvas insertion starts from


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
) -> torch.Tensor:
    """Saliency of the pre-softmax logit of ``targets`` w.r.t. the input pixels, ``(B, H, W)``.

    ``gradient`` is Simonyan et al.'s map: max over colour channels of |d logit / d pixel|.
    ``smoothgrad`` averages that |gradient| over noisy copies (std = 15 % of the input range)
    before the channel max. ``integrated_gradients`` integrates from a zero baseline (the
    dataset's mean colour in normalised space) and takes |sum over channels|, the usual reduction
    for signed attributions. ``random`` returns seeded uniform noise: the chance reference.
    """
    if method == RANDOM:
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(images[:, 0].shape, generator=generator)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; use one of {(*METHODS, RANDOM)}.")
    images = images.detach().clone()
    spread = float(images.max() - images.min())
    images.requires_grad_(True)
    targets = torch.as_tensor(targets, dtype=torch.long)
    if method == "gradient":
        return Saliency(model).attribute(images, target=targets, abs=True).amax(dim=1).detach()
    if method == "smoothgrad":
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            grads = NoiseTunnel(Saliency(model)).attribute(
                images,
                nt_type="smoothgrad",
                nt_samples=smoothgrad_samples,
                nt_samples_batch_size=max(1, 256 // len(images)),
                stdevs=SMOOTHGRAD_NOISE * spread,
                target=targets,
                abs=True,
            )
        return grads.amax(dim=1).detach()
    attributions = IntegratedGradients(model).attribute(
        images, target=targets, n_steps=ig_steps, internal_batch_size=256
    )
    return attributions.sum(dim=1).abs().detach()


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
    ranks_a = rankdata(maps_a.flatten(1).numpy(), axis=1)
    ranks_b = rankdata(maps_b.flatten(1).numpy(), axis=1)
    ranks_a -= ranks_a.mean(axis=1, keepdims=True)
    ranks_b -= ranks_b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks_a, axis=1) * np.linalg.norm(ranks_b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (ranks_a * ranks_b).sum(axis=1) / norms, np.nan)


def saliency_order(maps: torch.Tensor) -> torch.Tensor:
    """Pixel indices ``(B, H*W)`` from most to least salient (ties in raster order)."""
    return maps.flatten(1).argsort(dim=1, descending=True, stable=True)


@torch.no_grad()
def perturbation_curves(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    order: torch.Tensor,
    mode: str,
    steps: int = CURVE_STEPS,
    max_batch: int = 128,
) -> torch.Tensor:
    """Target-class probability as pixels are deleted or inserted in ``order``: ``(B, steps+1)``.

    ``deletion`` replaces pixels of the image, most salient first, by the mean colour (zero in
    normalised space); ``insertion`` copies them, most salient first, onto a blurred version of
    the image. Column k holds the probability after k/steps of the pixels were changed. A good
    map makes deletion fall fast (small area) and insertion rise fast (large area). At most
    ``max_batch`` perturbed images go through the model at once.
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode={mode!r}: use 'deletion' or 'insertion'.")
    batch, channels, height, width = images.shape
    if mode == "deletion":
        start, end = images, torch.zeros_like(images)
    else:
        sigma = INSERTION_BLUR_SIGMA * max(height, width)
        kernel = 2 * int(3 * sigma) + 1
        start, end = gaussian_blur(images, [kernel, kernel], [sigma, sigma]), images
    n_pixels = height * width
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(n_pixels).expand(batch, -1))
    thresholds = (torch.linspace(0, 1, steps + 1) * n_pixels).round()
    changed = (rank[:, None, :] < thresholds[None, :, None]).view(
        batch, steps + 1, 1, height, width
    )
    curves = torch.empty(batch, steps + 1)
    chunk = max(1, max_batch // (steps + 1))
    for first in range(0, batch, chunk):
        part = slice(first, first + chunk)
        blended = torch.where(changed[part], end[part, None], start[part, None])
        probabilities = model(blended.view(-1, channels, height, width)).softmax(dim=1)
        probabilities = probabilities.view(-1, steps + 1, probabilities.shape[1])
        index = targets[part].view(-1, 1, 1).expand(-1, steps + 1, 1)
        curves[part] = probabilities.gather(2, index).squeeze(2)
    return curves


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
    """Per-image scores of one saliency method for every model (arrays of length N)."""

    method: str
    deletion_curves: dict[str, torch.Tensor]
    insertion_curves: dict[str, torch.Tensor]
    deletion_area: dict[str, np.ndarray]
    insertion_area: dict[str, np.ndarray]
    rank_correlation: np.ndarray
    pointing: dict[str, np.ndarray] | None

    def summary(self) -> list[dict[str, object]]:
        """One row per model: mean and standard error of every score."""
        rows = []
        for model in self.deletion_area:
            row: dict[str, object] = {"method": self.method, "model": model}
            scores = {
                "deletion_auc": self.deletion_area[model],
                "insertion_auc": self.insertion_area[model],
                "rank_corr_classical_hybrid": self.rank_correlation,
            }
            if self.pointing is not None:
                scores["pointing_game"] = self.pointing[model]
            for name, values in scores.items():
                row[name], row[f"{name}_se"] = mean_and_error(values)
            row["rank_corr_images"] = int(np.isfinite(self.rank_correlation).sum())
            rows.append(row)
        return rows


def score_saliency(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    maps: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    method: str,
    masks: torch.Tensor | None = None,
) -> SaliencyScores:
    """Deletion/insertion curves and areas, classical-hybrid rank correlation, pointing game."""
    curves: dict[str, dict[str, torch.Tensor]] = {"deletion": {}, "insertion": {}}
    for name, model in models.items():
        order = saliency_order(maps[name])
        for mode in curves:
            curves[mode][name] = perturbation_curves(model, images, targets[name], order, mode)
    return SaliencyScores(
        method=method,
        deletion_curves=curves["deletion"],
        insertion_curves=curves["insertion"],
        deletion_area={name: curve_area(c) for name, c in curves["deletion"].items()},
        insertion_area={name: curve_area(c) for name, c in curves["insertion"].items()},
        rank_correlation=rank_correlation(maps["classical"], maps["hybrid"]),
        pointing=None
        if masks is None
        else {name: pointing_game(m, masks) for name, m in maps.items()},
    )


def score_methods(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    maps: Mapping[str, Mapping[str, torch.Tensor]],
    probabilities: Mapping[str, torch.Tensor],
    masks: torch.Tensor | None = None,
) -> dict[str, SaliencyScores]:
    """:func:`score_saliency` of every method's maps, each model explaining its predicted class."""
    targets = {name: probs.argmax(1) for name, probs in probabilities.items()}
    return {
        method: score_saliency(models, images, by_model, targets, method, masks)
        for method, by_model in maps.items()
    }


def summary_rows(scores: Mapping[str, SaliencyScores]) -> list[dict[str, object]]:
    """Every method's :meth:`SaliencyScores.summary` rows, one list."""
    return [row for score in scores.values() for row in score.summary()]


def explain(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    method: str = "gradient",
    seed: int = 0,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Every model's maps of its predicted class, and its class probabilities, keyed by model.

    Model k uses seed ``seed + k`` (so random reference maps differ between models).
    """
    maps, probabilities = {}, {}
    for offset, (name, model) in enumerate(models.items()):
        probabilities[name] = predict(model, images)
        targets = probabilities[name].argmax(dim=1)
        maps[name] = attribution_maps(model, images, targets, method, seed=seed + offset)
    return maps, probabilities


def explain_methods(
    models: Mapping[str, nn.Module], images: torch.Tensor, seed: int = 0
) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """:func:`explain` for every method and the random reference: maps ``[method][model]`` and
    each model's class probabilities."""
    maps, probabilities = {}, {}
    for method in (*METHODS, RANDOM):
        maps[method], probabilities = explain(models, images, method, seed=seed)
    return maps, probabilities


def head_unit_saliency(
    models: Mapping[str, nn.Module], images: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """:func:`unit_saliency` of each model's hidden units (qubits' <Z_j>, classical ReLU units):
    maps and values keyed by model."""
    maps, values = {}, {}
    for kind in ("hybrid", "classical"):
        maps[kind], values[kind] = unit_saliency(
            models[kind], images, unit_layer(models[kind], kind)
        )
    return maps, values


def unit_similarity(unit_maps: torch.Tensor) -> np.ndarray:
    """Mean rank correlation between the maps of different units of one image, ``(B,)``.

    Near 1: all units (qubits) look at the same pixels; near 0: they look at different ones.
    """
    n_units = unit_maps.shape[1]
    pairs = [
        rank_correlation(unit_maps[:, a], unit_maps[:, b])
        for a in range(n_units)
        for b in range(a + 1, n_units)
    ]
    with warnings.catch_warnings():  # all-NaN rows (every unit off) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(pairs, axis=1), axis=1)


@dataclasses.dataclass
class Explanation:
    """Every model's saliency map of one image and its class probabilities."""

    name: str
    method: str
    image: torch.Tensor  # (1, 3, S, S), normalised
    maps: dict[str, torch.Tensor]  # model -> (1, S, S)
    probabilities: dict[str, torch.Tensor]  # model -> (1, C)


def explain_user_image(
    source: Image.Image | str | Path,
    models: Mapping[str, nn.Module],
    cfg: Config,
    method: str = "integrated_gradients",
) -> Explanation:
    """Both models' maps of any photo (a PIL image or a path), through the models' transform."""
    image = load_user_image(source, cfg)
    maps, probabilities = explain(models, image, method, seed=cfg.seed)
    name = str(source) if isinstance(source, str | Path) else "your image"
    return Explanation(name, method, image, maps, probabilities)


def load_user_image(source: Image.Image | str | Path, cfg: Config) -> torch.Tensor:
    """A PIL image or an image file, through the models' transform: ``(1, 3, S, S)``."""
    if not isinstance(source, Image.Image):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"user_image={str(path)!r}: no such image file.")
        source = Image.open(path)
    return image_transform(cfg)(source.convert("RGB"))[None]


def gains_over_random(scores: Mapping[str, SaliencyScores]) -> list[dict[str, object]]:
    """Per method and model, how much better than random maps the curves are (paired by image).

    ``deletion_gain`` = random deletion area - method deletion area, ``insertion_gain`` = method
    insertion area - random insertion area; positive means more faithful than chance. Comparing
    gains rather than raw areas removes each model's own probability scale.
    """
    reference = scores[RANDOM]
    rows: list[dict[str, object]] = []
    for method, score in scores.items():
        if method == RANDOM:
            continue
        for model in score.deletion_area:
            row: dict[str, object] = {"method": method, "model": model}
            row["deletion_gain"], row["deletion_gain_se"] = mean_and_error(
                reference.deletion_area[model] - score.deletion_area[model]
            )
            row["insertion_gain"], row["insertion_gain_se"] = mean_and_error(
                score.insertion_area[model] - reference.insertion_area[model]
            )
            rows.append(row)
    return rows
