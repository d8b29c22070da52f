"""Activation capture with forward hooks, from the input pixels to the logits, with a cache.

Layer names: the backbone's ``input``, ``conv1``, ``layer1`` ... ``layer4``, ``avgpool`` (shared
by every model: the backbone is frozen and identical), then each head's own layers. The dressed
heads (``hybrid`` and its depth-0 control ``product``) have ``q_pre`` (their Linear 512 -> 4
output), ``q_in`` (the angles fed to the circuit, tanh(q_pre) * pi/2), ``q_out`` (the <Z_j>) and
``logits``; the classical twin ``512_nq_n`` has ``h_in`` (its Linear 512 -> 4 output), ``h_out``
(after ReLU) and ``logits``. :data:`COUNTERPARTS` pairs the layers at the same place: q_pre with
h_in (before the nonlinearity), q_out with h_out (what the last Linear reads), the logits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset, Subset

from helpers.config import Config
from helpers.declare import MODELS, QUANTUM_MODELS
from helpers.fingerprints import fingerprint
from helpers.io import load_cached, save_torch
from helpers.model.data import loader_workers
from helpers.model.device import images_per_batch
from helpers.progress import progress

BACKBONE_LAYERS = ("input", "conv1", "layer1", "layer2", "layer3", "layer4", "avgpool")
HEAD_LAYERS = {model.name: model.layers for model in MODELS}  # declared with each model
COUNTERPARTS = {"q_pre": "h_in", "q_out": "h_out", "logits": "logits"}  # dressed -> classical
MAX_FEATURES = 4096  # spatial layers are average-pooled to at most this many values per image


def layer_order(kind: str) -> list[str]:
    """The layers a model passes through, input first."""
    return [*BACKBONE_LAYERS, *HEAD_LAYERS[kind]]


@contextlib.contextmanager
def record_outputs(
    modules: Mapping[str, nn.Module], detach: bool = True
) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Record the output of every named module on each forward pass while the block runs.

    Example::

        with record_outputs({"q_out": head.q_layer}) as outputs:
            head(features)
        q_out = outputs["q_out"][0]
    """
    outputs: dict[str, list[torch.Tensor]] = {name: [] for name in modules}

    def hook(name: str) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def store(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            outputs[name].append(output.detach() if detach else output)

        return store

    handles = [module.register_forward_hook(hook(name)) for name, module in modules.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def backbone_modules(backbone: nn.Module) -> dict[str, nn.Module]:
    """The ResNet stages that hooks capture (``input`` is recorded separately)."""
    return {name: getattr(backbone, name) for name in BACKBONE_LAYERS if name != "input"}


def head_modules(head: nn.Module, kind: str) -> dict[str, nn.Module]:
    """The head's named hook points (missing ones, e.g. in ``512_n``, are left out)."""
    dressed = {"q_pre": "pre_net", "q_in": "encode", "q_out": "q_layer", "logits": "post_net"}
    classical = {"h_in": "pre_net", "h_out": "activation", "logits": "post_net"}
    attributes = dressed if kind in QUANTUM_MODELS else classical
    return {name: getattr(head, attr) for name, attr in attributes.items() if hasattr(head, attr)}


UNIT_LAYERS = {model.name: model.unit_layer for model in MODELS}  # the head's hidden units


def unit_layer(model: nn.Module, kind: str) -> nn.Module:
    """The module whose output is the head's units: the circuit's <Z_j> (hybrid) or the hidden
    ReLU units (classical); ``model`` is a head or a full model with a ``head``.

    Args:
        model: A head, or a whole model whose ``head`` attribute is one.
        kind: The model kind (one of :data:`~helpers.declare.MODELS`).

    Returns:
        The module: the quantum layer (a quantum model) or the hidden activation (classical).

    Example:
        >>> layer = unit_layer(models["hybrid"], "hybrid")  # the QuantumLayer  # doctest: +SKIP
    """
    head = getattr(model, "head", model)
    return head_modules(head, kind)[UNIT_LAYERS[kind]]


def pool_spatial(output: torch.Tensor, max_features: int | None = MAX_FEATURES) -> torch.Tensor:
    """Average-pool a ``(B, C, H, W)`` map to the largest square grid with C*h*w <= max_features.

    Vectors ``(B, D)`` and ``max_features=None`` pass through unchanged.
    """
    if max_features is None or output.dim() != 4 or output[0].numel() <= max_features:
        return output
    channels, height = output.shape[1], output.shape[2]
    side = max(1, min(height, int((max_features / channels) ** 0.5)))
    return functional.adaptive_avg_pool2d(output, side)


@torch.no_grad()
def head_outputs(head: nn.Module, kind: str, features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every named layer of a head run on backbone features ``(N, 512)``."""
    with record_outputs(head_modules(head, kind)) as outputs:
        head(features)
    return {name: values[0] for name, values in outputs.items()}


@torch.no_grad()
def capture(
    backbone: nn.Module,
    heads: Mapping[str, nn.Module],
    dataset: Dataset,
    batch_size: int = 64,
    max_features: int | None = MAX_FEATURES,
    num_workers: int = 0,
) -> tuple[dict[str, dict[str, torch.Tensor]], torch.Tensor]:
    """Activations of every named layer for all images of ``dataset``, and their labels.

    The activations are ``{"backbone": {layer: (N, ...)}, kind: {layer: (N, ...)}}``; the
    backbone runs once for all heads. Spatial maps are pooled by :func:`pool_spatial`.
    """
    captured: dict[str, dict[str, list[torch.Tensor]]] = {"backbone": {}, **{k: {} for k in heads}}
    labels = []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    device = next(backbone.parameters()).device
    for images, targets in progress(loader, desc="activations"):
        labels.append(torch.as_tensor(targets))
        with torch.inference_mode(), record_outputs(backbone_modules(backbone)) as outputs:
            features = backbone(images.to(device))
        outputs = {name: [value.cpu() for value in values] for name, values in outputs.items()}
        outputs["input"] = [images]
        features = features.cpu()
        for name in BACKBONE_LAYERS:
            captured["backbone"].setdefault(name, []).append(
                pool_spatial(outputs[name][0], max_features)
            )
        for kind, head in heads.items():
            for name, values in head_outputs(head, kind, features).items():
                captured[kind].setdefault(name, []).append(values)
    layers = {
        group: {name: torch.cat(parts) for name, parts in by_name.items()}
        for group, by_name in captured.items()
    }
    return layers, torch.cat(labels)


@dataclasses.dataclass
class Activations:
    """Captured activations of chosen test images, for every model."""

    layers: dict[str, dict[str, torch.Tensor]]
    labels: torch.Tensor
    indices: list[int]

    def of(self, kind: str) -> dict[str, torch.Tensor]:
        """The layers one model passes through, in order: backbone stages, then its head."""
        return {**self.layers["backbone"], **self.layers[kind]}

    def flat(self, kind: str, layer: str) -> torch.Tensor:
        """One layer as ``(N, D)`` vectors.

        Args:
            kind: The model (``"hybrid"``, ``"classical"``, ...); backbone layers are shared.
            layer: The layer's name (e.g. ``"q_out"``, ``"avgpool"``).

        Returns:
            The layer's activations flattened per image, as float32 ``(N, D)``.

        Example:
            >>> layers = {"backbone": {}, "hybrid": {"q_out": torch.zeros(5, 2, 2)}}
            >>> acts = Activations(layers, torch.zeros(5), list(range(5)))
            >>> tuple(acts.flat("hybrid", "q_out").shape)
            (5, 4)
        """
        return self.of(kind)[layer].flatten(1).float()


def _state_hash(module: nn.Module) -> str:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()[:16]


def cached_activations(
    cfg: Config,
    backbone: nn.Module,
    heads: Mapping[str, nn.Module],
    dataset: Dataset,
    indices: Sequence[int],
    split: str = "val",
    max_features: int | None = MAX_FEATURES,
) -> Activations:
    """:func:`capture` on ``dataset[indices]`` (a ``split`` of the data), stored once under
    ``cache_dir/activations``.

    The key covers the images (data, transform, weights, split, indices), the heads' trained
    weights and ``max_features``; retraining a head or changing any parameter makes a new entry.
    An unreadable entry is discarded with a warning and captured again.
    """
    key = fingerprint(
        cfg,
        "features",
        split=split,
        n_samples=len(dataset),
        indices=list(map(int, indices)),
        heads={kind: _state_hash(head) for kind, head in heads.items()},
        max_features=max_features,
    )
    path = cfg.cache_path / "activations" / f"{key}.pt"
    stored = load_cached(path, ("layers", "labels", "indices"))
    if stored is not None:
        return Activations(stored["layers"], stored["labels"], stored["indices"])
    layers, labels = capture(
        backbone,
        heads,
        Subset(dataset, list(indices)),
        batch_size=images_per_batch(
            cfg.memory_budget_mb, "inference", cfg.image_size, next(backbone.parameters()).device
        ),
        max_features=max_features,
        num_workers=loader_workers(),
    )
    save_torch({"layers": layers, "labels": labels, "indices": list(indices)}, path)
    return Activations(layers, labels, list(indices))


def head_activations(activations: Activations, heads: Mapping[str, nn.Module]) -> Activations:
    """``activations`` with the head layers of other heads (e.g. another seed's), run on the
    captured ``avgpool`` features; the backbone layers are shared, nothing is recomputed."""
    features = activations.layers["backbone"]["avgpool"].flatten(1)
    layers = {kind: head_outputs(head, kind, features) for kind, head in heads.items()}
    return Activations(
        {"backbone": activations.layers["backbone"], **layers},
        activations.labels,
        activations.indices,
    )
