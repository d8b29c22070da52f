"""Notebook 09's capacity and trainability measures over every head and seed.

**Effective dimension.** The Fisher information of a whole head is dominated by its 512-wide
pre-net (94 % of its trace on the CIFAR runs) and, estimated from N images, has rank at most
N·(C − 1), far below the ~2,000 parameters: the effective dimension then measures the number of
images. It is therefore taken over what follows the pre-net, the part where the heads differ
(the circuit's weights and the post-net; the classical twin's post-net), with the pre-net
frozen at its trained weights, on the training and validation features (:attr:`Capacity.rank_cap`
says whether N·(C − 1) is above each head's P; a wide classical twin, ``551_512_n``, may not
be). The classical twin's ReLU units are first put in one gauge (each unit's incoming weights
and bias scaled to unit norm, its outgoing weights scaled back: the same function), since a
Fisher is not invariant to that rescaling. "Local" is Qiskit ML's sense: at the trained point
θ* alone, not Abbas et al.'s average over an ε-ball.

**Gradient variance.** The barren-plateau check at the run's width against depth, for weights
uniform in [0, 2π) (McClean et al.) and for the heads' own start (normal with ``q_delta``), and
against width at the deepest depth: a barren plateau is a decay exponential in the number of
qubits, which depth at one width alone cannot show.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from qiskit_machine_learning.neural_networks import LocalEffectiveDimension
from torch import nn

from helpers.analysis.lens.capacity import (
    GradientVariance,
    fisher_information,
    gradient_variance,
    local_effective_dimension,
)
from helpers.config import CIRCUIT_FAMILIES, FAST_MAX_QUBITS, Config
from helpers.model.heads import configured_circuit
from helpers.quantum import QuantumLayer


@dataclasses.dataclass(frozen=True)
class Capacity:
    """Effective dimensions ``curves[kind]`` ``(seeds, K)`` against ``data_sizes``, the Fisher's
    numerical ``ranks[kind]`` per seed, the parameter count ``parameters[kind]`` (P, the free
    parameters after the pre-net) and ``rank_cap``, N·(C − 1): no Fisher from N inputs and C
    classes has a higher rank (a head with P above it is measured by the data, not itself)."""

    data_sizes: np.ndarray
    curves: dict[str, np.ndarray]
    ranks: dict[str, list[int]]
    parameters: dict[str, int]
    rank_cap: int

    def capped(self) -> list[str]:
        """The heads whose P exceeds :attr:`rank_cap`.

        Returns:
            Their model names (empty when every head is measured by itself, not the data).

        Example:
            >>> capacity.capped()  # doctest: +SKIP
            []
        """
        return [kind for kind, p in self.parameters.items() if p > self.rank_cap]


def capacity_head(head: nn.Module) -> nn.Module:
    """A copy of ``head`` with its pre-net frozen and its ReLU units (if any) in one gauge.

    Args:
        head: A dressed or classical head (with a ``pre_net`` and a ``post_net``).

    Returns:
        The copy, whose Fisher is taken over the parameters after the pre-net.

    Example:
        >>> frozen = capacity_head(head)  # doctest: +SKIP
        >>> [n for n, p in frozen.named_parameters() if p.requires_grad]  # doctest: +SKIP
        ['q_layer.weight', 'post_net.weight', 'post_net.bias']
    """
    head = copy.deepcopy(head).eval()
    pre, post = getattr(head, "pre_net", None), head.post_net
    if pre is None:
        return head
    if isinstance(getattr(head, "activation", None), nn.ReLU):
        with torch.no_grad():
            norms = torch.cat([pre.weight, pre.bias[:, None]], dim=1).norm(dim=1).clamp_min(1e-12)
            pre.weight.div_(norms[:, None])
            pre.bias.div_(norms)
            post.weight.mul_(norms[None, :])
    pre.requires_grad_(False)
    return head


def fisher_rank(fisher: np.ndarray, tolerance: float = 1e-10) -> int:
    """The numerical rank of a Fisher matrix: eigenvalues above ``tolerance`` × the largest."""
    eigenvalues = np.linalg.eigvalsh(fisher)
    return int(np.sum(eigenvalues > tolerance * max(eigenvalues.max(), math.ulp(1.0))))


def effective_dimensions(
    heads_by_seed: Mapping[int, Mapping[str, nn.Module]],
    features: torch.Tensor,
    data_sizes: np.ndarray,
) -> Capacity:
    """Every head's local effective dimension d against data size, over the parameters after
    its pre-net, under one likelihood (the softmax of its logits).

    Args:
        heads_by_seed: ``{seed: {kind: head}}``, every model (classical included).
        features: The features the Fisher averages over (training and validation).
        data_sizes: The data sizes n.

    Returns:
        The :class:`Capacity`.

    Example:
        >>> sizes = np.geomspace(1e2, 1e6, 9)
        >>> capacity = effective_dimensions(heads, fit_x, sizes)  # doctest: +SKIP
    """
    curves: dict[str, list[np.ndarray]] = {}
    ranks: dict[str, list[int]] = {}
    parameters: dict[str, int] = {}
    classes = 0
    for heads in heads_by_seed.values():
        for kind, head in heads.items():
            fisher = np.asarray(fisher_information(capacity_head(head), features))
            parameters[kind] = len(fisher)
            classes = max(classes, head.post_net.out_features)
            curves.setdefault(kind, []).append(local_effective_dimension(fisher, data_sizes))
            ranks.setdefault(kind, []).append(fisher_rank(fisher))
    return Capacity(
        data_sizes=np.asarray(data_sizes, dtype=float),
        curves={kind: np.stack(values) for kind, values in curves.items()},
        ranks=ranks,
        parameters=parameters,
        rank_cap=len(features) * (classes - 1),
    )


def qiskit_cross_check(
    layer: QuantumLayer, angles: np.ndarray, data_sizes: Sequence[float]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The trained QNN's local effective dimension by this project and by Qiskit ML's
    ``LocalEffectiveDimension``, under Qiskit's likelihood (each ⟨O_j⟩ read as the two outcomes
    (1 ± ⟨O_j⟩)/2), over the circuit's weights, at the trained weights.

    Args:
        layer: The trained quantum layer (``head.q_layer``).
        angles: Its inputs (the test images' own).
        data_sizes: The data sizes n.

    Returns:
        The two effective dimensions per n (equal to rounding when both are right), or None
        when the circuit has no weights (e.g. Mari's at depth 0): nothing to compare.

    Example:
        >>> ours, qiskit = qiskit_cross_check(head.q_layer, angles, [1e3, 1e5])  # doctest: +SKIP
    """
    if layer.weight.numel() == 0:
        return None
    fisher = fisher_information(layer, torch.from_numpy(angles), likelihood="expectations")
    ours = np.atleast_1d(local_effective_dimension(fisher, data_sizes))
    weights = layer.weight.detach().double().numpy()[None]
    reference = LocalEffectiveDimension(
        layer.neural_network, weight_samples=weights, input_samples=angles
    )
    theirs = np.array([float(reference.get_effective_dimension(int(n))) for n in data_sizes])
    return ours, theirs


def cross_check_text(check: tuple[np.ndarray, np.ndarray] | None) -> str:
    """:func:`qiskit_cross_check`'s result in words.

    Args:
        check: The two effective dimensions, or None.

    Returns:
        Both values per n, or why there are none.

    Example:
        >>> cross_check_text(None)
        'QNN effective dimension: the circuit has no weights at this depth, nothing to check'
    """
    if check is None:
        return "QNN effective dimension: the circuit has no weights at this depth, nothing to check"
    ours, theirs = (np.round(values, 6) for values in check)
    return f"QNN effective dimension, this project {ours}, Qiskit ML {theirs}"


def gradient_study(cfg: Config, depths: Sequence[int], draws: int) -> dict[str, GradientVariance]:
    """The barren-plateau check of the run's circuit (see the module docstring).

    Args:
        cfg: The run's configuration (its circuit, width, ``q_delta`` and seed).
        depths: Depths at the run's width.
        draws: Weight draws per point.

    Returns:
        ``{"uniform": ..., "heads' start": ...}`` against depth at ``cfg.n_qubits``, and for a
        built-in family ``"width"``: uniform weights at the deepest depth for 2, 4, ... qubits
        (up to the run's width + 4, at most the fast simulator's limit; its ``depths`` field
        then holds the widths). A user's circuit builder may fix its width: none then.

    Example:
        >>> gradients = gradient_study(cfg, [1, 2, 4, 8], 200)  # doctest: +SKIP
    """
    at_width = lambda depth: configured_circuit(cfg, depth)  # noqa: E731
    found = {
        "uniform": gradient_variance(at_width, depths, draws, cfg.seed),
        "heads' start": gradient_variance(at_width, depths, draws, cfg.seed, spread=cfg.q_delta),
    }
    if cfg.circuit not in CIRCUIT_FAMILIES:  # a user's builder may fix its width
        return found
    deepest = max(depths)
    widths = range(2, min(cfg.n_qubits + 4, FAST_MAX_QUBITS) + 1, 2)
    by_width = [
        gradient_variance(
            lambda _, w=width: configured_circuit(dataclasses.replace(cfg, n_qubits=w), deepest),
            [deepest],
            draws,
            cfg.seed,
        )
        for width in widths
    ]
    found["width"] = dataclasses.replace(
        by_width[0],
        depths=tuple(widths),
        **{
            field: np.concatenate([getattr(g, field) for g in by_width])
            for field in ("variances", "ses", "first", "first_ses")
        },
    )
    return found
