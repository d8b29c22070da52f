"""Loss landscapes (Li et al. 2018, "Visualizing the loss landscape of neural nets").

The landscape of a trained model with parameters θ along directions δ (and η) is
L(θ + α δ + β η), evaluated on a grid of α, β in [-1, 1] by default, so its centre is the
trained model's loss. Directions are random Gaussian with **filter normalisation**: every filter
(output unit: a row of a Linear weight, an output channel of a convolution) of δ is rescaled to
the norm of the same filter of θ; 1-D parameters (biases, BatchNorm) get a zero direction, as in
Li et al.'s experiments. The circuit weights of the quantum layer are rotation angles, so they
are handled explicitly (``quantum_scale``):

* ``"norm"`` treats each circuit layer's n angles as one filter scaled to the trained angles'
  norm, exactly like a classical layer (the like-for-like comparison);
* ``"period"`` scales them to the 2π period instead (each angle moves by about ±π at α = ±1):
  angles are not scale-invariant the way ReLU weights are, their natural unit is the period.

Grids are evaluated with stacked weights: many parameter points go through each layer at once
(one einsum per Linear layer, one estimator call per chunk for the circuit).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional
from tqdm.auto import tqdm

from helpers.io import atomic_write
from helpers.quantum import QuantumLayer
from helpers.stats import format_value, mean_and_error, verdict

Parameters = dict[str, torch.Tensor]
QUANTUM_SCALES = ("norm", "period")


def trained_parameters(model: nn.Module, trainable_only: bool = True) -> Parameters:
    """Copies of the parameters of ``model`` by name: the trainable ones (requires_grad), or all
    of them (``trainable_only=False``: e.g. the frozen ResNet18 too, for whole-network plots)."""
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad or not trainable_only
    }


def quantum_parameter_names(model: nn.Module) -> set[str]:
    """Names of the circuit weights of every :class:`QuantumLayer` inside ``model``."""
    return {
        f"{prefix}.weight" if prefix else "weight"
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
    quantum: Iterable[str] = (),
    quantum_scale: str = "norm",
    n_qubits: int = 4,
) -> Parameters:
    """A random Gaussian direction with Li et al.'s filter normalisation (see module docstring)."""
    if quantum_scale not in QUANTUM_SCALES:
        raise ValueError(f"quantum_scale={quantum_scale!r}: use one of {QUANTUM_SCALES}.")
    quantum = set(quantum)
    direction: Parameters = {}
    for name, theta in params.items():
        d = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        if name in quantum and quantum_scale == "period":
            d = d * (math.pi * math.sqrt(d.numel()) / d.norm())  # ~±π per angle at α = ±1
        elif name in quantum:
            d = _rescale_filters(d, theta, n_qubits)  # each circuit layer is one filter
        elif theta.dim() <= 1:
            d = torch.zeros_like(theta)  # biases and BatchNorm parameters are not perturbed
        else:
            d = _rescale_filters(d, theta)
        direction[name] = d
    return direction


def normalisation_report(
    centre: Parameters, direction: Parameters, quantum: Iterable[str] = (), n_qubits: int = 4
) -> list[dict[str, object]]:
    """Per parameter: norms of θ and δ, and the largest |‖δ_i‖ / ‖θ_i‖ - 1| over its filters
    (0 for a filter-normalised direction; NaN for parameters left unperturbed)."""
    quantum = set(quantum)
    rows: list[dict[str, object]] = []
    for name, theta in centre.items():
        d = direction[name]
        width = n_qubits if name in quantum else None
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
    params: Parameters, quantum: Iterable[str], generator: torch.Generator
) -> Parameters:
    """A direction that moves only the circuit weights, each by ±1 (random signs).

    Along it the loss is exactly 2π-periodic: every angle enters the circuit through
    rotations whose expectation values are trigonometric polynomials of period 2π.
    """
    quantum = set(quantum)
    if not quantum:
        raise ValueError("the model has no quantum weights: periodic directions need a circuit.")
    direction = {}
    for name, theta in params.items():
        if name in quantum:
            signs = torch.randint(0, 2, theta.shape, generator=generator).to(theta.dtype)
            direction[name] = 2 * signs - 1
        else:
            direction[name] = torch.zeros_like(theta)
    return direction


def _flatten(direction: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([value.reshape(-1) for value in direction.values()])


def _unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Parameters:
    out, start = {}, 0
    for name, value in like.items():
        out[name] = vector[start : start + value.numel()].view_as(value)
        start += value.numel()
    return out


@dataclasses.dataclass
class TrajectoryPlane:
    """Two PCA directions of an optimisation trajectory and the trajectory's coordinates."""

    directions: tuple[Parameters, Parameters]
    coordinates: np.ndarray  # (K, 2): each snapshot minus the centre, projected on the plane
    explained_variance: np.ndarray  # share of the trajectory's variance along each direction
    epochs: np.ndarray  # (K,) position of each snapshot in epochs


def pca_plane(
    trajectory: Mapping[str, object], centre: Parameters, generator: torch.Generator
) -> TrajectoryPlane:
    """PCA directions of ``trajectory.pt`` (written by training) around the trained parameters.

    Following Li et al. (Sec. 7), the snapshots minus the centre are decomposed by PCA and the
    first two components span the plane. A trajectory of rank one gets a random second
    direction orthogonal to the first.
    """
    names = list(trajectory["names"])
    if names != list(centre):
        raise ValueError(f"trajectory parameters {names} differ from the model's {list(centre)}")
    offsets = (trajectory["vectors"].double() - _flatten(centre).double()).numpy()
    _, singular, components = np.linalg.svd(offsets, full_matrices=False)
    variance = singular**2 / max((singular**2).sum(), 1e-300)
    first = components[0]
    if len(components) > 1 and singular[1] > 1e-9 * singular[0]:
        second = components[1]
    else:
        random = torch.randn(len(first), generator=generator, dtype=torch.float64).numpy()
        second = random - (random @ first) * first
        second /= np.linalg.norm(second)
    plane = np.stack([first, second])
    coordinates = offsets @ plane.T
    directions = tuple(
        _unflatten(torch.from_numpy(vector).to(next(iter(centre.values())).dtype), centre)
        for vector in plane
    )
    explained = np.array([variance[0], variance[1] if len(variance) > 1 else 0.0])
    return TrajectoryPlane(directions, coordinates, explained, np.asarray(trajectory["epochs"]))


# --------------------------------------------------------------------------- evaluation
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


def stacked_logits(head: nn.Module, params: Parameters, features: torch.Tensor) -> torch.Tensor:
    """Logits ``(G, N, C)`` of a chain head for G stacked parameter sets ``params[name] (G, ...)``.

    The head's forward pass must apply its children in order (true for ``nn.Sequential`` heads
    and :class:`~helpers.heads.DressedQuantumHead`).
    """
    points = next(iter(params.values())).shape[0]
    x = features.expand(points, *features.shape)
    for name, module in head.named_children():
        x = _stacked_layer(module, f"{name}.", params, x)
    return x


@torch.no_grad()
def evaluate_points(
    model: nn.Module,
    centre: Parameters,
    offsets: Sequence[Parameters] | Parameters,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    chunk: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy at θ + offset for every offset.

    ``offsets`` is a dict of stacked tensors ``(G, ...)`` (or a list of dicts). Chain heads are
    evaluated ``chunk`` points at a time with stacked weights; any other model (e.g. the whole
    network with its ResNet18) point by point with ``torch.func.functional_call``.
    """
    if not isinstance(offsets, Mapping):
        offsets = {name: torch.stack([o[name] for o in offsets]) for name in centre}
    points = next(iter(offsets.values())).shape[0]
    losses, accuracies = np.empty(points), np.empty(points)
    fixed = {name: p for name, p in model.named_parameters() if name not in centre}
    batched = stackable(model) and not fixed
    step = chunk if batched else 1
    for first in tqdm(range(0, points, step), desc="landscape", leave=False, disable=not progress):
        part = slice(first, min(first + step, points))
        stacked = {name: centre[name] + offsets[name][part] for name in centre}
        if batched:
            logits = stacked_logits(model, stacked, inputs)
        else:
            single = {name: value[0] for name, value in stacked.items()}
            logits = functional_call(model, {**fixed, **single}, (inputs,))[None]
        expanded = labels.expand(logits.shape[0], -1)
        loss = functional.cross_entropy(logits.flatten(0, 1), expanded.flatten(), reduction="none")
        losses[part] = loss.view(logits.shape[0], -1).mean(dim=1).double().numpy()
        accuracies[part] = (logits.argmax(-1) == expanded).double().mean(dim=1).numpy()
    return losses, accuracies


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

    def save(self, path: Path) -> Path:
        """Write atomically as ``.npz``."""

        arrays = {key: np.asarray(value) for key, value in dataclasses.asdict(self).items()}
        return atomic_write(path, lambda handle: np.savez(handle, **arrays))

    @classmethod
    def load(cls, path: Path) -> Landscape:
        with np.load(path) as stored:
            values = {key: stored[key] for key in stored.files}
        return cls(
            kind=str(values["kind"]),
            alphas=values["alphas"],
            betas=values["betas"],
            loss=values["loss"],
            accuracy=values["accuracy"],
            centre_loss=float(values["centre_loss"]),
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
) -> Landscape:
    """L(θ + α δ + β η) on the grid (1-D when ``betas`` is None), with accuracy and the centre."""
    offsets = grid_offsets(directions, alphas, betas)
    loss, accuracy = evaluate_points(model, centre, offsets, inputs, labels, progress=progress)
    shape = (len(alphas),) if betas is None else (len(alphas), len(betas))
    centre_loss = loss_at_centre(model, centre, inputs, labels)
    return Landscape(
        kind,
        np.asarray(alphas),
        np.asarray([] if betas is None else betas),
        loss.reshape(shape),
        accuracy.reshape(shape),
        centre_loss,
    )


def fourier_spectrum(surface: np.ndarray) -> np.ndarray:
    """|2-D DFT| of a landscape sampled over one full period (without the end point), shifted
    so the zero frequency is in the middle and normalised by the number of points."""
    return np.abs(np.fft.fftshift(np.fft.fft2(surface))) / surface.size


# -------------------------------------------------------------------------- sharpness
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
        exact = not quantum_parameter_names(model)
        vector = {
            n: torch.randn(p.shape, generator=generator, dtype=p.dtype) for n, p in params.items()
        }
        norm = _flatten(vector).norm()
        vector = {n: v / norm for n, v in vector.items()}
        eigenvalue = 0.0
        for iteration in range(1, iterations + 1):
            product = hessian_vector_product(loss, params, vector, exact=exact)
            new_eigenvalue = float(_flatten(product) @ _flatten(vector))
            norm = _flatten(product).norm()
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
            centre, generator, quantum_parameter_names(model), **direction_options
        )
        for _ in range(n_directions)
    ]
    offsets = {n: radius * torch.stack([d[n] for d in directions]) for n in centre}
    losses, _ = evaluate_points(model, centre, offsets, inputs, labels)
    return losses - loss_at_centre(model, centre, inputs, labels)


def describe_sharpness(
    eigenvalues: Mapping[str, float], increases: Mapping[str, np.ndarray], radius: float
) -> str:
    """Markdown comparison of the two sharpness measures for each model."""
    lines = []
    for model, eigenvalue in eigenvalues.items():
        mean, error = mean_and_error(increases[model])
        lines.append(
            f"- **{model}**: top Hessian eigenvalue {eigenvalue:.4g}; loss increase at radius "
            f"{radius:g} (filter-normalised) {format_value(mean, error)}."
        )
    if {"classical", "hybrid"} <= set(eigenvalues):
        ratio = eigenvalues["hybrid"] / eigenvalues["classical"]
        classical = mean_and_error(increases["classical"])
        hybrid = mean_and_error(increases["hybrid"])
        lines.append(
            f"- The hybrid head's top eigenvalue is {ratio:.3g} times the classical one; the "
            f"radius test: {verdict(classical, hybrid, comparative='sharper')}."
        )
    return "\n".join(lines)
