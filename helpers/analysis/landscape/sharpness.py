"""Sharpness of a minimum: the top Hessian eigenvalue and the loss increase at a fixed radius."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional

from helpers.analysis.landscape.directions import (
    Parameters,
    filter_normalised_direction,
    flatten,
    quantum_parameters,
    trained_parameters,
)
from helpers.analysis.landscape.grid import evaluate_points, loss_at_centre
from helpers.analysis.results import Results
from helpers.analysis.stats import mean_and_error, ratio_comparison
from helpers.declare import MODEL_PAIRS, POSITIVE, Analysis, Parameter, Tab, at_least

ANALYSIS = Analysis(
    name="landscape",
    notebook="06_loss_landscape",
    title="Loss landscapes: is the hybrid's minimum sharper or flatter?",
    parameters=(
        Parameter(
            "landscape_resolution", 51, at_least(2), smoke=11, help="grid points per direction"
        ),
        Parameter(
            "landscape_samples",
            1000,
            POSITIVE,
            smoke=256,
            help="cached training features the loss averages over",
        ),
    ),
    key_figure="06_sharpness",
    writes=("landscape/", "explore/landscape_directions.pt"),
    tab=Tab("Landscape", "helpers.present.explore_tabs:LandscapeTab"),
)


def loss_function(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
) -> Callable[[Parameters], torch.Tensor]:
    """θ -> mean cross-entropy of ``model`` with the named parameters replaced by θ."""

    def loss(params: Parameters) -> torch.Tensor:
        return functional.cross_entropy(functional_call(model, params, (inputs,)), labels)

    return loss


def hessian_vector_product(
    loss: Callable[[Parameters], torch.Tensor],
    params: Parameters,
    vector: Parameters,
    exact: bool = True,
    step: float = 1e-5,
) -> Parameters:
    """H v at ``params``: by double back-propagation (``exact``), or by central differences of
    exact gradients, (∇L(θ + h v) - ∇L(θ - h v)) / 2h, for layers whose backward pass is not
    itself differentiable (the quantum layer's adjoint gradient)."""
    names = list(params)

    def gradient(point: Parameters, create_graph: bool) -> tuple[torch.Tensor, ...]:
        leaves = {n: p.detach().requires_grad_(True) for n, p in point.items()}
        value = loss(leaves)
        return leaves, torch.autograd.grad(
            value, [leaves[n] for n in names], create_graph=create_graph
        )

    if exact:
        leaves, grads = gradient(params, create_graph=True)
        dot = sum((g * vector[n]).sum() for g, n in zip(grads, names, strict=True))
        hv = torch.autograd.grad(dot, [leaves[n] for n in names])
    else:
        plus = {n: params[n] + step * vector[n] for n in names}
        minus = {n: params[n] - step * vector[n] for n in names}
        _, g_plus = gradient(plus, create_graph=False)
        _, g_minus = gradient(minus, create_graph=False)
        hv = [(a - b) / (2 * step) for a, b in zip(g_plus, g_minus, strict=True)]
    return {n: h.detach() for n, h in zip(names, hv, strict=True)}


def top_hessian_eigenvalue(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    iterations: int = 100,
    tolerance: float = 1e-4,
) -> tuple[float, int]:
    """Largest-magnitude eigenvalue of the loss Hessian over the trainable parameters, by power
    iteration on Hessian-vector products (exact double back-propagation for classical models,
    central differences of exact gradients through a quantum layer). Returns (λ, iterations)."""
    params = {n: p.detach().double() for n, p in trained_parameters(model).items()}
    model = model.double()
    try:
        loss = loss_function(model, inputs.double(), labels)
        exact = not quantum_parameters(model)
        vector = {
            n: torch.randn(p.shape, generator=generator, dtype=p.dtype) for n, p in params.items()
        }
        norm = flatten(vector).norm()
        vector = {n: v / norm for n, v in vector.items()}
        eigenvalue = 0.0
        for iteration in range(1, iterations + 1):
            product = hessian_vector_product(loss, params, vector, exact=exact)
            new_eigenvalue = float(flatten(product) @ flatten(vector))
            norm = flatten(product).norm()
            vector = {n: v / norm for n, v in product.items()}
            if abs(new_eigenvalue - eigenvalue) <= tolerance * abs(new_eigenvalue):
                return new_eigenvalue, iteration
            eigenvalue = new_eigenvalue
        return eigenvalue, iterations
    finally:
        model.float()


def radius_sharpness(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    radius: float = 0.1,
    n_directions: int = 32,
    **direction_options: object,
) -> np.ndarray:
    """Loss increase L(θ + r δ) - L(θ) along random filter-normalised directions δ, ``(K,)``."""
    centre = trained_parameters(model)
    directions = [
        filter_normalised_direction(
            centre, generator, quantum_parameters(model), **direction_options
        )
        for _ in range(n_directions)
    ]
    offsets = {n: radius * torch.stack([d[n] for d in directions]) for n in centre}
    losses, _, _ = evaluate_points(model, centre, offsets, inputs, labels)
    return losses - loss_at_centre(model, centre, inputs, labels)


@dataclasses.dataclass
class Sharpness:
    """Both sharpness measures of one model's minimum."""

    eigenvalue: float  # largest-magnitude Hessian eigenvalue
    iterations: int  # power iterations it took
    radius: float
    increases: np.ndarray  # L(θ + r δ) - L(θ) per random direction

    @property
    def increase(self) -> tuple[float, float]:
        """Mean loss increase at the radius and its standard error over directions."""
        return mean_and_error(self.increases)


def sharpness(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    radius: float = 0.5,
    **direction_options: object,
) -> Sharpness:
    """:func:`top_hessian_eigenvalue` and :func:`radius_sharpness` of one model.

    Args:
        model: The model (a trained head on cached features).
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        generator: The random generator of the power iteration's start and the directions.
        radius: The step r along each filter-normalised direction (in units of θ's filters).
        **direction_options: Passed on to :func:`radius_sharpness` (``n_directions``) and its
            directions (``quantum_scale``).

    Returns:
        The :class:`Sharpness`: the top Hessian eigenvalue, its power iterations, ``radius``
        and the loss increases ``(K,)``, one per random direction.

    Example:
        >>> result = sharpness(head, inputs, labels, generator, radius=0.5)  # doctest: +SKIP
        >>> mean, error = result.increase  # doctest: +SKIP
    """
    eigenvalue, iterations = top_hessian_eigenvalue(model, inputs, labels, generator)
    increases = radius_sharpness(
        model, inputs, labels, generator, radius=radius, **direction_options
    )
    return Sharpness(eigenvalue, iterations, radius, increases)


def landscape_results(
    per_seed: Mapping[int, Mapping[str, Sharpness]],
    circuit_displacement: Mapping[int, Mapping[str, float]] | None = None,
) -> Results:
    """Both sharpness measures of every model over seeds (``per_seed[seed][model]``) as mean ±
    SE over seeds. The loss increase at the filter-normalised radius (each seed's mean over its
    directions) is compared between models paired by seed, as the family. The top Hessian
    eigenvalue is compared as a geometric-mean ratio, exploratory only: it is not invariant to
    rescalings that leave a ReLU network's function unchanged (Dinh et al. 2017), and a
    non-positive value (power iteration finds the largest-magnitude eigenvalue; the selected
    epoch need not be a minimum) leaves that seed out. ``circuit_displacement[seed][model]``
    (‖w − w₀‖ of the circuit weights) is stated too.

    Args:
        per_seed: Each seed's :class:`Sharpness` by model kind, ``[seed][model]``.
        circuit_displacement: ‖w − w₀‖ of the circuit weights, ``[seed][model]``
            (``circuit_displacement``); None to leave it out.

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"landscape"``).

    Example:
        >>> results = landscape_results(sharpness_by_seed, moved_by_seed)  # doctest: +SKIP
        >>> publish_results(results, cfg)  # doctest: +SKIP
    """
    results = Results(ANALYSIS.name)
    kinds = list(next(iter(per_seed.values())))
    eigenvalues = {k: [s[k].eigenvalue for s in per_seed.values()] for k in kinds}
    increases = {k: [s[k].increase[0] for s in per_seed.values()] for k in kinds}
    for kind in kinds:
        results.add("top Hessian eigenvalue", eigenvalues[kind], "seeds", model=kind)
        results.add("loss increase at the radius", increases[kind], "seeds", model=kind)
    for kind in kinds if circuit_displacement else ():
        values = [moved.get(kind, float("nan")) for moved in circuit_displacement.values()]
        if not np.isnan(values).all():
            results.add("circuit weights moved ‖w − w₀‖", values, "seeds", model=kind)
    results.compare_models("loss increase at the radius", increases, "seeds", "sharper")
    positive = {
        k: [v if v > 0 else float("nan") for v in values] for k, values in eigenvalues.items()
    }
    for a, b in MODEL_PAIRS:
        if a in kinds and b in kinds:
            ratio = ratio_comparison(positive[a], positive[b], unit="seeds", names=(a, b))
            results.explore(f"top Hessian eigenvalue, {b} vs {a}", ratio, "sharper")
    return results
