"""Filter-normalised and periodic directions in parameter space (Li et al. 2018)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from helpers.quantum import QuantumLayer

Parameters = dict[str, torch.Tensor]
QUANTUM_SCALES = ("norm", "period")


def trained_parameters(model: nn.Module, trainable_only: bool = True) -> Parameters:
    """Copies of the parameters of ``model`` by name: the trainable ones (requires_grad), or all
    of them (``trainable_only=False``: e.g. the frozen ResNet18 too, for whole-network plots).

    Args:
        model: The model (e.g. a trained head).
        trainable_only: Keep only the parameters that require gradients.

    Returns:
        Detached copies of the parameters, by name (the landscape's centre θ).

    Example:
        >>> sorted(trained_parameters(nn.Linear(4, 2)))
        ['bias', 'weight']
    """
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad or not trainable_only
    }


def quantum_parameters(model: nn.Module) -> dict[str, int]:
    """The circuit weights of every :class:`QuantumLayer` inside ``model``: parameter name ->
    the layer's width (qubits), the number of angles in one circuit layer.

    Args:
        model: The model to search (a head or a whole network).

    Returns:
        The widths by parameter name; empty for a model without a quantum layer.

    Example:
        >>> quantum_parameters(nn.Linear(4, 2))
        {}
        >>> quantum_parameters(hybrid_head)  # doctest: +SKIP
        {'q_layer.weight': 4}
    """
    return {
        f"{prefix}.weight" if prefix else "weight": module.n_qubits
        if module.weight.numel() % module.n_qubits == 0
        else module.weight.numel()  # a circuit whose weights are not in layers of n: one filter
        for prefix, module in model.named_modules()
        if isinstance(module, QuantumLayer)
    }


def _filters(tensor: torch.Tensor, width: int | None = None) -> torch.Tensor:
    """View a parameter as (filters, values per filter): rows along its first dimension, or
    consecutive groups of ``width`` values (a circuit layer's angles)."""
    return tensor.reshape(-1, width) if width else tensor.reshape(tensor.shape[0], -1)


def _rescale_filters(
    d: torch.Tensor, theta: torch.Tensor, width: int | None = None
) -> torch.Tensor:
    """``d`` with every filter rescaled to the norm of the same filter of ``theta``."""
    d_filters, theta_filters = _filters(d, width), _filters(theta, width)
    scale = theta_filters.norm(dim=1) / d_filters.norm(dim=1).clamp_min(1e-12)
    return (d_filters * scale[:, None]).reshape(theta.shape)


def filter_normalised_direction(
    params: Parameters,
    generator: torch.Generator,
    quantum: Mapping[str, int] | None = None,
    quantum_scale: str = "norm",
) -> Parameters:
    """A random Gaussian direction with Li et al.'s filter normalisation (see the package
    docstring). ``quantum`` maps circuit-weight names to their layer width
    (:func:`quantum_parameters`).

    Args:
        params: The centre θ, by name (:func:`trained_parameters`).
        generator: The random generator the direction is drawn from.
        quantum: Circuit-weight names and their layer widths; None: no circuit weights.
        quantum_scale: ``"norm"`` (each circuit layer is a filter) or ``"period"`` (about ±π
            per angle at α = ±1).

    Returns:
        The direction δ, a tensor shaped like each parameter of ``params`` (zero for 1-D ones).

    Example:
        >>> params = {"weight": torch.ones(2, 3)}
        >>> d = filter_normalised_direction(params, torch.Generator().manual_seed(0))
        >>> torch.allclose(d["weight"].norm(dim=1), params["weight"].norm(dim=1))
        True
    """
    if quantum_scale not in QUANTUM_SCALES:
        raise ValueError(f"quantum_scale={quantum_scale!r}: use one of {QUANTUM_SCALES}.")
    quantum = quantum or {}
    direction: Parameters = {}
    for name, theta in params.items():
        d = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        if name in quantum and quantum_scale == "period":
            d = d * (math.pi * math.sqrt(d.numel()) / d.norm())  # ~±π per angle at α = ±1
        elif name in quantum:
            d = _rescale_filters(d, theta, quantum[name])  # each circuit layer is one filter
        elif theta.dim() <= 1:
            d = torch.zeros_like(theta)  # biases and BatchNorm parameters are not perturbed
        else:
            d = _rescale_filters(d, theta)
        direction[name] = d
    return direction


def normalisation_report(
    centre: Parameters, direction: Parameters, quantum: Mapping[str, int] | None = None
) -> list[dict[str, object]]:
    """Per parameter: norms of θ and δ, and the largest |‖δ_i‖ / ‖θ_i‖ - 1| over its filters
    (0 for a filter-normalised direction; NaN for parameters left unperturbed).

    Args:
        centre: The centre θ, by name.
        direction: The direction δ, shaped like ``centre``.
        quantum: Circuit-weight names and their layer widths (a circuit layer is one filter).

    Returns:
        One row per parameter: ``parameter``, ``shape``, ``norm_theta``, ``norm_direction``,
        ``max_filter_mismatch``.

    Example:
        >>> params = {"weight": torch.ones(2, 3)}
        >>> d = filter_normalised_direction(params, torch.Generator().manual_seed(0))
        >>> normalisation_report(params, d)[0]["max_filter_mismatch"] < 1e-6
        True
    """
    quantum = quantum or {}
    rows: list[dict[str, object]] = []
    for name, theta in centre.items():
        d = direction[name]
        width = quantum.get(name)
        theta_filters, d_filters = _filters(theta, width), _filters(d, width)
        perturbed = bool(d.abs().sum() > 0)
        mismatch = (d_filters.norm(dim=1) / theta_filters.norm(dim=1).clamp_min(1e-12) - 1).abs()
        rows.append(
            {
                "parameter": name,
                "shape": tuple(theta.shape),
                "norm_theta": float(theta.norm()),
                "norm_direction": float(d.norm()),
                "max_filter_mismatch": float(mismatch.max()) if perturbed else float("nan"),
            }
        )
    return rows


def periodic_direction(
    params: Parameters,
    quantum: Iterable[str],
    generator: torch.Generator,
    scales: Mapping[str, torch.Tensor] | None = None,
) -> Parameters:
    """A direction that moves only the circuit weights, each by ±1 (random signs), or by
    ±``scales[name]`` (each weight's period / 2π, ``angle_periods``, for a circuit whose
    outputs are not 2π-periodic in every weight).

    Along it the loss is exactly 2π-periodic: every weight moves by one whole period of the
    trigonometric polynomials the circuit's outputs are in it.
    """
    quantum = set(quantum)
    if not quantum:
        raise ValueError("the model has no quantum weights: periodic directions need a circuit.")
    direction = {}
    for name, theta in params.items():
        if name in quantum:
            signs = torch.randint(0, 2, theta.shape, generator=generator).to(theta.dtype)
            direction[name] = (2 * signs - 1) * (1 if scales is None else scales[name])
        else:
            direction[name] = torch.zeros_like(theta)
    return direction


def flatten(direction: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """All tensors of ``direction`` as one vector, in order."""
    return torch.cat([value.reshape(-1) for value in direction.values()])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Parameters:
    """The inverse of :func:`flatten`: ``vector`` cut into views shaped like ``like``."""
    out, start = {}, 0
    for name, value in like.items():
        out[name] = vector[start : start + value.numel()].view_as(value)
        start += value.numel()
    return out
