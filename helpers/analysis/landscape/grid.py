"""Loss grids L(θ + α δ + β η), evaluated with stacked weights; saved and re-plotted as ``.npz``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional

from helpers.analysis.landscape.directions import Parameters
from helpers.io import atomic_write
from helpers.progress import progress as show_progress
from helpers.quantum import QuantumLayer


def _stacked_layer(
    module: nn.Module, prefix: str, params: Parameters, x: torch.Tensor
) -> torch.Tensor:
    """Apply one layer to ``x`` ``(G, N, D)`` with the G parameter sets stacked in ``params``."""
    if isinstance(module, nn.Linear):
        out = torch.einsum("gni,goi->gno", x, params[f"{prefix}weight"])
        bias = params.get(f"{prefix}bias")
        return out if bias is None else out + bias[:, None, :]
    if isinstance(module, QuantumLayer):
        points, samples, width = x.shape
        weights = params[f"{prefix}weight"]
        rows = weights[:, None, :].expand(points, samples, weights.shape[1])
        out = module.forward_rows(x.reshape(-1, width), rows.reshape(points * samples, -1))
        return out.view(points, samples, -1)
    if next(module.parameters(), None) is None:
        return module(x)  # parameter-free, element-wise (ReLU, tanh * pi/2)
    raise TypeError(f"no stacked evaluation for {type(module).__name__}")


def stackable(head: nn.Module) -> bool:
    """Whether ``head`` is a chain of Linear / QuantumLayer / parameter-free element-wise layers."""
    return all(
        isinstance(m, nn.Linear | QuantumLayer) or next(m.parameters(), None) is None
        for m in head.children()
    ) and any(True for _ in head.children())


def stacked_outputs(
    head: nn.Module, params: Parameters, features: torch.Tensor, probe: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(G, N, C)`` of a chain head for G stacked parameter sets ``params[name] (G, ...)``,
    and the output ``(G, N, ...)`` of its child layer ``probe`` (the logits when None).

    The head's forward pass must apply its children in order (true for ``nn.Sequential`` heads
    and :class:`~helpers.model.heads.DressedQuantumHead`).
    """
    points = next(iter(params.values())).shape[0]
    x = features.expand(points, *features.shape)
    probed = None
    for name, module in head.named_children():
        x = _stacked_layer(module, f"{name}.", params, x)
        probed = x if name == probe else probed
    if probe is not None and probed is None:
        layers = [name for name, _ in head.named_children()]
        raise ValueError(f"{probe!r} is not a layer of the head; its layers are {layers}")
    return x, x if probe is None else probed


def stacked_logits(head: nn.Module, params: Parameters, features: torch.Tensor) -> torch.Tensor:
    """Logits ``(G, N, C)`` for G stacked parameter sets (see :func:`stacked_outputs`)."""
    return stacked_outputs(head, params, features)[0]


def _probed_call(
    model: nn.Module, params: Parameters, inputs: torch.Tensor, probe: str | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of ``model`` with ``params`` and the output of its submodule ``probe`` (a hook)."""
    captured: list[torch.Tensor] = []
    hook = None
    if probe is not None:
        module = model.get_submodule(probe)
        hook = module.register_forward_hook(lambda _m, _i, output: captured.append(output))
    try:
        logits = functional_call(model, params, (inputs,))
    finally:
        if hook is not None:
            hook.remove()
    return logits, captured[-1] if captured else logits


@torch.no_grad()
def evaluate_points(
    model: nn.Module,
    centre: Parameters,
    offsets: Sequence[Parameters] | Parameters,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    chunk: int = 64,
    progress: bool = False,
    probe: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean cross-entropy, accuracy and the mean over the inputs of the outputs of layer
    ``probe`` (the logits when None), ``(G, outputs)``, at θ + offset for every offset.

    ``offsets`` is a dict of stacked tensors ``(G, ...)`` (or a list of dicts). Chain heads are
    evaluated ``chunk`` points at a time with stacked weights; any other model (e.g. the whole
    network with its ResNet18) point by point with ``torch.func.functional_call``.
    """
    if not isinstance(offsets, Mapping):
        offsets = {name: torch.stack([o[name] for o in offsets]) for name in centre}
    points = next(iter(offsets.values())).shape[0]
    losses, accuracies = np.empty(points), np.empty(points)
    outputs: np.ndarray | None = None
    fixed = {name: p for name, p in model.named_parameters() if name not in centre}
    batched = stackable(model) and not fixed
    step = chunk if batched else 1
    starts = range(0, points, step)
    for first in show_progress(starts, desc="landscape", disable=not progress):
        part = slice(first, min(first + step, points))
        stacked = {name: centre[name] + offsets[name][part] for name in centre}
        if batched:
            logits, probed = stacked_outputs(model, stacked, inputs, probe)
        else:
            single = {name: value[0] for name, value in stacked.items()}
            logits, probed = _probed_call(model, {**fixed, **single}, inputs, probe)
            logits, probed = logits[None], probed[None]
        expanded = labels.expand(logits.shape[0], -1)
        loss = functional.cross_entropy(logits.flatten(0, 1), expanded.flatten(), reduction="none")
        losses[part] = loss.view(logits.shape[0], -1).mean(dim=1).double().numpy()
        accuracies[part] = (logits.argmax(-1) == expanded).double().mean(dim=1).numpy()
        means = probed.double().mean(dim=1).reshape(logits.shape[0], -1).numpy()
        outputs = np.empty((points, means.shape[1])) if outputs is None else outputs
        outputs[part] = means
    return losses, accuracies, outputs


def loss_at_centre(
    model: nn.Module, centre: Parameters, inputs: torch.Tensor, labels: torch.Tensor
) -> float:
    """The loss at θ itself, by the same evaluation path as the grid points."""
    zero = {name: torch.zeros_like(value)[None] for name, value in centre.items()}
    return float(evaluate_points(model, centre, zero, inputs, labels)[0][0])


@dataclasses.dataclass
class Landscape:
    """A 1-D (``betas`` empty) or 2-D loss landscape, saved as ``.npz`` and re-plotted from it."""

    kind: str
    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray  # (len(alphas),) or (len(alphas), len(betas))
    accuracy: np.ndarray
    centre_loss: float
    # grid shape + (outputs,): the mean over the inputs of layer ``probe``'s outputs
    outputs: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    probe: str = "logits"

    def save(self, path: Path) -> Path:
        """Write atomically as ``.npz``.

        Args:
            path: The file to write (e.g. ``surface_path(cfg, "hybrid_2d")``).

        Returns:
            ``path``.

        Example:
            >>> result.save(surface_path(cfg, "hybrid_2d"))  # doctest: +SKIP
        """

        arrays = {key: np.asarray(value) for key, value in dataclasses.asdict(self).items()}
        return atomic_write(path, lambda handle: np.savez(handle, **arrays))

    @classmethod
    def load(cls, path: Path) -> Landscape:
        """Read a landscape written by :meth:`save`.

        Args:
            path: The ``.npz`` file.

        Returns:
            The landscape, as it was saved.

        Example:
            >>> surface = Landscape.load(surface_path(cfg, "hybrid_2d"))  # doctest: +SKIP
        """
        with np.load(path) as stored:
            values = {key: stored[key] for key in stored.files}
        return cls(
            kind=str(values["kind"]),
            alphas=values["alphas"],
            betas=values["betas"],
            loss=values["loss"],
            accuracy=values["accuracy"],
            centre_loss=float(values["centre_loss"]),
            outputs=values.get("outputs", np.empty(0)),
            probe=str(values.get("probe", "logits")),
        )


def grid_offsets(
    directions: Sequence[Parameters], alphas: np.ndarray, betas: np.ndarray | None = None
) -> Parameters:
    """Stacked offsets α δ (+ β η) for every grid point, row-major over (alpha, beta)."""
    if betas is None or len(betas) == 0:
        coefficients = torch.as_tensor(alphas, dtype=torch.float64)[:, None]
    else:
        a, b = np.meshgrid(alphas, betas, indexing="ij")
        coefficients = torch.as_tensor(np.stack([a.ravel(), b.ravel()], axis=1))
    return {
        name: sum(
            coefficients[:, k].view(-1, *[1] * d[name].dim()).to(d[name].dtype) * d[name]
            for k, d in enumerate(directions[: coefficients.shape[1]])
        )
        for name in directions[0]
    }


def landscape(
    model: nn.Module,
    centre: Parameters,
    directions: Sequence[Parameters],
    inputs: torch.Tensor,
    labels: torch.Tensor,
    alphas: np.ndarray,
    betas: np.ndarray | None = None,
    kind: str = "",
    progress: bool = True,
    probe: str | None = None,
) -> Landscape:
    """L(θ + α δ + β η) on the grid (1-D when ``betas`` is None), with accuracy, the centre, and
    the mean outputs of layer ``probe`` (the logits when None) from the same forward passes.

    Args:
        model: The model whose loss is mapped (a head on cached features, or a whole network).
        centre: The trained parameters θ, by name (:func:`trained_parameters`); parameters of
            ``model`` not in it stay fixed.
        directions: δ (and η), each shaped like ``centre``; only the first is used in 1-D.
        inputs: The inputs the loss averages over, ``(N, ...)`` (features or images).
        labels: Their class indices ``(N,)``.
        alphas: Grid coordinates along δ, ``(A,)``.
        betas: Grid coordinates along η, ``(B,)``; None for a 1-D landscape.
        kind: The model's name, stored with the result.
        progress: Show a progress bar.
        probe: Name of a child layer whose mean outputs are recorded; None: the logits.

    Returns:
        The :class:`Landscape`: loss and accuracy ``(A,)`` or ``(A, B)`` (mean cross-entropy
        and fraction correct), and the loss at θ.

    Example:
        >>> alphas = np.linspace(-1, 1, 51)
        >>> line = landscape(head, centre, [delta], inputs, labels, alphas)  # doctest: +SKIP
        >>> surface = landscape(
        ...     head, centre, [delta, eta], inputs, labels, alphas, alphas, kind="hybrid"
        ... )  # doctest: +SKIP
    """
    offsets = grid_offsets(directions, alphas, betas)
    loss, accuracy, outputs = evaluate_points(
        model, centre, offsets, inputs, labels, progress=progress, probe=probe
    )
    shape = (len(alphas),) if betas is None else (len(alphas), len(betas))
    centre_loss = loss_at_centre(model, centre, inputs, labels)
    return Landscape(
        kind,
        np.asarray(alphas),
        np.asarray([] if betas is None else betas),
        loss.reshape(shape),
        accuracy.reshape(shape),
        centre_loss,
        outputs.reshape(*shape, -1),
        "logits" if probe is None else probe,
    )


def training_sample(
    features: torch.Tensor, labels: torch.Tensor, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` cached training feature vectors drawn at random: the data the loss averages over.

    Args:
        features: Cached backbone features ``(N, 512)``.
        labels: Their class indices ``(N,)``.
        n: How many to draw (all of them when ``n`` ≥ N), without replacement.
        generator: The random generator of the draw.

    Returns:
        The drawn features ``(n, 512)`` and their labels ``(n,)``.

    Example:
        >>> features, labels = torch.randn(100, 512), torch.zeros(100, dtype=torch.long)
        >>> inputs, targets = training_sample(features, labels, 10, torch.Generator())
        >>> tuple(inputs.shape), tuple(targets.shape)
        ((10, 512), (10,))
    """
    chosen = torch.randperm(len(features), generator=generator)[:n]
    return features[chosen], labels[chosen]
