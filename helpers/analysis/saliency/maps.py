"""Saliency maps of whole batches: gradient, SmoothGrad and Integrated Gradients (Captum), per-unit
maps, and the maps of every model for every method (:func:`explain_methods`)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
from PIL import Image
from scipy.stats import rankdata
from torch import nn

from helpers.analysis.activations import record_outputs, unit_layer
from helpers.config import Config
from helpers.model.data import image_transform

METHODS = ("gradient", "smoothgrad", "integrated_gradients")
RANDOM = "random"  # reference "method": uniform random maps, the chance level of every score
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # noise std as a fraction of the input range (Smilkov et al.: 10-20 %)
# Integration steps: enough for a median completeness gap under Sundararajan et al.'s 5 % on the
# shared CIFAR models (at 32 steps it was 5.5-7 %, at 256 about 1 %; the gap falls as ~1/steps)
IG_STEPS = 64
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
) -> torch.Tensor:
    """Saliency of the pre-softmax logit of ``targets`` w.r.t. the input pixels, ``(B, H, W)``.

    ``gradient`` is Simonyan et al.'s map: max over colour channels of |d logit / d pixel|.
    ``smoothgrad`` averages that |gradient| over noisy copies (std = 15 % of the input range)
    before the channel max. ``integrated_gradients`` is :func:`integrated_gradients`' map.
    ``random`` returns seeded uniform noise: the chance reference.
    """
    if method == RANDOM:
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(images[:, 0].shape, generator=generator)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is unknown; use one of {(*METHODS, RANDOM)}.")
    targets = torch.as_tensor(targets, dtype=torch.long)
    if method == "integrated_gradients":
        return integrated_gradients(model, images, targets, ig_steps)[0]
    images = images.detach().clone()
    spread = float(images.max() - images.min())
    images.requires_grad_(True)
    if method == "gradient":
        return Saliency(model).attribute(images, target=targets, abs=True).amax(dim=1).detach()
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


def integrated_gradients(
    model: nn.Module, images: torch.Tensor, targets: torch.Tensor, steps: int = IG_STEPS
) -> tuple[torch.Tensor, np.ndarray]:
    """Integrated Gradients maps ``(B, H, W)`` and each image's relative completeness gap ``(B,)``.

    The attributions integrate the gradient of the ``targets`` logit F from a zero baseline (the
    dataset's mean colour in normalised space); the map is |sum over channels|, the usual
    reduction for signed attributions. Completeness (Sundararajan et al. 2017) says the
    attributions sum to F(x) - F(baseline); Captum's convergence delta is the shortfall, and the
    gap is |delta| / |F(x) - F(baseline)| (relative, so that it does not depend on each model's
    logit scale). It is a quadrature error that shrinks as ``steps`` grows; NaN where
    |F(x) - F(baseline)| < ``COMPLETENESS_MIN_CHANGE``.
    """
    images = images.detach()
    targets = torch.as_tensor(targets, dtype=torch.long)
    attributions, delta = IntegratedGradients(model).attribute(
        images,
        target=targets,
        n_steps=steps,
        internal_batch_size=256,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        logits = model(torch.cat([images, torch.zeros_like(images)])).view(2, len(images), -1)
        change = (logits[0] - logits[1]).gather(1, targets[:, None])[:, 0].abs()
    defined = change >= COMPLETENESS_MIN_CHANGE
    gap = torch.where(defined, delta.detach().abs() / change.clamp_min(1e-30), torch.nan)
    return attributions.sum(dim=1).abs().detach(), gap.double().numpy()


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
    models: Mapping[str, nn.Module], images: torch.Tensor, method: str, seed: int
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, np.ndarray]]:
    """:func:`explain`, plus each model's IG completeness gaps (empty for other methods)."""
    maps, probabilities, gaps = {}, {}, {}
    for offset, (name, model) in enumerate(models.items()):
        probabilities[name] = predict(model, images)
        targets = probabilities[name].argmax(dim=1)
        if method == "integrated_gradients":
            maps[name], gaps[name] = integrated_gradients(model, images, targets)
        else:
            maps[name] = attribution_maps(model, images, targets, method, seed=seed + offset)
    return maps, probabilities, gaps


def explain(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    method: str = "gradient",
    seed: int = 0,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Every model's maps of its predicted class, and its class probabilities, keyed by model.

    Model k uses seed ``seed + k`` (so random reference maps differ between models).
    """
    maps, probabilities, _ = _explain(models, images, method, seed)
    return maps, probabilities


def explain_methods(
    models: Mapping[str, nn.Module],
    images: torch.Tensor,
    seed: int = 0,
    methods: Sequence[str] = (*METHODS, RANDOM),
) -> tuple[MethodMaps, dict[str, torch.Tensor]]:
    """:func:`explain` for every method (default: all, and the random reference): maps
    ``[method][model]`` (with IG's completeness gaps, see :class:`MethodMaps`) and each model's
    class probabilities."""
    maps = MethodMaps()
    probabilities: dict[str, torch.Tensor] = {}
    for method in methods:
        maps[method], probabilities, gaps = _explain(models, images, method, seed)
        maps.completeness.update(gaps)
    return maps, probabilities


def head_unit_saliency(
    models: Mapping[str, nn.Module], images: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """:func:`unit_saliency` of each model's hidden units (qubits' <Z_j>, classical ReLU units):
    maps and values keyed by model."""
    maps, values = {}, {}
    for kind in models:
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
