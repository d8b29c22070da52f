"""Sharpness that respects the heads' symmetries: adaptive sharpness, circuit angles in periods.

Two parameter settings that compute the same function have the same minimum, so a sharpness
measure should give them the same value. The heads have these function-preserving
reparametrisations:

* the classical twin ``512_nq_n`` (Linear → ReLU → Linear): ReLU is positively homogeneous, so
  hidden unit j's incoming weights and bias times c > 0 and its outgoing weights divided by c
  compute the same function (Dinh et al. 2017, "Sharp minima can generalize for deep nets");
* the dressed heads (hybrid, product): tanh·π/2 is not homogeneous and its output is an angle
  fed to RY, so the pre-net has no rescaling symmetry (nor a sign-flip one at depth > 0: the
  CNOTs make ⟨Z_j⟩ depend on the other qubits' angles); each circuit weight enters through
  gates whose outputs are periodic in it, so one period P added to any angle changes nothing.

The measure is **adaptive sharpness** (Kwon et al. 2021, ASAM; Andriushchenko et al. 2023, "A
modern look at the relationship between sharpness and generalization"), in its average case
with antithetic pairs of Gaussian directions δ ~ N(0, I):

    S_ρ(θ) = E_δ[(L(θ + ρ T δ) + L(θ − ρ T δ)) / 2] − L(θ),

where the elementwise scale T is |θ_i| for a classical parameter (weights and biases: each
moves by a fraction ρ of its own size) and P_i / 2π for a circuit angle, whose size is not
defined (it is a point on a circle of circumference P_i): an angle moves by ρ / 2π of its
period, so a frequency-one Fourier component of the outputs, a·cos(2πθ/P) + b·sin(2πθ/P),
changes by a fraction about ρ of its amplitude, as a classical weight's contribution w·x does.
That is a convention: any c·P/2π is as invariant, so the notebook's verdict holds the angles
fixed (``angles=False``: T = 0 for them) and states the value with them moved as exploratory.

Invariance, sample by sample for the same draws δ: a ReLU rescaling is θ' = Dθ with D diagonal
and positive, and f(Dφ) = f(φ) for every φ; T' = D T, so θ' ± ρ T' δ = D(θ ± ρ T δ) has the same
loss. An angle's scale P/2π does not depend on its value, so θ + P e_i ± ρ T δ is one period
away from θ ± ρ T δ and has the same loss too. The periods are derived from the circuit's gates
(:func:`angle_periods`), not assumed: RY(θ) as an operator has period 4π (its generator Y/2 has
eigenvalues ±½), but the expectation values it produces only see differences of eigenvalues
(frequency 1), so ⟨Z_j⟩ has period 2π in θ.

Every head also has the **softmax shift**: adding one vector v to every row of the logits layer
``post_net``'s weight and one constant c to every output's bias adds v·h + c to every logit of
an input alike, which the softmax and the cross-entropy ignore. Cross-entropy gradients sum to
zero over the classes, so training never moves this class-mean component: it is the
initialisation's, per seed. T = |θ| would see it, so the measure first **centres** the logits
layer (subtracts the class mean from its rows and its bias: the same function, and the same
centred parameters for every shift) and perturbs only within the centred subspace (each
direction's logits-layer part projected onto zero class mean, after scaling by T). A ReLU
rescaling scales post-net columns, which commutes with centring and projecting over the rows, so
both invariances hold together; the angles' periods do not touch the post-net. These three
symmetries (ReLU unit rescalings, whole periods of circuit angles, the softmax shift) are the
ones covered and tested; no claim is made for any other reparametrisation.
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction

import numpy as np
import torch
from qiskit.circuit import Instruction, Parameter, QuantumCircuit
from qiskit.quantum_info import Operator
from torch import nn

from helpers.analysis.landscape.directions import (
    Parameters,
    quantum_parameters,
    trained_parameters,
)
from helpers.analysis.landscape.grid import evaluate_points, loss_at_centre
from helpers.quantum import QuantumLayer

RELU_FACTORS = (0.2, 5.0, 20.0)  # the rescalings of one ReLU unit the notebook checks
SOFTMAX_SHIFT = (3.0, 0.5)  # (bias, weight-row) shifts of the logits layer the notebook checks
LOGITS = "post_net"  # the heads' logits layer, whose class-mean component the softmax ignores


def _gcd(values: list[float]) -> float:
    """The greatest common divisor of rational numbers given as floats (denominators ≤ 1000)."""
    fractions = [Fraction(v).limit_denominator(1000) for v in values]
    denominator = math.lcm(*(f.denominator for f in fractions))
    return math.gcd(*(int(f * denominator) for f in fractions)) / denominator


def _generator_eigenvalues(operation: Instruction, parameter: Parameter) -> np.ndarray:
    """Eigenvalues λ of the generator G of a gate in ``parameter``, U(t) = exp(−i t G) U(0) (a
    rotation, also when its angle is a·t + b), from the eigenphases of U(h) U(0)†."""
    circuit = QuantumCircuit(operation.num_qubits)
    circuit.append(operation, range(operation.num_qubits))
    others = {p: 0.37 + 0.11 * i for i, p in enumerate(circuit.parameters) if p != parameter}

    def moved(t: float) -> np.ndarray:  # V(t) = U(t) U(0)†
        at = [Operator(circuit.assign_parameters({**others, parameter: v})).data for v in (t, 0)]
        return at[0] @ at[1].conj().T

    if not np.allclose(moved(0.3) @ moved(0.5), moved(0.8), atol=1e-8):
        raise ValueError(
            f"gate {operation.name} is not a rotation exp(−itG)·U(0) in {parameter} (e.g. its "
            "axis, or a non-affine angle, depends on it): its period and frequencies are not "
            "defined; decompose it, e.g. transpile(circuit, basis_gates=['rz', 'ry', 'cx'])."
        )
    step = 1e-3
    phases = np.linalg.eigvals(moved(step))
    return -np.angle(phases) / step


def gate_periods(operation: Instruction, parameter: Parameter) -> tuple[float, float]:
    """The periods in ``parameter`` of a rotation gate: of the operator U(t) itself, and of the
    expectation values of any observable after it, which hold only the frequencies λ_k − λ_l.

    Args:
        operation: The gate (e.g. ``circuit.data[i].operation``).
        parameter: The parameter its angle depends on.

    Returns:
        ``(operator period, expectation period)`` in units of ``parameter``.

    Example:
        >>> from qiskit.circuit.library import RYGate
        >>> t = Parameter("t")
        >>> [round(period / math.pi, 6) for period in gate_periods(RYGate(t), t)]
        [4.0, 2.0]
    """
    eigenvalues = _generator_eigenvalues(operation, parameter)
    differences = np.abs(eigenvalues[:, None] - eigenvalues[None, :]).ravel()
    moving = [float(v) for v in differences if v > 1e-6]
    if not moving:
        raise ValueError(f"{operation.name} does not depend on {parameter}")
    turning = [float(v) for v in np.abs(eigenvalues) if v > 1e-6]
    return 2 * math.pi / _gcd(turning), 2 * math.pi / _gcd(moving)


def gate_frequency(operation: Instruction, parameter: Parameter) -> float:
    """The largest frequency in ``parameter`` of the expectation values after a gate: the
    largest difference λ_k − λ_l of its generator's eigenvalues (1 for RY(θ), 2 for RY(2θ)).

    Example:
        >>> from qiskit.circuit.library import RZZGate
        >>> t = Parameter("t")
        >>> round(gate_frequency(RZZGate(2 * t), t), 6)
        2.0
    """
    return float(np.ptp(_generator_eigenvalues(operation, parameter)))


def angle_periods(layer: QuantumLayer) -> torch.Tensor:
    """The period of the layer's outputs ⟨Z_j⟩ in each circuit weight, derived from its gates:
    2π / the greatest common divisor of the frequencies of every gate the weight drives (a
    trigonometric polynomial with those frequencies repeats after it).

    Args:
        layer: The quantum layer.

    Returns:
        One period per circuit weight, shaped like ``layer.weight`` (2π for Mari's RY weights).

    Example:
        >>> angle_periods(QuantumLayer(2, 1)) / math.pi
        tensor([2., 2.])
    """
    qnn = layer.neural_network
    frequencies: dict[Parameter, list[float]] = {p: [] for p in qnn.weight_params}
    for instruction in qnn.circuit.data:
        for parameter in instruction.operation.params:
            for weight in getattr(parameter, "parameters", ()):
                if weight in frequencies:
                    period = gate_periods(instruction.operation, weight)[1]
                    frequencies[weight].append(2 * math.pi / period)
    periods = [2 * math.pi / _gcd(frequencies[p]) for p in qnn.weight_params]
    return torch.tensor(periods, dtype=layer.weight.dtype).view_as(layer.weight)


def _logits_layer(model: nn.Module) -> nn.Linear:
    layer = getattr(model, LOGITS, None)
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"adaptive sharpness needs the head's logits layer {LOGITS!r} (Linear)")
    return layer


def centred_parameters(model: nn.Module) -> Parameters:
    """The trainable parameters of a head with its logits layer centred: the class mean
    subtracted from ``post_net``'s rows and bias. The function is unchanged (the softmax ignores
    a shift shared by every class), and every softmax shift of the head has the same centred
    parameters.

    Args:
        model: A head with a Linear logits layer ``post_net``.

    Returns:
        Copies of the trainable parameters by name, ``post_net``'s centred.

    Example:
        >>> from helpers.model.heads import classical_head
        >>> centre = centred_parameters(classical_head("512_n", 4, 2))
        >>> float(centre["post_net.bias"].sum().abs()) < 1e-7
        True
    """
    _logits_layer(model)
    centre = trained_parameters(model)
    for name in (f"{LOGITS}.weight", f"{LOGITS}.bias"):
        if name in centre:
            centre[name] = centre[name] - centre[name].mean(dim=0, keepdim=True)
    return centre


def project_logits(steps: Parameters) -> Parameters:
    """Stacked steps ``(K, ...)`` with their logits-layer part projected onto zero class mean
    (the class dimension is the first after the stack's), the rest unchanged."""
    return {
        name: step - step.mean(dim=1, keepdim=True)
        if name in (f"{LOGITS}.weight", f"{LOGITS}.bias")
        else step
        for name, step in steps.items()
    }


def perturbation_scales(model: nn.Module, centre: Parameters, angles: bool = True) -> Parameters:
    """The elementwise scale T of adaptive sharpness: |θ_i| for a classical parameter, P_i / 2π
    for a circuit angle (its period over 2π; see the module docstring), 0 for the angles when
    not ``angles`` (held fixed)."""
    quantum = quantum_parameters(model)
    scales = {}
    for name, theta in centre.items():
        if name in quantum:
            layer = model.get_submodule(name.rpartition(".")[0])
            scales[name] = angle_periods(layer).to(theta.dtype) / (2 * math.pi) * angles
        else:
            scales[name] = theta.abs()
    return scales


def adaptive_sharpness(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    radius: float = 0.5,
    n_directions: int = 32,
    angles: bool = True,
) -> np.ndarray:
    """Adaptive sharpness along antithetic pairs of random directions: per pair,
    (L(θ + ρ T δ) + L(θ − ρ T δ)) / 2 − L(θ), δ ~ N(0, I), T from :func:`perturbation_scales`.

    Averaging each pair cancels the gradient's first-order term, so what is left measures the
    curvature. θ is the head's parameters with the logits layer centred
    (:func:`centred_parameters`), and each step's logits-layer part is projected onto zero
    class mean (:func:`project_logits`). The value is the same for the function-preserving
    reparametrisations the module docstring names (ReLU unit rescalings, whole periods added to
    circuit angles, the softmax shift) given the same ``generator`` state.

    Args:
        model: The model (a trained head on cached features, logits layer ``post_net``).
        inputs: The inputs the loss averages over, ``(N, 512)`` features.
        labels: Their class indices ``(N,)``.
        generator: Draws the directions.
        radius: ρ, the step as a fraction of each parameter's scale.
        n_directions: How many directions δ (each used with both signs).
        angles: Perturb the circuit angles too; False holds them fixed (the classical layers
            alone, like for like with the classical twin and the product control).

    Returns:
        The loss increase per pair of directions, ``(n_directions,)``.

    Example:
        >>> increases = adaptive_sharpness(head, inputs, labels, generator)  # doctest: +SKIP
        >>> float(increases.mean())  # doctest: +SKIP
        0.031
    """
    centre = centred_parameters(model)
    steps = project_logits(
        {
            name: radius
            * scale
            * torch.randn((n_directions, *scale.shape), generator=generator, dtype=scale.dtype)
            for name, scale in perturbation_scales(model, centre, angles).items()
        }
    )
    offsets = {name: torch.cat([step, -step]) for name, step in steps.items()}
    losses, _, _ = evaluate_points(model, centre, offsets, inputs, labels)
    pairs = (losses[:n_directions] + losses[n_directions:]) / 2
    return pairs - loss_at_centre(model, centre, inputs, labels)


@torch.no_grad()
def rescale_relu_unit(head: nn.Module, unit: int, factor: float) -> nn.Module:
    """A copy of a Linear → ReLU → Linear head with hidden ``unit``'s incoming weights and bias
    times ``factor`` and its outgoing weights divided by it: the same function.

    Args:
        head: The head, with children ``pre_net`` (Linear), ``activation`` (ReLU) and
            ``post_net`` (Linear), e.g. the classical twin ``512_nq_n``.
        unit: The hidden unit.
        factor: c > 0.

    Returns:
        The rescaled copy.

    Example:
        >>> from helpers.model.heads import classical_head
        >>> head = classical_head("512_nq_n", 4, 2)
        >>> x = torch.randn(3, 512)
        >>> torch.allclose(rescale_relu_unit(head, 0, 5.0)(x), head(x), atol=1e-6)
        True
    """
    if not isinstance(getattr(head, "activation", None), nn.ReLU) or factor <= 0:
        raise ValueError("a ReLU unit rescaling needs pre_net, a ReLU activation and factor > 0")
    copied = copy.deepcopy(head)
    copied.pre_net.weight[unit] *= factor
    copied.pre_net.bias[unit] *= factor
    copied.post_net.weight[:, unit] /= factor
    return copied


@torch.no_grad()
def shift_angles(head: nn.Module, periods: torch.Tensor | float) -> nn.Module:
    """A copy of a head whose circuit angles are moved by whole ``periods`` (each angle by its
    own period from :func:`angle_periods`, times ``periods``): the same function.

    Args:
        head: A head with one quantum layer ``q_layer`` (the hybrid).
        periods: Whole periods to add, one number for every angle or one per angle.

    Returns:
        The shifted copy.

    Example:
        >>> from helpers.model.heads import DressedQuantumHead
        >>> head, x = DressedQuantumHead(2, 1), torch.randn(3, 512)
        >>> torch.allclose(shift_angles(head, 1.0)(x), head(x), atol=1e-5)
        True
    """
    copied = copy.deepcopy(head)
    layer = copied.q_layer
    layer.weight += torch.as_tensor(periods, dtype=layer.weight.dtype) * angle_periods(layer)
    return copied


@torch.no_grad()
def shift_softmax(
    head: nn.Module, bias: float = SOFTMAX_SHIFT[0], weight: torch.Tensor | float = SOFTMAX_SHIFT[1]
) -> nn.Module:
    """A copy of a head with ``bias`` added to every output's bias and the vector ``weight``
    (a number: that number in every entry) added to every row of ``post_net.weight``: every
    logit of an input moves alike, so the softmax, the predictions and the loss are unchanged.

    Args:
        head: A head with a Linear logits layer ``post_net``.
        bias: The constant added to every class's bias.
        weight: The vector (or number) added to every class's weight row.

    Returns:
        The shifted copy.

    Example:
        >>> from helpers.model.heads import classical_head
        >>> head, x = classical_head("512_nq_n", 4, 2), torch.randn(3, 512)
        >>> torch.allclose(shift_softmax(head)(x).softmax(-1), head(x).softmax(-1), atol=1e-6)
        True
    """
    copied = copy.deepcopy(head)
    layer = _logits_layer(copied)
    layer.weight += torch.as_tensor(weight, dtype=layer.weight.dtype)
    layer.bias += bias
    return copied


def symmetries(head: nn.Module) -> dict[str, nn.Module]:
    """The function-preserving reparametrisations of ``head`` the notebook checks, by label:
    hidden unit 0 rescaled by each of :data:`RELU_FACTORS` for a ReLU head; every circuit angle
    and angle 0 alone moved by one period for a head with circuit weights; and for every head
    the softmax shift (:data:`SOFTMAX_SHIFT`: every output's bias + 3 and every weight row of
    ``post_net`` + 0.5), the product control's only one (tanh pre-net, no circuit weights).

    Args:
        head: A trained head with a logits layer ``post_net``.

    Returns:
        The reparametrised copies by label.

    Example:
        >>> from helpers.model.heads import classical_head
        >>> list(symmetries(classical_head("512_nq_n", 4, 2)))[1:]
        ['ReLU unit 0 × 5', 'ReLU unit 0 × 20', 'softmax shift (bias + 3, rows + 0.5)']
    """
    found: dict[str, nn.Module] = {}
    if isinstance(getattr(head, "activation", None), nn.ReLU):
        found |= {f"ReLU unit 0 × {c:g}": rescale_relu_unit(head, 0, c) for c in RELU_FACTORS}
    if quantum_parameters(head) and head.q_layer.weight.numel():
        one = torch.zeros_like(head.q_layer.weight)
        one.view(-1)[0] = 1.0
        found |= {
            "every angle + 1 period": shift_angles(head, 1.0),
            "angle 0 + 1 period": shift_angles(head, one),
        }
    label = "softmax shift (bias + {:g}, rows + {:g})".format(*SOFTMAX_SHIFT)
    return found | {label: shift_softmax(head)}
