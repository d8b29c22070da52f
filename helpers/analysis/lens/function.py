"""What a trained dressed head computes, in function space: its multi-body share, the ablation
of its multi-body terms, and where its circuit equals its depth-0 control.

A dressed head maps features to logits through ``post_net ∘ circuit ∘ encode ∘ pre_net``; the
post-net is linear, so the logits inherit any split of the circuit's outputs into an additive
part (a sum of one-input functions) and a multi-body rest. Which additive part matters: the
encoding tanh·π/2 reaches only (−π/2, π/2) and a trained pre-net puts the inputs off-centre and
correlated, so the uniform-measure (torus) ANOVA part of :mod:`helpers.analysis.lens.additive`
can be far from the function on the data. The measures here therefore use the **fitted
additive surrogate**: the least-squares fit of each output by every function of one input the
circuit could express (1, cos kx_i, sin kx_i for k ≤ K_i), fitted on the training and
validation images' circuit inputs and evaluated on the test images' (cross-fitted, so a fit
that absorbs noise is not rewarded):

* the **multi-body share** of an output: ``Var(f − f_fit) / Var(f)`` on the test inputs, the
  fraction the best additive description leaves; of the head's **decision**, the same for the
  logits centred over the classes (for two classes, the logit margin). Both are functions of
  the head's function: a weight shifted by its period changes neither, nor does a rescaling of
  the logits;
* the **ablation**: the head with its circuit replaced by the surrogate, scored on the test
  images (accuracy and cross-entropy per image); the torus ANOVA part is the second, labelled,
  ablation, and swapping in the exact Fourier series (where it exists) is the check that the
  replacement machinery changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.analysis.lens.fourier import exact_spectrum, input_degrees
from helpers.model.heads import DressedQuantumHead
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import CircuitSpec


class FunctionLayer(nn.Module):
    """A stand-in for a quantum layer: a NumPy function of the angles ``(B, n) -> (B, J)``."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.function = function

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        values = self.function(angles.detach().double().cpu().numpy())
        return torch.from_numpy(np.ascontiguousarray(values)).to(angles)


def with_layer(head: DressedQuantumHead, layer: nn.Module) -> DressedQuantumHead:
    """A copy of ``head`` whose circuit is replaced by ``layer`` (pre- and post-net kept)."""
    replaced = copy.deepcopy(head)
    replaced.q_layer = layer
    return replaced.eval()


@torch.no_grad()
def circuit_inputs(head: DressedQuantumHead, features: torch.Tensor) -> np.ndarray:
    """The angles the head feeds its circuit for these features, ``(N, n_inputs)``."""
    return head.encode(head.pre_net(features)).double().numpy()


@torch.no_grad()
def image_scores(
    head: nn.Module, features: torch.Tensor, labels: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per image: whether the head classifies it correctly (0/1) and its cross-entropy."""
    logits = head(features).double()
    correct = (logits.argmax(dim=1) == labels).double().numpy()
    loss = F.cross_entropy(logits, labels, reduction="none").numpy()
    return correct, loss


def additive_basis(angles: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Every additive trigonometric function of degree ≤ K_i in input i, at ``angles``: the
    columns 1, cos(k·x_i), sin(k·x_i) for k = 1..K_i, ``(N, 1 + 2ΣK_i)``."""
    columns = [np.ones(len(angles))]
    for i, degree in enumerate(degrees):
        for k in range(1, int(degree) + 1):
            columns += [np.cos(k * angles[:, i]), np.sin(k * angles[:, i])]
    return np.stack(columns, axis=1)


@dataclasses.dataclass(frozen=True)
class AdditiveFit:
    """A layer's fitted additive surrogate: ``additive_basis(x, degrees) @ coefficients``."""

    degrees: np.ndarray
    coefficients: np.ndarray  # (1 + 2ΣK_i, J)

    def evaluate(self, angles: np.ndarray) -> np.ndarray:
        """The surrogate's outputs at ``angles`` ``(N, n_inputs)``: ``(N, J)``."""
        return additive_basis(np.asarray(angles, dtype=float), self.degrees) @ self.coefficients

    def terms(self, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The intercept ``(J,)`` and each input's term ``(N, n_inputs, J)`` at ``angles``."""
        basis = additive_basis(np.asarray(angles, dtype=float), self.degrees)
        ends = np.cumsum([1, *(2 * int(d) for d in self.degrees)])
        terms = [basis[:, a:b] @ self.coefficients[a:b] for a, b in itertools.pairwise(ends)]
        return self.coefficients[0], np.stack(terms, axis=1)


@torch.no_grad()
def fit_additive(layer: QuantumLayer, angles: np.ndarray) -> AdditiveFit:
    """The least-squares additive surrogate of the layer's outputs on ``angles``.

    Args:
        layer: The quantum layer.
        angles: The inputs to fit on (e.g. the training and validation images' own).

    Returns:
        The :class:`AdditiveFit`.

    Example:
        >>> fit = fit_additive(head.q_layer, circuit_inputs(head, train_features))  # doctest: +SKIP
    """
    degrees = input_degrees(layer)
    outputs = layer(torch.from_numpy(angles)).double().numpy()
    coefficients, *_ = np.linalg.lstsq(additive_basis(angles, degrees), outputs, rcond=None)
    return AdditiveFit(degrees, coefficients)


def _unexplained(full: np.ndarray, surrogate: np.ndarray) -> np.ndarray:
    """``Var(full − surrogate) / Var(full)`` per column; NaN where the column is constant."""
    total = full.var(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 1e-24, (full - surrogate).var(axis=0) / total, np.nan)


@torch.no_grad()
def output_shares(layer: QuantumLayer, fit: AdditiveFit, angles: np.ndarray) -> np.ndarray:
    """Each output's multi-body share on ``angles`` given its surrogate: ``(J,)``."""
    return _unexplained(layer(torch.from_numpy(angles)).double().numpy(), fit.evaluate(angles))


@torch.no_grad()
def multi_body_shares(
    head: DressedQuantumHead, fit: AdditiveFit, angles: np.ndarray
) -> tuple[np.ndarray, float]:
    """The multi-body share of each circuit output and of the head's decision on ``angles``.

    Args:
        head: A dressed head.
        fit: Its circuit's fitted additive surrogate (:func:`fit_additive` on other inputs).
        angles: The test images' circuit inputs (:func:`circuit_inputs`).

    Returns:
        ``(J,)`` shares of the outputs and the share of the decision (the logits centred over
        the classes, residual and variance summed over the classes): 0 for an additive
        circuit, NaN for a constant output.

    Example:
        >>> outputs, decision = multi_body_shares(head, fit, angles)  # doctest: +SKIP
    """
    post = head.post_net

    def centred_logits(values: np.ndarray) -> np.ndarray:
        logits = post(torch.from_numpy(values).to(post.weight)).double().numpy()
        return logits - logits.mean(axis=1, keepdims=True)

    full = head.q_layer(torch.from_numpy(angles)).double().numpy()
    a, b = centred_logits(full), centred_logits(fit.evaluate(angles))
    total = a.var(axis=0).sum()
    decision = float((a - b).var(axis=0).sum() / total) if total > 1e-24 else float("nan")
    return _unexplained(full, fit.evaluate(angles)), decision


def ablation(
    head: DressedQuantumHead,
    surrogates: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    features: torch.Tensor,
    labels: torch.Tensor,
) -> dict[str, np.ndarray]:
    """Per-image scores of the head, and of the head with its circuit replaced by each
    surrogate (its multi-body terms removed, in that surrogate's sense).

    Args:
        head: A trained dressed head.
        surrogates: ``{name: function of the angles (N, n) -> outputs (N, J)}``, e.g. the fitted
            surrogate's and the torus ANOVA part's ``evaluate``.
        features: Test features ``(N, 512)``.
        labels: Their labels ``(N,)``.

    Returns:
        ``correct_<name>`` and ``loss_<name>`` ``(N,)`` for ``"full"`` and every surrogate.

    Example:
        >>> scores = ablation(head, {"fitted": fit.evaluate}, inputs, labels)  # doctest: +SKIP
    """
    scores = {}
    for name, model in [("full", head)] + [
        (name, with_layer(head, FunctionLayer(function))) for name, function in surrogates.items()
    ]:
        scores[f"correct_{name}"], scores[f"loss_{name}"] = image_scores(model, features, labels)
    return scores


@torch.no_grad()
def surrogate_check(head: DressedQuantumHead, features: torch.Tensor) -> float:
    """The largest change of a logit when the circuit is replaced by its exact Fourier series
    (:func:`~helpers.analysis.lens.fourier.exact_spectrum`): 0 up to rounding when the series
    and the replacement machinery are right; NaN where the spectrum's grid is too large.

    Args:
        head: A dressed head.
        features: Features ``(N, 512)``.

    Returns:
        The largest absolute logit change.

    Example:
        >>> surrogate_check(head, inputs)  # doctest: +SKIP
        1.2e-15
    """
    try:
        spectrum = exact_spectrum(head.q_layer)
    except ValueError:  # the grid is too large: no exact series to swap in
        return float("nan")
    series = with_layer(head, FunctionLayer(spectrum.evaluate))
    return float((series(features).double() - head(features).double()).abs().max())


def equals_control_at_zero_weights(
    build: Callable[[int], CircuitSpec], control: CircuitSpec, depths: range, seed: int = 0
) -> dict[int, float]:
    """For each depth, the largest difference between the circuit with every weight at 0 and
    its control on random inputs: 0 (to rounding) where the untrained circuit is its control.

    Args:
        build: The circuit at a depth (e.g. ``lambda d: configured_circuit(cfg, d)``).
        control: The product model's circuit (``model_circuit("product", cfg)``).
        depths: The depths to check.
        seed: Seed of the 256 random inputs in [−π/2, π/2] (the encoding's range).

    Returns:
        ``{depth: max |⟨O_j⟩ − control_j|}``.

    Example:
        >>> distances = equals_control_at_zero_weights(partial(mari, 4), mari(4, 0), range(9))
    """
    generator = torch.Generator().manual_seed(seed)
    reference = QuantumLayer(circuit=control)
    angles = (
        torch.rand(256, len(control.inputs), generator=generator, dtype=torch.float64) - 0.5
    ) * np.pi
    with torch.no_grad():
        target = reference(angles)
        distances = {}
        for depth in depths:
            spec = build(depth)
            layer = QuantumLayer(circuit=spec, initial_weights=torch.zeros(len(spec.weights)))
            distances[depth] = float((layer(angles) - target).abs().max())
    return distances


@torch.no_grad()
def control_difference(
    head: DressedQuantumHead, fit: AdditiveFit, control: CircuitSpec, angles: np.ndarray
) -> dict[str, float]:
    """Which terms make the trained circuit differ from its depth-0 control, on ``angles``.

    The control (the encoding alone) is additive, so the difference ``f − control`` splits into
    an additive part (the fitted surrogate minus the control) and the circuit's multi-body rest
    (``f`` minus its surrogate). The two are not orthogonal on data: their squares need not add
    up to the whole's, and all three are reported.

    Args:
        head: A trained dressed head (the hybrid).
        fit: Its circuit's fitted additive surrogate (:func:`fit_additive`).
        control: The product model's circuit (``model_circuit("product", cfg)``).
        angles: Circuit inputs (the test images' own).

    Returns:
        RMS over images and outputs of the whole difference (``"total"``, notebook 02's
        distance), of its additive part and of its multi-body part.

    Example:
        >>> control = model_circuit("product", cfg)  # doctest: +SKIP
        >>> parts = control_difference(head, fit, control, angles)  # doctest: +SKIP
    """
    inputs = torch.from_numpy(angles)
    full = head.q_layer(inputs).double().numpy()
    reference = QuantumLayer(circuit=control)(inputs).double().numpy()
    additive = fit.evaluate(angles)

    def rms(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean(values**2)))

    return {
        "total": rms(full - reference),
        "additive": rms(additive - reference),
        "multi-body": rms(full - additive),
    }
