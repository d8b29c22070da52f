"""The lens's capacity measures: every head's local effective dimension, and barren plateaus.

The local effective dimension (Abbas et al., "The power of quantum neural networks", Nat.
Comput. Sci. 1, 403 (2021), arXiv:2011.00027) counts the directions of parameter space that
``n`` data resolve: with the Fisher information F of the model's predictive distribution at its
trained weights θ*, averaged over the real inputs, and its normalisation F̂ = P·F / tr F,

    d_{γ,n} = 2 · log sqrt(det(I + κ F̂)) / log κ,    κ = γn / (2π log n),

as Qiskit ML's ``LocalEffectiveDimension`` computes it (one weight sample). The Fisher here is
exact in the classes: F = mean_x Σ_c p_c(x) ∇log p_c(x) ∇log p_c(x)ᵀ, no sampled labels, and is
taken over every trainable parameter of a head, so hybrid, classical and control heads are
measured alike. The per-sample Jacobians come from the chain rule through the QNN's own input
and weight Jacobians (a :class:`~helpers.model.heads.DressedQuantumHead`), from the QNN itself
(a Qiskit ML ``TorchConnector``), or from ``torch.func`` (any other torch head), and are summed
chunk by chunk: no per-sample Fisher is ever stored.

:func:`gradient_variance` is the barren-plateau check of McClean et al., Nat. Commun. 9, 4812
(2018): the variance of ∂⟨O_0⟩/∂w_k over uniformly random weights, against the circuit's depth.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np
import torch
from qiskit_machine_learning.connectors import TorchConnector
from torch import nn
from torch.func import functional_call, jacrev, vmap

from helpers.model.heads import DressedQuantumHead
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import CircuitSpec, build_circuit

Likelihood = Literal["softmax", "probabilities", "expectations"]
MAX_PARAMETERS = 12_000  # a (P, P) float64 Fisher of 1.1 GB
NEGATIVE_TOLERANCE = 1e-9  # rounding below 0 accepted in a probability (treated as 0)


def fisher_parameters(head: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """The parameters a Fisher matrix of ``head`` is taken over, in its row order.

    Every parameter with ``requires_grad``, in ``head.named_parameters()`` order, each flattened
    row-major: a :class:`~helpers.model.heads.DressedQuantumHead`'s ``pre_net.weight`` (n, 512),
    ``pre_net.bias``, ``q_layer.weight`` (the circuit's weights), ``post_net.weight`` (C, n) and
    ``post_net.bias``; a classical twin's the same without ``q_layer.weight``.

    Args:
        head: A torch head (or a Qiskit ML ``TorchConnector``).

    Returns:
        ``(name, shape)`` per parameter.

    Example:
        >>> [name for name, _ in fisher_parameters(DressedQuantumHead(2, 1))]  # doctest: +SKIP
        ['pre_net.weight', 'pre_net.bias', 'q_layer.weight', 'post_net.weight', 'post_net.bias']
    """
    return [(n, tuple(p.shape)) for n, p in head.named_parameters() if p.requires_grad]


def fisher_information(
    head: nn.Module,
    inputs: torch.Tensor | np.ndarray,
    *,
    likelihood: Likelihood = "softmax",
    chunk_size: int = 256,
) -> np.ndarray:
    """The mean Fisher information of ``head`` at its current weights over ``inputs``.

    ``F = mean_x Σ_c p_c(x) ∇log p_c(x) ∇log p_c(x)ᵀ = mean_x Σ_c ∇p_c ∇p_cᵀ / p_c``, the
    expectation over the classes taken exactly, in float64, the per-sample Jacobians computed
    and summed ``chunk_size`` inputs at a time.

    Args:
        head: A :class:`~helpers.model.heads.DressedQuantumHead` (Jacobians by the chain rule
            through its QNN's input and weight Jacobians), a Qiskit ML ``TorchConnector`` such as
            a :class:`~helpers.quantum.QuantumLayer` (its QNN's weight Jacobian), or any
            pure-torch module (``torch.func``: ``functional_call``, ``vmap``, ``jacrev``).
        inputs: ``(N, d)`` inputs: the heads' 512-d features, a QNN's input angles.
        likelihood: What the outputs mean: ``"softmax"`` (logits; p = softmax, the heads'
            predictive distribution), ``"probabilities"`` (the outputs are the class
            probabilities, e.g. a ``SamplerQNN``; classes with p_c = 0 are left out, as Qiskit
            ML does) or ``"expectations"`` (each output is ⟨O_j⟩ of a ±1 measurement, as in
            Qiskit ML's treatment of an ``EstimatorQNN``: two outcomes (1 ± ⟨O_j⟩)/2 per output).
        chunk_size: Inputs per chunk: the memory is ``chunk_size · C · P`` floats.

    Returns:
        ``(P, P)`` float64, rows in :func:`fisher_parameters` order.

    Raises:
        ValueError: no inputs, ``P`` over :data:`MAX_PARAMETERS`, or negative outputs under
            ``"probabilities"`` or ``"expectations"`` (outside [−1, 1]): not probabilities.
        TypeError: a module other than these holds a ``TorchConnector`` (``torch.func`` cannot
            differentiate through it).

    Example:
        >>> head = build_head("hybrid", Config(n_qubits=4, q_depth=5))  # doctest: +SKIP
        >>> fisher_information(head, features).shape  # doctest: +SKIP
        (2082, 2082)
    """
    size = sum(math.prod(shape) for _, shape in fisher_parameters(head))
    if size > MAX_PARAMETERS:
        raise ValueError(
            f"the head has {size:,} trainable parameters; a ({size:,}, {size:,}) Fisher matrix "
            f"is over the {MAX_PARAMETERS:,} this module computes (freeze some parameters with "
            "requires_grad_(False) to leave them out)."
        )
    inputs = torch.as_tensor(inputs).detach().to(dtype=torch.float64, device="cpu")
    if len(inputs) == 0:
        raise ValueError("no inputs: the Fisher information is a mean over inputs.")
    total = torch.zeros(size, size, dtype=torch.float64)
    was_training = head.training
    head.eval()
    try:
        for outputs, jacobian in _chunked_jacobians(head, inputs, chunk_size):
            rows = _score_rows(outputs, jacobian, likelihood).reshape(-1, size)
            total += rows.T @ rows
    finally:
        head.train(was_training)
    return (total / len(inputs)).numpy()


def _chunked_jacobians(
    head: nn.Module, inputs: torch.Tensor, chunk_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Outputs ``(B, C)`` and their Jacobians ``(B, C, P)`` per chunk of inputs."""
    if isinstance(head, DressedQuantumHead):
        compute = _dressed_jacobian
    elif isinstance(head, TorchConnector):
        compute = _connector_jacobian
    elif any(isinstance(module, TorchConnector) for module in head.modules()):
        raise TypeError(
            f"{type(head).__name__} holds a Qiskit ML TorchConnector, which torch.func cannot "
            "differentiate through; use a DressedQuantumHead or the connector itself."
        )
    else:
        compute = _functional_jacobian
    for start in range(0, len(inputs), chunk_size):
        yield compute(head, inputs[start : start + chunk_size])


def _assemble(head: nn.Module, blocks: dict[str, torch.Tensor]) -> torch.Tensor:
    """The per-parameter blocks ``(B, C, *shape)`` as one ``(B, C, P)`` Jacobian."""
    names = [name for name, _ in fisher_parameters(head)]
    missing = set(names) - set(blocks)
    if missing:
        raise TypeError(f"{type(head).__name__}: no Jacobian for {sorted(missing)}")
    first = blocks[names[0]]
    return torch.cat([blocks[n].reshape(*first.shape[:2], -1) for n in names], dim=2)


def _dressed_jacobian(
    head: DressedQuantumHead, features: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits = post(Q(tanh(pre(x))·π/2)) and their Jacobian, by the chain rule."""
    pre_w, pre_b = (p.detach().cpu().double() for p in (head.pre_net.weight, head.pre_net.bias))
    post_w, post_b = (p.detach().cpu().double() for p in (head.post_net.weight, head.post_net.bias))
    weights = head.q_layer.weight.detach().cpu().double().numpy()
    hidden = features @ pre_w.T + pre_b  # (B, n)
    angles = torch.tanh(hidden) * (math.pi / 2)
    qnn = head.q_layer.neural_network
    q_out = torch.from_numpy(np.asarray(qnn.forward(angles.numpy(), weights), dtype=np.float64))
    jacobians = qnn.backward(angles.numpy(), weights)
    d_angles, d_weights = (
        torch.from_numpy(np.asarray(j, dtype=np.float64).reshape(*q_out.shape, size))
        for j, size in zip(jacobians, (angles.shape[1], len(weights)), strict=True)
    )  # (B, J, n), (B, J, W)
    logits = q_out @ post_w.T + post_b
    n_classes = len(post_b)
    eye = torch.eye(n_classes, dtype=torch.float64)
    d_hidden = (post_w @ d_angles) * ((math.pi / 2) * (1 - torch.tanh(hidden) ** 2))[:, None]
    blocks = {
        "pre_net.weight": d_hidden[:, :, :, None] * features[:, None, None, :],
        "pre_net.bias": d_hidden,
        "q_layer.weight": post_w @ d_weights,
        "post_net.weight": eye[None, :, :, None] * q_out[:, None, None, :],
        "post_net.bias": eye.expand(len(features), n_classes, n_classes),
    }
    return logits, _assemble(head, blocks)


def _connector_jacobian(
    head: TorchConnector, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A QNN's outputs and their Jacobian in its weights (its inputs are data)."""
    qnn, weights = head.neural_network, head.weight.detach().cpu().double().numpy()
    outputs = np.asarray(qnn.forward(inputs.numpy(), weights), dtype=np.float64)
    jacobian = np.asarray(qnn.backward(inputs.numpy(), weights)[1], dtype=np.float64)
    outputs = outputs.reshape(len(inputs), -1)
    blocks = {"weight": torch.from_numpy(jacobian.reshape(*outputs.shape, -1))}
    return torch.from_numpy(outputs), _assemble(head, blocks)


def _functional_jacobian(
    head: nn.Module, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs and per-sample Jacobians of a pure-torch head through ``torch.func``."""
    names = [name for name, _ in fisher_parameters(head)]
    params = {n: p.detach().cpu().double() for n, p in head.named_parameters() if n in names}
    fixed = {n: p.detach().cpu().double() for n, p in head.named_parameters() if n not in names}
    fixed |= {
        n: b.cpu().double() if b.is_floating_point() else b.cpu() for n, b in head.named_buffers()
    }

    def outputs_of(trained: dict[str, torch.Tensor], row: torch.Tensor) -> torch.Tensor:
        return functional_call(head, (trained, fixed), (row[None],))[0]

    jacobians = vmap(jacrev(outputs_of), in_dims=(None, 0))(params, inputs)
    outputs = functional_call(head, (params, fixed), (inputs,))
    return outputs.reshape(len(inputs), -1), _assemble(head, jacobians)


def _score_rows(outputs: torch.Tensor, jacobian: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Rows ``g_c = sqrt(p_c) ∇log p_c`` ``(B, C, P)``: a sample's Fisher is ``Σ_c g_c g_cᵀ``."""
    if likelihood == "softmax":
        probs = torch.softmax(outputs, dim=1)
        mean = torch.einsum("bc,bcp->bp", probs, jacobian)
        return probs.sqrt()[:, :, None] * (jacobian - mean[:, None, :])
    if likelihood == "expectations":
        outputs = torch.cat([(1 + outputs) / 2, (1 - outputs) / 2], dim=1)
        jacobian = torch.cat([jacobian / 2, -jacobian / 2], dim=1)
    elif likelihood != "probabilities":
        raise ValueError(
            f"likelihood={likelihood!r}; use 'softmax', 'probabilities' or 'expectations'."
        )
    if outputs.min() < -NEGATIVE_TOLERANCE:
        raise ValueError(
            f"an output is {float(outputs.min()):.3g} < 0, not a probability (with "
            "'expectations', an observable beyond [-1, 1] or a noisy estimate)."
        )
    root = outputs.clamp(min=0).sqrt()
    scale = torch.where(root > 0, 1 / root.clamp(min=1e-300), torch.zeros_like(root))
    return scale[:, :, None] * jacobian


def local_effective_dimension(
    fisher: np.ndarray, n_data: float | Sequence[float] | np.ndarray, gamma: float = 1.0
) -> float | np.ndarray:
    """Abbas et al.'s (local) effective dimension of a Fisher matrix for ``n_data`` data.

    ``d = 2·log sqrt(det(I + κF̂)) / log κ = Σ_i log(1 + κλ_i) / log κ``, λ_i the eigenvalues of
    F̂ = P·F / tr F and κ = γn / (2π log n): Qiskit ML's ``LocalEffectiveDimension`` exactly.
    It depends only on F̂'s spectrum, n and γ; the normalisation makes it invariant to any
    rescaling of F (not to a reparametrisation that scales parameters unequally). The
    determinant is taken through F̂'s eigenvalues (one symmetric eigendecomposition for every
    n, log1p against overflow), which equals ``slogdet(I + κF̂)``. d → rank F as n → ∞; at
    finite n it lies between ``log(1 + κP)/log κ`` (rank 1) and ``P·log(1 + κ)/log κ``
    (F̂ = I), so slightly above P for small κ.

    Args:
        fisher: ``(P, P)`` symmetric positive semi-definite, e.g. :func:`fisher_information`.
        n_data: Data-set size(s) n (each with κ > 1).
        gamma: Abbas et al.'s γ ∈ (0, 1]; Qiskit ML uses 1.

    Returns:
        d for a scalar ``n_data``, else an array of d per n.

    Example:
        >>> round(local_effective_dimension(np.diag([1.0, 1.0, 0.0]), 1e100), 2)
        2.0
    """
    fisher = np.asarray(fisher, dtype=np.float64)
    trace = np.trace(fisher)
    if fisher.ndim != 2 or fisher.shape[0] != fisher.shape[1] or not trace > 0:
        raise ValueError(f"need a square Fisher matrix with a positive trace; got {fisher.shape}")
    normalised = fisher.shape[0] * (fisher + fisher.T) / (2 * trace)
    eigenvalues = np.clip(np.linalg.eigvalsh(normalised), 0.0, None)
    sizes = np.asarray(n_data, dtype=np.float64)
    kappa = gamma * sizes / (2 * np.pi * np.log(sizes))
    if np.any(~(kappa > 1)):
        raise ValueError(f"n_data={n_data}: κ = γn / (2π log n) must exceed 1 (larger n).")
    kappa_column = kappa.reshape(-1, 1)
    dims = np.log1p(kappa_column * eigenvalues).sum(axis=1) / np.log(kappa_column[:, 0])
    return float(dims[0]) if sizes.ndim == 0 else dims.reshape(sizes.shape)


@dataclasses.dataclass(frozen=True)
class GradientVariance:
    """Variances of ∂⟨O_0⟩/∂w_k per depth: ``variances`` averaged over the weights k,
    ``first`` of the first weight alone (the earliest in the circuit), standard errors ``*_ses``.
    A depth without weights has NaN."""

    circuit: str
    n_qubits: int
    depths: tuple[int, ...]
    variances: np.ndarray
    ses: np.ndarray
    first: np.ndarray
    first_ses: np.ndarray
    samples: int


def gradient_variance(
    circuit: Callable[[int], CircuitSpec] | tuple[str, int],
    depths: Sequence[int],
    samples: int = 200,
    seed: int = 0,
    *,
    inputs_per_sample: int = 8,
    spread: float | None = None,
) -> GradientVariance:
    """The barren-plateau check: gradient variance over random weights against depth.

    For each depth, ``samples`` weight vectors uniform in [0, 2π) (McClean et al.'s setting;
    with ``spread``, normal around 0 with that standard deviation, as the heads start),
    each with ``inputs_per_sample`` inputs uniform in (−π/2, π/2) (the range of the heads'
    tanh·π/2 encoding), give ∂⟨O_0⟩/∂w_k for the circuit's first observable (⟨Z_0⟩ in every
    family) through the fast simulator's adjoint Jacobian. The variance is over weights and
    inputs jointly (centred per weight); its standard error is over the weight draws, each
    draw's mean squared deviation one observation. Each depth draws from its own generator
    ``(seed, depth)``, so a depth's result does not depend on the others asked for.

    Args:
        circuit: A builder ``depth -> CircuitSpec``, or ``(family, n_qubits)`` of
            :func:`~helpers.quantum.circuits.build_circuit`.
        depths: Circuit depths.
        samples: Weight draws per depth (2 or more).
        seed: Seed of the draws.
        inputs_per_sample: Inputs per weight draw.
        spread: None for uniform weights; else the standard deviation of normal weights
            (``q_delta``, the heads' own initialisation).

    Returns:
        The :class:`GradientVariance`.

    Example:
        >>> result = gradient_variance(("real_amplitudes", 4), [0, 6], samples=64)  # doctest: +SKIP
        >>> bool(result.first[0] > result.first[1])  # doctest: +SKIP
        True
    """
    if samples < 2:
        raise ValueError(f"samples={samples}: a variance needs 2 or more weight draws.")
    build = circuit if callable(circuit) else (lambda depth: build_circuit(*circuit, depth))
    found: dict[str, list[float]] = {"variances": [], "ses": [], "first": [], "first_ses": []}
    spec = None
    for depth in depths:
        spec = build(depth)
        rng = np.random.default_rng([seed, depth])
        n_weights = len(spec.weights)
        if n_weights == 0:
            for values in found.values():
                values.append(math.nan)
            continue
        qnn = QuantumLayer(circuit=spec, initial_weights=np.zeros(n_weights)).neural_network
        draws = []
        for _ in range(samples):
            weights = (
                rng.uniform(0, 2 * np.pi, n_weights)
                if spread is None
                else spread * rng.standard_normal(n_weights)
            )
            angles = rng.uniform(-np.pi / 2, np.pi / 2, (inputs_per_sample, len(spec.inputs)))
            jacobian = np.asarray(qnn.backward(angles, weights)[1], dtype=np.float64)
            draws.append(jacobian.reshape(inputs_per_sample, -1, n_weights)[:, 0, :])
        grads = np.stack(draws)  # (S, B, W)
        squares = (grads - grads.mean(axis=(0, 1))) ** 2
        correction = grads.shape[0] * grads.shape[1] / (grads.shape[0] * grads.shape[1] - 1)
        for key, se_key, per_draw in (
            ("variances", "ses", squares.mean(axis=(1, 2))),
            ("first", "first_ses", squares[:, :, 0].mean(axis=1)),
        ):
            found[key].append(correction * per_draw.mean())
            found[se_key].append(correction * per_draw.std(ddof=1) / math.sqrt(samples))
    return GradientVariance(
        circuit=spec.name if spec is not None else "",
        n_qubits=spec.n_qubits if spec is not None else 0,
        depths=tuple(depths),
        samples=samples,
        **{key: np.array(values) for key, values in found.items()},
    )
