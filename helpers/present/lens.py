"""Figures of the quantum lens (notebook 09): the spectrum by interaction order, the multi-body
share per model, the ablation, entanglement by class, saturation, capacity and gradients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers.analysis.lens.capacity import GradientVariance
from helpers.analysis.lens.capacity_study import Capacity
from helpers.analysis.lens.fourier import OrderPower
from helpers.analysis.lens.study import HeadLens
from helpers.present.style import MODEL_COLOURS, PALETTE, themed

Study = Mapping[int, Mapping[str, HeadLens]]


CONTROL_COLOURS = {"product": PALETTE[2], "unentangled": PALETTE[4]}  # green, purple


def model_colour(kind: str) -> object:
    """The model's colour: the project's for the hybrid and the classical twin, distinct ones
    for the controls."""
    return MODEL_COLOURS.get(kind) or CONTROL_COLOURS.get(kind, PALETTE[5])


@themed
def plot_spectrum_by_order(trained: OrderPower, initial: OrderPower, title: str) -> Figure:
    """Each output's variance under uniform inputs by interaction order, initial vs trained.

    Args:
        trained: The power by order (:func:`~helpers.analysis.lens.fourier.order_power`) of
            the trained circuit.
        initial: The same at initialisation.
        title: The figure's title.

    Returns:
        One panel per output: the share of its variance (orders ≥ 1) carried by each order;
        an estimated multi-body column gets its standard error.

    Example:
        >>> fig = plot_spectrum_by_order(power, start_power, "Spectrum")  # doctest: +SKIP
    """
    n_outputs, orders = trained.power.shape[0], np.arange(1, len(trained.orders))
    fig, axes = plt.subplots(1, n_outputs, figsize=(3.2 * n_outputs, 3.4), squeeze=False)
    for j, ax in enumerate(axes[0]):
        for offset, (name, power) in zip(
            (-0.2, 0.2), (("initial", initial), ("trained", trained)), strict=True
        ):
            variance = np.clip(power.power[j, 1:], 0, None)
            total = variance.sum()
            share = variance / total if total > 0 else variance
            error = np.zeros_like(share)
            error[-1] = power.error[j] / total if total > 0 else 0.0
            ax.bar(
                orders + offset,
                share,
                width=0.4,
                yerr=error if power.error.any() else None,
                label=name,
            )
        ax.set(title=f"output {j}", xlabel="interaction order (inputs coupled)")
        ax.set_xticks(orders, trained.orders[1:])
        ax.set_ylim(0, 1.05)
    axes[0, 0].set_ylabel("share of variance, uniform inputs")
    axes[0, 0].legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_multi_body_share(study: Study, title: str) -> Figure:
    """The multi-body share of the decision per model, each seed a dot, initial and trained.

    Args:
        study: ``{seed: {kind: HeadLens}}``.
        title: The figure's title.

    Returns:
        The figure: one column per model, mean ± SE over seeds as a bar with error bar.

    Example:
        >>> fig = plot_multi_body_share(study, "Multi-body share")  # doctest: +SKIP
    """
    kinds = list(next(iter(study.values())))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(kinds), 3.8))
    for i, kind in enumerate(kinds):
        for offset, field, hatch in ((-0.2, "initial_decision", "//"), (0.2, "decision", "")):
            values = np.array([getattr(seeds[kind], field) for seeds in study.values()])
            mean = np.nanmean(values)
            error = np.nanstd(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
            label = ("whole head at initialisation" if hatch else "trained") if i == 0 else None
            ax.bar(i + offset, mean, 0.38, yerr=error, color=model_colour(kind), hatch=hatch,
                   alpha=0.55 if hatch else 0.9, edgecolor="black", label=label)  # fmt: skip
            ax.scatter(np.full(len(values), i + offset), values, s=14, color="black", zorder=3)
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set(xlabel="model", ylabel="Var(f − f_additive) / Var(f), logits", title=title)
    ax.legend(title="head")
    fig.tight_layout()
    return fig


@themed
def plot_ablation(study: Study, title: str) -> Figure:
    """Test accuracy and loss change when each head's multi-body terms are removed, per seed,
    by the fitted additive surrogate and by the uniform-measure ANOVA part.

    Args:
        study: ``{seed: {kind: HeadLens}}``.
        title: The figure's title.

    Returns:
        Two panels (accuracy, loss): each seed's change (dots) and the mean ± SE over seeds,
        per model and surrogate.

    Example:
        >>> fig = plot_ablation(study, "Ablation")  # doctest: +SKIP
    """
    kinds = list(next(iter(study.values())))
    fig, axes = plt.subplots(1, 2, figsize=(5 + 2.4 * len(kinds), 3.9))
    surrogates = {"fitted": ("s", "fitted additive surrogate"), "uniform": ("^", "uniform ANOVA")}
    for ax, measure, label in zip(
        axes, ("correct", "loss"), ("test accuracy", "test loss"), strict=True
    ):
        for i, kind in enumerate(kinds):
            for offset, (surrogate, (marker, name)) in zip(
                (-0.15, 0.15), surrogates.items(), strict=True
            ):
                scores = [seeds[kind].scores for seeds in study.values()]
                ablated, whole = f"{measure}_{surrogate}", f"{measure}_full"
                change = np.array([np.mean(row[ablated] - row[whole]) for row in scores])
                error = change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else 0.0
                ax.errorbar(i + offset, change.mean(), yerr=error, fmt=marker, capsize=5,
                            color=model_colour(kind), label=name if i == 0 else None)  # fmt: skip
                ax.scatter(np.full(len(change), i + offset + 0.06), change, s=10, color="black")
        ax.axhline(0, color="grey", linewidth=1)
        ax.set_xticks(range(len(kinds)), kinds)
        ax.set(xlabel="model", ylabel=f"change in {label}", title=f"{label}: ablated − whole")
    axes[0].legend(title="multi-body terms removed by", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_entanglement(
    study: Study, labels: np.ndarray, classes: Sequence[str], kind: str, title: str
) -> Figure:
    """Meyer-Wallach Q of the state each test image prepares in the 2 × 2 design (inputs from
    the trained or initial pre-net, trained or initial circuit), and each qubit's entropy by
    class, trained (solid) vs initial (dashed); every seed's images pooled.

    Args:
        study: ``{seed: {kind: HeadLens}}``.
        labels: The images' labels.
        classes: The class names.
        kind: The model shown (the hybrid).
        title: The figure's title.

    Returns:
        Two panels: Q per setting and class (box plots), and the mean entropy of each qubit.

    Example:
        >>> fig = plot_entanglement(study, y, classes, "hybrid", "Entanglement")  # doctest: +SKIP
    """
    lenses = [seeds[kind] for seeds in study.values()]
    settings = list(lenses[0].states)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / len(settings)
    for k, setting in enumerate(settings):
        q = np.stack([lens.states[setting].meyer_wallach for lens in lenses])
        groups = [q[:, labels == c].ravel() for c in range(len(classes))]
        positions = np.arange(len(classes)) + (k - (len(settings) - 1) / 2) * width
        parts = left.boxplot(groups, positions=positions, widths=width * 0.9, patch_artist=True,
                             showfliers=False)  # fmt: skip
        for box in parts["boxes"]:
            box.set_facecolor(PALETTE[k])
        left.plot([], [], color=PALETTE[k], linewidth=8, label=setting)
    left.set_xticks(range(len(classes)), classes)
    left.set(xlabel="class", ylabel="Meyer-Wallach Q", title="entanglement of the state")
    left.legend(title="inputs / circuit", fontsize="small")
    for setting, style in (("trained", "-"), ("initial", "--")):
        entropy = np.stack([lens.states[setting].entropies for lens in lenses])  # (S, N, n)
        for c, name in enumerate(classes):
            right.plot(entropy[:, labels == c].mean(axis=(0, 1)), style, marker="o",
                       color=PALETTE[c], label=f"{name}, {setting}")  # fmt: skip
    right.set(xlabel="qubit", ylabel="entropy of the qubit (bits)", title="each qubit, by class")
    right.set_xticks(range(lenses[0].states["trained"].entropies.shape[-1]))
    right.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@themed
def plot_saturation(study: Study, title: str) -> Figure:
    """The share of each circuit input at an end of the encoding's range, per model.

    Args:
        study: ``{seed: {kind: HeadLens}}``.
        title: The figure's title.

    Returns:
        Bars per input, one colour per model, mean ± SE over seeds.

    Example:
        >>> fig = plot_saturation(study, "Saturation")  # doctest: +SKIP
    """
    kinds = list(next(iter(study.values())))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        shares = np.stack([seeds[kind].saturated.mean(axis=0) for seeds in study.values()])
        error = shares.std(axis=0, ddof=1) / np.sqrt(len(shares)) if len(shares) > 1 else None
        inputs = np.arange(shares.shape[1])
        ax.bar(inputs + (i - (len(kinds) - 1) / 2) * width, shares.mean(axis=0), width,
               yerr=error, color=model_colour(kind), label=kind)  # fmt: skip
        ax.set_xticks(inputs)
    ax.set(xlabel="circuit input", ylabel="share of images with |tanh| ≥ 0.99", title=title)
    ax.set_ylim(0, 1.05)
    ax.legend(title="model")
    fig.tight_layout()
    return fig


@themed
def plot_capacity(
    capacity: Capacity, gradients: Mapping[str, GradientVariance], title: str
) -> Figure:
    """The local effective dimension against data size, and the barren-plateau
    check against depth and width.

    Args:
        capacity: :func:`~helpers.analysis.lens.capacity_study.effective_dimensions`.
        gradients: :func:`~helpers.analysis.lens.capacity_study.gradient_study`.
        title: The figure's title.

    Returns:
        Three panels: d (mean ± SE over seeds, log n; the Fisher's rank dotted), the
        gradient variance against depth for both weight distributions, and against width.

    Example:
        >>> fig = plot_capacity(capacity, gradients, "Capacity")  # doctest: +SKIP
    """
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4))
    sizes = capacity.data_sizes
    for kind, values in capacity.curves.items():
        mean = values.mean(axis=0)
        error = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0 * mean
        colour = model_colour(kind)
        left.plot(sizes, mean, color=colour, label=f"{kind} (P = {capacity.parameters[kind]})")
        left.fill_between(sizes, mean - error, mean + error, color=colour, alpha=0.25)
        left.axhline(np.mean(capacity.ranks[kind]), color=colour, linestyle=":", linewidth=1)
    left.set_xscale("log")
    left.set(xlabel="data size n", ylabel="d (dotted: rank of F)",
             title="local effective dimension, after the pre-net")  # fmt: skip
    left.legend(title="model", fontsize="small")
    for name, found in gradients.items():
        ax = right if name == "width" else middle
        label = "uniform in [0, 2π)" if name in ("uniform", "width") else name
        ax.errorbar(
            found.depths, found.variances, yerr=found.ses, marker="o", capsize=4, label=label
        )
    middle.set(xlabel="circuit depth", ylabel="Var ∂⟨O_0⟩/∂w", title="gradients against depth")
    right.set(xlabel="qubits", ylabel="Var ∂⟨O_0⟩/∂w", title="against width, deepest depth")
    if "width" not in gradients:  # a user's circuit of fixed width
        right.text(0.5, 0.5, "fixed-width circuit:\nno width sweep", ha="center",
                   transform=right.transAxes)  # fmt: skip
    for ax in (middle, right) if "width" in gradients else (middle,):
        ax.set_yscale("log")
        ax.legend(title="weights", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
