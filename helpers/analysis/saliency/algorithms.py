"""Many heads on one frozen backbone: saliency that shares the backbone's work between them.

Every model of a run (each kind, each seed) is the same frozen ResNet18 followed by its own head,
so a batch of images, noisy copies or integration points goes through the backbone **once** for
all heads; each head then needs only its own backward pass from the features to the pixels (a
vector-Jacobian product of the backbone's retained graph). Perturbed images whose pixel order
does not depend on the head (the random reference, the curves' end points) are also sent through
the backbone once and read by every head. Batches are sized from the run's memory budget
(:func:`helpers.model.device.images_per_batch`); every draw of noise is seeded per image, so the
maps do not depend on the batch size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from helpers.analysis.activations import record_outputs
from helpers.model.backbone import fast_copy
from helpers.model.device import images_per_batch
from helpers.progress import progress

Key = Hashable
# head, features (B, 512) and the batch's image indices -> the outputs to differentiate (B, U)
Outputs = Callable[[Key, nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def gauss_legendre(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Integration points ``alpha`` in (0, 1) and weights (summing to 1): Captum's default rule
    for Integrated Gradients."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return torch.as_tensor((nodes + 1) / 2, dtype=torch.float32), torch.as_tensor(
        weights / 2, dtype=torch.float32
    )


@dataclasses.dataclass
class HeadBank:
    """One frozen backbone and many heads (keyed by anything: a kind, or (seed, kind)).

    ``gradient_batch`` / ``inference_batch``: how many images one backbone pass with / without
    a retained graph may hold (from the memory budget).
    """

    backbone: nn.Module
    heads: dict[Key, nn.Module]
    gradient_batch: int = 32
    inference_batch: int = 128

    @classmethod
    def groups(
        cls, models: Mapping[Key, nn.Module], image_size: int, memory_budget_mb: int
    ) -> list[HeadBank]:
        """The models as banks, one per distinct backbone (a run's models share one). A model
        without ``backbone`` and ``head`` is a backbone whose head is the identity."""
        banks: dict[int, HeadBank] = {}
        for key, model in models.items():
            backbone = getattr(model, "backbone", model)
            head = getattr(model, "head", None) if backbone is not model else None
            if id(backbone) not in banks:
                device = next(backbone.parameters(), torch.empty(0)).device
                batches = {
                    f"{mode}_batch": images_per_batch(memory_budget_mb, mode, image_size, device)
                    for mode in ("gradient", "inference")
                }
                banks[id(backbone)] = cls(fast_copy(backbone), {}, **batches)
            bank = banks[id(backbone)]
            bank.heads[key] = head if head is not None else nn.Identity()
        return list(banks.values())

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters(), torch.empty(0)).device

    def chunks(self, total: int, size: int, desc: str) -> Iterator[slice]:
        starts = range(0, total, size)
        for first in progress(starts, desc=desc, total=len(starts)):
            yield slice(first, min(first + size, total))

    @torch.inference_mode()
    def features(self, images: torch.Tensor, desc: str = "features") -> torch.Tensor:
        """Backbone features ``(N, D)`` of ``images`` (on the CPU), batched."""
        parts = [
            self.backbone(images[part].to(self.device)).float().cpu()
            for part in self.chunks(len(images), self.inference_batch, desc)
        ]
        return torch.cat(parts)

    @torch.no_grad()
    def head_outputs(self, features: torch.Tensor) -> dict[Key, torch.Tensor]:
        """Every head's logits ``(N, C)`` on precomputed features (on the CPU)."""
        return {key: self.run_head(key, features).float().cpu() for key in self.heads}

    def run_head(self, key: Key, features: torch.Tensor) -> torch.Tensor:
        """Head ``key`` on ``features``, moved to the head's own device (heads may stay on the
        CPU beside a backbone on a GPU)."""
        head = self.heads[key]
        device = next(head.parameters(), features).device
        return head(features.to(device))

    def probabilities(self, images: torch.Tensor) -> dict[Key, torch.Tensor]:
        """Every head's class probabilities ``(N, C)``: one backbone pass for all heads."""
        logits = self.head_outputs(self.features(images, desc="predictions"))
        return {key: value.softmax(dim=1) for key, value in logits.items()}

    def input_gradients(
        self,
        inputs: torch.Tensor,
        indices: torch.Tensor,
        outputs: Outputs,
        keys: list[Key] | None = None,
    ) -> Iterator[tuple[Key, torch.Tensor, torch.Tensor]]:
        """For one batch: per head, ``outputs`` ``(B, U)`` and their gradients with respect to
        the pixels ``(B, U, 3, H, W)`` (on the CPU); one backbone forward pass serves all heads.
        ``indices`` are the batch's image indices, passed on to ``outputs``."""
        pixels = inputs.to(self.device, memory_format=torch.channels_last)
        pixels.requires_grad_(True)
        with torch.enable_grad():
            features = self.backbone(pixels)
            for key in keys if keys is not None else list(self.heads):
                head = self.heads[key]
                device = next(head.parameters(), features).device
                leaf = features.detach().to(device).requires_grad_(True)
                values = outputs(key, head, leaf, indices)
                grads = []
                for unit in range(values.shape[1]):
                    (towards,) = torch.autograd.grad(values[:, unit].sum(), leaf, retain_graph=True)
                    (grad,) = torch.autograd.grad(
                        features,
                        pixels,
                        grad_outputs=towards.to(features.device),
                        retain_graph=True,
                    )
                    grads.append(grad.float().cpu())
                yield key, values.detach().float().cpu(), torch.stack(grads, dim=1)

    def accumulate(
        self,
        images: torch.Tensor,
        samples: int,
        sample: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        outputs: Outputs,
        *,
        weights: torch.Tensor | None = None,
        absolute: bool = False,
        desc: str = "saliency",
    ) -> dict[Key, torch.Tensor]:
        """Per head, the weighted sum over ``samples`` inputs per image of the gradient of its
        (single) output, ``(N, 3, H, W)``: the core of SmoothGrad and Integrated Gradients.

        ``sample(images, image_index, sample_index)`` makes the batch's inputs; ``weights``
        ``(samples,)`` default to 1 / samples; ``absolute`` takes |gradient| before summing.
        """
        weights = torch.full((samples,), 1 / samples) if weights is None else weights
        totals = {key: torch.zeros(images.shape) for key in self.heads}
        pairs = torch.arange(len(images) * samples)
        for part in self.chunks(len(pairs), self.gradient_batch, desc):
            image_index, sample_index = pairs[part] // samples, pairs[part] % samples
            inputs = sample(images[image_index], image_index, sample_index)
            for key, _, grads in self.input_gradients(inputs, image_index, outputs):
                grads = grads[:, 0].abs() if absolute else grads[:, 0]
                totals[key].index_add_(
                    0, image_index, grads * weights[sample_index, None, None, None]
                )
        return totals


def _target_logits(targets: Mapping[Key, torch.Tensor]) -> Outputs:
    """Outputs: each head's logit of its own target class for each image, ``(B, 1)``."""

    def outputs(key: Key, head: nn.Module, features: torch.Tensor, index: torch.Tensor):
        chosen = targets[key][index].to(features.device)[:, None]
        return head(features).gather(1, chosen)

    return outputs


def gradient_maps(
    bank: HeadBank, images: torch.Tensor, targets: Mapping[Key, torch.Tensor]
) -> dict[Key, torch.Tensor]:
    """Simonyan et al.'s maps ``(N, H, W)`` of every head: max over channels of |d logit / d
    pixel| of its target class."""
    grads = bank.accumulate(
        images, 1, lambda x, i, k: x, _target_logits(targets), absolute=True, desc="gradient"
    )
    return {key: grad.amax(dim=1) for key, grad in grads.items()}


def smoothgrad_maps(
    bank: HeadBank,
    images: torch.Tensor,
    targets: Mapping[Key, torch.Tensor],
    samples: int,
    noise: float,
    seed: int,
) -> dict[Key, torch.Tensor]:
    """SmoothGrad (Smilkov et al. 2017) of every head: |gradient| averaged over ``samples``
    noisy copies (std ``noise`` x each image's own range, :func:`noise_scale`; the same copies
    for every head), then the max over channels."""
    std = noise_scale(images, noise)

    def noisy(batch: torch.Tensor, image: torch.Tensor, draw: torch.Tensor) -> torch.Tensor:
        return batch + torch.stack(
            [
                noise_draw(seed, int(i), int(k), batch.shape[1:], float(std[i]))
                for i, k in zip(image, draw, strict=True)
            ]
        )

    grads = bank.accumulate(
        images, samples, noisy, _target_logits(targets), absolute=True, desc="smoothgrad"
    )
    return {key: grad.amax(dim=1) for key, grad in grads.items()}


def noise_scale(images: torch.Tensor, noise: float) -> torch.Tensor:
    """SmoothGrad's noise std per image ``(N,)``: ``noise`` x (max - min) of that image alone,
    so an image's copies do not depend on the other images of its batch."""
    pixels = images.flatten(1)
    return noise * (pixels.amax(dim=1) - pixels.amin(dim=1))


def noise_draw(seed: int, image: int, draw: int, shape: torch.Size, std: float) -> torch.Tensor:
    """Noise draw ``draw`` of image ``image``: its own seeded generator, so the copies do not
    depend on how pairs are batched."""
    generator = torch.Generator().manual_seed((seed * 1_000_003 + image) * 1_009 + draw)
    return torch.randn(shape, generator=generator) * std


def integrated_gradients_maps(
    bank: HeadBank, images: torch.Tensor, targets: Mapping[Key, torch.Tensor], steps: int
) -> tuple[dict[Key, torch.Tensor], dict[Key, torch.Tensor]]:
    """Integrated Gradients (Sundararajan et al. 2017) from the zero baseline with Gauss-Legendre
    quadrature (Captum's default): per head, the attributions ``(N, 3, H, W)`` and the
    output change ``F(x) - F(0)`` ``(N,)`` of its target logit (completeness says the
    attributions sum to it)."""
    alphas, weights = gauss_legendre(steps)
    grads = bank.accumulate(
        images,
        steps,
        lambda batch, i, k: batch * alphas[k, None, None, None],
        _target_logits(targets),
        weights=weights,
        desc="integrated gradients",
    )
    at_images = bank.head_outputs(bank.features(images))
    at_baseline = bank.head_outputs(bank.features(torch.zeros_like(images[:1])))
    attributions, change = {}, {}
    for key, grad in grads.items():
        chosen = targets[key][:, None]
        attributions[key] = images * grad
        change[key] = (at_images[key].gather(1, chosen) - at_baseline[key][0, chosen]).squeeze(1)
    return attributions, change


def unit_maps(
    bank: HeadBank, images: torch.Tensor, layers: Mapping[Key, nn.Module]
) -> tuple[dict[Key, torch.Tensor], dict[Key, torch.Tensor]]:
    """Per head, the input saliency of every unit of its layer ``layers[key]`` (a module inside
    the head), ``(N, U, H, W)``, and the units' values ``(N, U)``."""

    def outputs(key: Key, head: nn.Module, features: torch.Tensor, index: torch.Tensor):
        with record_outputs({"units": layers[key]}, detach=False) as recorded:
            head(features)
        return recorded["units"][0]

    maps: dict[Key, list[torch.Tensor]] = {key: [] for key in layers}
    values: dict[Key, list[torch.Tensor]] = {key: [] for key in layers}
    for part in bank.chunks(len(images), bank.gradient_batch, "unit saliency"):
        index = torch.arange(len(images))[part]
        for key, value, grads in bank.input_gradients(images[part], index, outputs, list(layers)):
            maps[key].append(grads.abs().amax(dim=2))
            values[key].append(value)
    return {key: torch.cat(m) for key, m in maps.items()}, {
        key: torch.cat(v) for key, v in values.items()
    }


def pixel_ranks(order: torch.Tensor) -> torch.Tensor:
    """Each pixel's position ``(B, H*W)`` in a saliency ``order`` (0: most salient)."""
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1]).expand(len(order), -1))
    return rank


@torch.inference_mode()
def perturbed_features(
    bank: HeadBank, start: torch.Tensor, end: torch.Tensor, order: torch.Tensor, steps: int
) -> torch.Tensor:
    """Backbone features ``(N, steps - 1, D)`` of the images with k/steps of their pixels (in
    ``order``) taken from ``end`` and the rest from ``start``, for k = 1 .. steps-1 (the end
    points do not depend on the order: see :func:`curve_features`)."""
    batch, _, height, width = start.shape
    rank = pixel_ranks(order)
    thresholds = (torch.linspace(0, 1, steps + 1) * height * width).round()[1:-1]
    inner = steps - 1
    pairs = torch.arange(batch * inner)
    parts = []
    for part in bank.chunks(len(pairs), bank.inference_batch, "perturbation curves"):
        image, step = pairs[part] // inner, pairs[part] % inner
        changed = (rank[image] < thresholds[step, None]).view(-1, 1, height, width)
        blended = torch.where(changed, end[image], start[image])
        parts.append(bank.backbone(blended.to(bank.device)).float().cpu())
    return torch.cat(parts).view(batch, inner, -1)


def curve_features(
    bank: HeadBank,
    start: torch.Tensor,
    end: torch.Tensor,
    orders: Mapping[Key, torch.Tensor],
    steps: int,
) -> dict[Key, torch.Tensor]:
    """Per head, the features ``(N, steps + 1, D)`` along its deletion or insertion path: the end
    points are sent through the backbone once for all heads, and so is every order that several
    heads share (the same tensor object, e.g. the random reference)."""
    ends = bank.features(torch.cat([start, end]), desc="curve end points").view(2, len(start), -1)
    by_order: dict[int, torch.Tensor] = {}
    result = {}
    for key, order in orders.items():
        if id(order) not in by_order:
            inner = perturbed_features(bank, start, end, order, steps)
            by_order[id(order)] = torch.cat([ends[0][:, None], inner, ends[1][:, None]], dim=1)
        result[key] = by_order[id(order)]
    return result


@torch.no_grad()
def target_probabilities(
    bank: HeadBank, features: Mapping[Key, torch.Tensor], targets: Mapping[Key, torch.Tensor]
) -> dict[Key, torch.Tensor]:
    """Per head, the probability of its target class on each of its features ``(N, K, D)``:
    ``(N, K)``."""
    result = {}
    for key, path in features.items():
        logits = bank.run_head(key, path.flatten(0, 1)).float().cpu()
        probabilities = logits.softmax(dim=1).view(*path.shape[:2], -1)
        index = targets[key].view(-1, 1, 1).expand(-1, path.shape[1], 1)
        result[key] = probabilities.gather(2, index).squeeze(2)
    return result
