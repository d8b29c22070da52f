"""Notebook 09's study: every seed's quantum heads (the hybrid and its controls) through the lens.

For each seed and dressed head, on the same balanced test images: the circuit inputs, the
fitted additive surrogate (fitted on the training and validation images' inputs), the
multi-body share of every output and of the decision, the ablations, the power by interaction
order of the circuit, the entanglement of the state each image prepares, and the saturation of
the inputs (:mod:`~helpers.analysis.lens.function`, :mod:`~helpers.analysis.lens.fourier`,
:mod:`~helpers.analysis.lens.entanglement`, :mod:`~helpers.analysis.lens.saturation`).

Training moves both the pre-net (which sets the circuit's inputs) and the circuit's weights.
Measures of the circuit's states and outputs are therefore taken in a 2 × 2 design: inputs
from the trained or the initial pre-net, with the trained or the initial circuit (keys
:data:`SETTINGS`), so that a change can be attributed to what moved. The verdicts are in
:mod:`helpers.analysis.lens.verdicts`.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
from torch import nn
from torch.nn.utils import vector_to_parameters

from helpers.analysis.landscape.invariant import angle_periods
from helpers.analysis.lens.additive import AdditivePart, additive_part
from helpers.analysis.lens.entanglement import StateSummary, summarise_states
from helpers.analysis.lens.fourier import OrderPower, order_power
from helpers.analysis.lens.function import (
    AdditiveFit,
    ablation,
    circuit_inputs,
    control_difference,
    fit_additive,
    multi_body_shares,
    output_shares,
    surrogate_check,
)
from helpers.analysis.lens.saturation import saturated
from helpers.config import Config
from helpers.declare import QUANTUM_MODELS
from helpers.model.backbone import Features
from helpers.model.checkpoints import load_trajectory
from helpers.model.heads import DressedQuantumHead
from helpers.model.train import train
from helpers.quantum.circuits import CircuitSpec

# (inputs from the pre-net, circuit weights): trained or initial
SETTINGS = {
    "trained": ("trained", "trained"),
    "initial circuit": ("trained", "initial"),
    "initial inputs": ("initial", "trained"),
    "initial": ("initial", "initial"),
}


@dataclasses.dataclass(frozen=True)
class HeadLens:
    """One seed's dressed head through the lens, on the study's test images.

    ``fit`` is the fitted additive surrogate and ``part`` the torus ANOVA part;
    ``shares``/``decision`` the multi-body shares at the trained head, ``initial_*`` at the
    initial head; ``power``/``initial_power`` the circuit's power by interaction order (uniform
    inputs over the full period); ``scores`` the ablations' per-image scores (``full``,
    ``fitted``, ``uniform``) and ``check`` the largest logit change with the exact Fourier series
    swapped in; ``states`` and ``output_share`` (mean over outputs) per :data:`SETTINGS` key;
    ``weight_change`` the largest move of a circuit weight (period-wrapped, radians);
    ``control_split`` the distance from the product control and its parts (None for controls).
    """

    angles: np.ndarray
    fit: AdditiveFit
    part: AdditivePart
    shares: np.ndarray
    decision: float
    initial_shares: np.ndarray
    initial_decision: float
    power: OrderPower
    initial_power: OrderPower
    scores: dict[str, np.ndarray]
    check: float
    states: dict[str, StateSummary]
    output_share: dict[str, float]
    saturated: np.ndarray
    weight_change: float
    control_split: dict[str, float] | None


def initial_head(cfg: Config, kind: str, seed: int, head: nn.Module) -> nn.Module:
    """``head`` at the parameters it was initialised with (training's first snapshot).

    Args:
        cfg: The run's configuration (where the trajectories are).
        kind: The model kind.
        seed: The training seed.
        head: The trained head (copied, not changed).

    Returns:
        A copy of ``head`` at its initial parameters, in eval mode.

    Example:
        >>> start = initial_head(cfg, "hybrid", cfg.seeds[0], head)  # doctest: +SKIP
    """
    start = copy.deepcopy(head)
    vector = load_trajectory(cfg, kind, seed)["vectors"][0]
    vector_to_parameters(vector.to(next(start.parameters())), start.parameters())
    return start.eval()


def lens_heads(cfg: Config, heads_by_seed: dict[int, dict[str, nn.Module]], features) -> dict:
    """The run's heads by seed, with the unentangled control trained here (on the cached
    features, as notebook 02 would) when the run has a hybrid and not that control.

    Args:
        cfg: The run's configuration.
        heads_by_seed: ``session.heads_by_seed``.
        features: The cached backbone features (``session.features``).

    Returns:
        ``{seed: {kind: head}}`` with every model of the run and the unentangled control.

    Example:
        >>> heads = lens_heads(cfg, session.heads_by_seed, session.features)  # doctest: +SKIP
    """
    wanted = "hybrid" in cfg.models and "unentangled" not in cfg.models
    if not wanted or "unentangled" in cfg.controls_it_is:
        return heads_by_seed
    trained = train(cfg, "unentangled", features).heads
    return {seed: {**heads, "unentangled": trained[seed]} for seed, heads in heads_by_seed.items()}


def _weight_change(head: DressedQuantumHead, start: DressedQuantumHead) -> float:
    moved = (head.q_layer.weight - start.q_layer.weight).detach().double()
    if moved.numel() == 0:
        return 0.0
    try:
        periods = angle_periods(head.q_layer).double()
    except ValueError:  # a weight without a period: its raw move
        return float(moved.abs().max())
    return float((torch.remainder(moved + periods / 2, periods) - periods / 2).abs().max())


def lens_of_head(
    head: DressedQuantumHead,
    start: DressedQuantumHead,
    features: torch.Tensor,
    labels: torch.Tensor,
    fit_features: torch.Tensor,
    control: CircuitSpec | None = None,
) -> HeadLens:
    """One dressed head through the lens (see :class:`HeadLens`).

    Args:
        head: The trained head.
        start: The same head at its initial parameters (:func:`initial_head`).
        features: Test features ``(N, 512)``.
        labels: Their labels ``(N,)``.
        fit_features: The features the additive surrogates are fitted on (training and
            validation images'; never the test images).
        control: The product model's circuit, to split the head's distance from it (the hybrid
            only); None skips it.

    Returns:
        The :class:`HeadLens`.

    Example:
        >>> lens = lens_of_head(head, start, x, y, fit_x, control)  # doctest: +SKIP
    """
    heads = {"trained": head, "initial": start}
    angles = {k: circuit_inputs(h, features) for k, h in heads.items()}
    fit_angles = {k: circuit_inputs(h, fit_features) for k, h in heads.items()}
    fits = {
        (inputs, circuit): fit_additive(heads[circuit].q_layer, fit_angles[inputs])
        for inputs, circuit in SETTINGS.values()
    }
    fit = fits["trained", "trained"]
    part = additive_part(head.q_layer)
    shares, decision = multi_body_shares(head, fit, angles["trained"])
    initial_shares, initial_decision = multi_body_shares(
        start, fits["initial", "initial"], angles["initial"]
    )
    output_share, states = {}, {}
    for name, (inputs, circuit) in SETTINGS.items():
        layer, x = heads[circuit].q_layer, angles[inputs]
        output_share[name] = float(np.nanmean(output_shares(layer, fits[inputs, circuit], x)))
        states[name] = summarise_states(layer, x)
    surrogates = {"fitted": fit.evaluate, "uniform": part.evaluate}
    split = None if control is None else control_difference(head, fit, control, angles["trained"])
    return HeadLens(
        angles=angles["trained"],
        fit=fit,
        part=part,
        shares=shares,
        decision=decision,
        initial_shares=initial_shares,
        initial_decision=initial_decision,
        power=order_power(head.q_layer),
        initial_power=order_power(start.q_layer),
        scores=ablation(head, surrogates, features, labels),
        check=surrogate_check(head, features),
        states=states,
        output_share=output_share,
        saturated=saturated(angles["trained"]),
        weight_change=_weight_change(head, start),
        control_split=split,
    )


def training_features(features: Features) -> torch.Tensor:
    """The training and validation features together: what the lens fits on (never the test).

    Args:
        features: The run's cached features (``session.features``).

    Returns:
        ``(N_train + N_val, 512)``.

    Example:
        >>> fit_x = training_features(session.features)  # doctest: +SKIP
    """
    return torch.cat([features.train, features.val])


def lens_study(
    cfg: Config,
    heads_by_seed: dict[int, dict[str, nn.Module]],
    features: Features,
    chosen: tuple[torch.Tensor, torch.Tensor],
    control: CircuitSpec,
) -> dict[int, dict[str, HeadLens]]:
    """Every seed's dressed heads (:data:`~helpers.declare.QUANTUM_MODELS`) through the lens.

    Args:
        cfg: The run's configuration (where the training trajectories are).
        heads_by_seed: ``{seed: {kind: head}}`` (:func:`lens_heads`).
        features: The run's cached features (the surrogates are fitted on its training and
            validation features).
        chosen: The study's test features ``(N, 512)`` and labels (``session.test_features``).
        control: The product model's circuit (``model_circuit("product", cfg)``).

    Returns:
        ``{seed: {kind: HeadLens}}`` for the quantum models present.

    Example:
        >>> chosen = session.test_features(500)  # doctest: +SKIP
        >>> study = lens_study(cfg, heads, session.features, chosen, control)  # doctest: +SKIP
    """
    fit_features = training_features(features)
    return {
        seed: {
            kind: lens_of_head(
                head,
                initial_head(cfg, kind, seed, head),
                *chosen,
                fit_features,
                control if kind == "hybrid" else None,
            )
            for kind, head in heads.items()
            if kind in QUANTUM_MODELS
        }
        for seed, heads in heads_by_seed.items()
    }
