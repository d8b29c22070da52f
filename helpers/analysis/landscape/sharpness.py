"""Sharpness of a minimum: adaptive sharpness with the circuit angles held fixed (the verdict:
invariant to the heads' symmetries and free of any convention for the angles, :mod:`.invariant`);
exploratory: adaptive sharpness with the angles in units of P/2π (invariant too, but its value
depends on that convention) and the angles' share of it, the top Hessian eigenvalue and the loss
increase at a filter-normalised radius (neither of the last two is invariant)."""

from __future__ import annotations

import dataclasses
import math
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
from helpers.analysis.landscape.invariant import adaptive_sharpness, symmetries
from helpers.analysis.results import Results
from helpers.analysis.stats import ratio_comparison
from helpers.declare import (
    MODEL_PAIRS,
    POSITIVE,
    Analysis,
    Parameter,
    Rule,
    Tab,
    at_least,
)

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
        Parameter(
            "sharpness_margin",
            1.5,
            Rule(lambda value: value > 1, "a ratio above 1"),
            help="equivalence margin of the sharpness verdict (adaptive sharpness, circuit angles "
            "fixed), as a ratio: two models whose geometric-mean ratio is shown within "
            "[1/margin, margin] are equivalent",
        ),
    ),
    key_figure="06_sharpness",
    writes=("landscape/", "explore/landscape_directions.pt"),
    tab=Tab("Landscape", "helpers.present.explore_tabs:LandscapeTab"),
)
FIXED_ANGLES = "adaptive sharpness, circuit angles fixed"  # the verdict
WITH_ANGLES = "adaptive sharpness with the circuit angles (P/2π convention)"
ANGLE_SHARE = "circuit angles' share of adaptive sharpness (P/2π convention)"
DROPPED = "seeds dropped from the verdict's ratios (not positive)"
EVERY_SEED = "adaptive sharpness, circuit angles fixed, as a difference over every seed"
FILTER_NORMALISED = "loss increase at the filter-normalised radius"
EIGENVALUE = "top Hessian eigenvalue"


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
    """Loss increase L(θ + r δ) - L(θ) along random filter-normalised directions δ, ``(K,)``.

    Not invariant: a filter's norm changes when a ReLU unit is rescaled, and the circuit
    angles' norm when a period is added to them; exploratory only (see :mod:`.invariant`)."""
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
    """The sharpness measures of one model's minimum, each per random direction."""

    eigenvalue: float  # largest-magnitude Hessian eigenvalue
    iterations: int  # power iterations it took
    radius: float  # ρ of the adaptive test, r of the filter-normalised one
    adaptive: np.ndarray  # adaptive sharpness per antithetic pair, angles moved by ρP/2π
    adaptive_fixed_angles: np.ndarray  # the same with the circuit angles held fixed (the verdict)
    filter_normalised: np.ndarray  # L(θ + r δ) - L(θ) per filter-normalised direction


def sharpness(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    radius: float = 0.5,
    n_directions: int = 32,
) -> Sharpness:
    """Adaptive sharpness (with the circuit angles held fixed: the verdict; and with them moved),
    the top Hessian eigenvalue and the filter-normalised loss increase of one model.

    Args:
        model: The model (a trained head on cached features).
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        generator: The random generator of the power iteration's start and the directions.
        radius: ρ, the step of :func:`~.invariant.adaptive_sharpness` (a fraction of each
            parameter's scale) and of :func:`radius_sharpness` (in filter norms).
        n_directions: Random directions of each test.

    Returns:
        The :class:`Sharpness`: the top Hessian eigenvalue, its power iterations, ``radius``
        and the loss increases ``(n_directions,)`` of each test.

    Example:
        >>> result = sharpness(head, inputs, labels, generator, radius=0.5)  # doctest: +SKIP
        >>> float(result.adaptive.mean())  # doctest: +SKIP
        0.031
    """
    eigenvalue, iterations = top_hessian_eigenvalue(model, inputs, labels, generator)
    adaptive = adaptive_sharpness(model, inputs, labels, generator, radius, n_directions)
    has_angles = any(
        p.numel() for n, p in model.named_parameters() if n in quantum_parameters(model)
    )
    fixed = (
        adaptive_sharpness(model, inputs, labels, generator, radius, n_directions, angles=False)
        if has_angles
        else adaptive
    )
    increases = radius_sharpness(model, inputs, labels, generator, radius, n_directions)
    return Sharpness(eigenvalue, iterations, radius, adaptive, fixed, increases)


def invariance_report(
    head: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    seed: int,
    radius: float = 0.5,
    n_directions: int = 16,
) -> list[dict[str, object]]:
    """The radius tests of ``head`` and of each of its function-preserving reparametrisations
    (:func:`~.invariant.symmetries`), each with the same random directions.

    Args:
        head: A trained head.
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        seed: Seeds the generator of every test's directions (the same for every row).
        radius: ρ of both tests (see :func:`sharpness`).
        n_directions: Random directions of each test (the same for every row, so invariance
            holds direction by direction and a few show it).

    Returns:
        One row per parameter setting, the trained one first: ``reparametrisation``,
        ``max probability change`` (largest |Δ softmax| over the inputs: 0 up to rounding; the
        softmax shift moves the logits, not the probabilities), ``adaptive sharpness, angles
        fixed`` (the verdict), ``adaptive sharpness, with angles`` and ``filter-normalised
        increase`` (means over the directions; both adaptive columns equal for a head without
        circuit angles).

    Example:
        >>> rows = invariance_report(heads["classical"], inputs, labels, 0)  # doctest: +SKIP
        >>> [row["reparametrisation"] for row in rows][:2]  # doctest: +SKIP
        ['as trained', 'ReLU unit 0 × 0.2']
    """
    rows = []
    with torch.no_grad():
        reference = head(inputs).softmax(-1)
        for label, model in {"as trained": head, **symmetries(head)}.items():
            draws = [torch.Generator().manual_seed(seed) for _ in range(3)]
            fixed, moved = (
                adaptive_sharpness(model, inputs, labels, draw, radius, n_directions, angles)
                for draw, angles in zip(draws[:2], (False, True), strict=True)
            )
            increases = radius_sharpness(model, inputs, labels, draws[2], radius, n_directions)
            change = (model(inputs).softmax(-1) - reference).abs().max()
            rows.append(
                {
                    "reparametrisation": label,
                    "max probability change": float(change),
                    "adaptive sharpness, angles fixed": float(fixed.mean()),
                    "adaptive sharpness, with angles": float(moved.mean()),
                    "filter-normalised increase": float(increases.mean()),
                }
            )
    return rows


def _compare_ratios(
    results: Results,
    metric: str,
    values: Mapping[str, list[float]],
    exploratory: bool,
    margin: float = math.nan,
) -> None:
    """Geometric-mean ratios b / a of a per-seed measure for every pair of :data:`MODEL_PAIRS`,
    paired by seed; a non-positive value (the selected epoch need not be a minimum) leaves its
    seed out, counted in the comparison's ``n_dropped`` (such a seed favours "flatter" for that
    model, so the drop is informative: :func:`landscape_results` states it per model)."""
    add = results.explore if exploratory else results.compare
    positive = {k: [v if v > 0 else math.nan for v in vs] for k, vs in values.items()}
    for a, b in MODEL_PAIRS:
        if a in values and b in values:
            ratio = ratio_comparison(
                positive[a], positive[b], unit="seeds", names=(a, b), margin=margin
            )
            add(f"{metric}, {b} vs {a}", ratio, "sharper")


def angle_share(with_angles: float, fixed: float) -> float:
    """The circuit angles' share of adaptive sharpness, 1 − S(angles fixed) / S(with angles):
    in expectation the second-order increase adds over independent parameter blocks, so this is
    the part the angles contribute; NaN when S(with angles) is not positive. It depends on the
    P/2π scale of the angles (any c·P/2π is as invariant), so it is exploratory."""
    return 1 - fixed / with_angles if with_angles > 0 else math.nan


def landscape_results(
    per_seed: Mapping[int, Mapping[str, Sharpness]],
    circuit_displacement: Mapping[int, Mapping[str, float]] | None = None,
    *,
    margin: float,
) -> Results:
    """Every sharpness measure of every model over seeds (``per_seed[seed][model]``, each seed's
    mean over its directions) as mean ± SE over seeds, and the verdict: adaptive sharpness with
    the circuit angles held fixed (the classical layers of the three heads, like for like, free
    of any convention for the angles) compared between models as a geometric-mean ratio paired
    by seed, with the equivalence ``margin``, as the family. A seed whose value is not positive
    cannot enter a ratio and favours "flatter" for its model, so the number of such seeds per
    model is stated (``DROPPED``) and the same measure is also compared as a paired difference
    over every seed (exploratory; nothing dropped). Exploratory too: adaptive sharpness with the
    angles moved by ρP/2π and the angles' share of it (both depend on that convention: any
    c·P/2π is as invariant), the loss increase at the filter-normalised radius (a paired
    difference) and the top Hessian eigenvalue (a ratio), neither of the last two invariant to
    reparametrisations that keep the function (ReLU rescalings, Dinh et al. 2017; whole periods
    added to the circuit angles). ``circuit_displacement[seed][model]`` (‖w − w₀‖ of the
    circuit weights) is stated too.

    Args:
        per_seed: Each seed's :class:`Sharpness` by model kind, ``[seed][model]``.
        circuit_displacement: ‖w − w₀‖ of the circuit weights, ``[seed][model]``
            (``circuit_displacement``); None to leave it out.
        margin: The verdict's equivalence margin, a ratio above 1 (``sharpness_margin``).

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"landscape"``).

    Example:
        >>> results = landscape_results(
        ...     sharpness_by_seed, moved_by_seed, margin=cfg.sharpness_margin
        ... )  # doctest: +SKIP
        >>> publish_results(results, cfg)  # doctest: +SKIP
    """
    results = Results(ANALYSIS.name)
    kinds = list(next(iter(per_seed.values())))

    def over_seeds(measure: str) -> dict[str, list[float]]:
        return {
            k: [float(np.mean(getattr(s[k], measure))) for s in per_seed.values()] for k in kinds
        }

    stated = {
        FIXED_ANGLES: over_seeds("adaptive_fixed_angles"),
        WITH_ANGLES: over_seeds("adaptive"),
        FILTER_NORMALISED: over_seeds("filter_normalised"),
        EIGENVALUE: over_seeds("eigenvalue"),
    }
    verdict = stated[FIXED_ANGLES]
    for kind in kinds:
        values = verdict[kind]
        results.add(FIXED_ANGLES, values, "seeds", model=kind)
        dropped = float(sum(1 for value in values if not value > 0))
        results.add_value(DROPPED, dropped, math.nan, len(values), "seeds", model=kind)
    for name in (WITH_ANGLES, FILTER_NORMALISED, EIGENVALUE):
        for kind in kinds:
            results.add(name, stated[name][kind], "seeds", model=kind)
    for kind in kinds:  # the models whose circuit angles were moved at all
        pairs = list(zip(stated[WITH_ANGLES][kind], verdict[kind], strict=True))
        if any(a != f for a, f in pairs):
            shares = [angle_share(a, f) for a, f in pairs]
            results.add(ANGLE_SHARE, shares, "seeds", model=kind)
    for kind in kinds if circuit_displacement else ():
        values = [moved.get(kind, float("nan")) for moved in circuit_displacement.values()]
        if not np.isnan(values).all():
            results.add("circuit weights moved ‖w − w₀‖", values, "seeds", model=kind)
    _compare_ratios(results, FIXED_ANGLES, verdict, exploratory=False, margin=margin)
    results.compare_models(EVERY_SEED, verdict, "seeds", "sharper", exploratory=True)
    _compare_ratios(results, WITH_ANGLES, stated[WITH_ANGLES], exploratory=True, margin=margin)
    results.compare_models(
        FILTER_NORMALISED, stated[FILTER_NORMALISED], "seeds", "sharper", exploratory=True
    )
    _compare_ratios(results, EIGENVALUE, stated[EIGENVALUE], exploratory=True)
    return results
