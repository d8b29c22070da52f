"""The quantum lens in words (notebook 09): sentences generated from the numbers, true for every
run, null results included."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from helpers.analysis.lens.study import HeadLens
from helpers.analysis.results import Results
from helpers.present.tables import format_value

MOSTLY_SATURATED = 0.5  # a share of saturated inputs above which the truth table tells the story


def _verdict(results: Results, name: str) -> str:
    decisions = results.decisions()
    if name not in decisions:
        return "not tested (fewer than two seeds or models)"
    decision = decisions[name]
    if decision.outcome == "not testable":
        return "not testable"
    if not np.isfinite(decision.low):  # every difference exactly 0: the exact test's interval
        return "identical on every unit compared: no difference, none to test"
    interval = f"{decision.confidence:.0%} CI [{decision.low:+.3g}, {decision.high:+.3g}]"
    words = {
        "different": "a difference"
        + (", but within the equivalence margin: negligible" if decision.within_margin else ""),
        "equivalent": "equivalent within the margin",
        "inconclusive": "inconclusive: no difference detectable at this sample size, and "
        "equivalence not shown",
    }
    return f"{words[decision.outcome]} ({interval})"


def describe_shares(results: Results) -> str:
    """The multi-body share of every quantum head's decision, with the hybrid's verdict.

    Args:
        results: The lens's results (:func:`~helpers.analysis.lens.verdicts.lens_results`).

    Returns:
        Markdown.

    Example:
        >>> print(describe_shares(results))  # doctest: +SKIP
    """
    rows = [r for r in results.numbers if r["name"] == "multi-body share of the decision"]
    lines = [
        f"- {r['model']}: {format_value(r['mean'], r['se'])} over {r['n']} seeds" for r in rows
    ]
    name = "multi-body share of the hybrid's decision, against none"
    if name in results.decisions():
        start = results.number("multi-body share of the decision at initialisation", model="hybrid")
        lines.append(
            "- the hybrid's whole head at initialisation (pre-net, circuit and post-net): "
            + format_value(start["mean"], start["se"])
        )
        lines.append(f"- the hybrid's share against 0: {_verdict(results, name)}")
    return (
        "Share of each head's decision (its logits, centred over the classes) that its circuit's "
        "additive surrogate (the least-squares sum of one-input functions, fitted to the "
        "circuit's outputs on the training and validation images) leaves unexplained on the "
        "test images:\n" + "\n".join(lines)
    )


def describe_ablation(results: Results) -> str:
    """What removing the hybrid's multi-body terms does to its test accuracy, in words.

    Args:
        results: The lens's results.

    Returns:
        Markdown.

    Example:
        >>> print(describe_ablation(results))  # doctest: +SKIP
    """
    name = "test accuracy of the hybrid, multi-body terms removed (fitted additive surrogate)"
    if name not in results.decisions():
        return "The run has no hybrid: nothing to ablate."
    fitted = results.family.comparisons[name]
    uniform = results.exploratory[
        name.replace("fitted additive surrogate", "uniform-measure ANOVA part")
    ]
    return (
        f"With its circuit replaced by its additive surrogate (fitted on the training and "
        f"validation images), the "
        f"hybrid's test accuracy goes from {fitted.mean_a:.3f} to {fitted.mean_b:.3f} (change "
        f"{fitted.difference:+.3f} over {fitted.n} seeds × {fitted.n_images} images): "
        f"{_verdict(results, name)}. This is what the circuit contributes beyond the "
        "least-squares sum of one-input functions fitted to its outputs. Removing instead the "
        "Fourier terms of order ≥ 2 of the "
        "uniform-measure (torus) expansion, which the encoding's range (−π/2, π/2) never fully "
        f"reaches, gives {uniform.mean_b:.3f} ({uniform.difference:+.3f}, exploratory)."
    )


def describe_entanglement(results: Results) -> str:
    """Which part of training moved the entanglement of the hybrid's states, in words.

    Args:
        results: The lens's results.

    Returns:
        Markdown.

    Example:
        >>> print(describe_entanglement(results))  # doctest: +SKIP
    """
    lines = []
    for name in ("circuit weights", "pre-net"):
        verdict = f"Meyer-Wallach Q of the hybrid, trained vs initial {name}"
        if verdict in results.family.comparisons:
            c = results.family.comparisons[verdict]
            lines.append(
                f"- the trained {name} against the initial ones (all else trained): Q "
                f"{c.mean_a:.3f} → {c.mean_b:.3f}: {_verdict(results, verdict)}"
            )
    if not lines:
        return "The run has no hybrid."
    moved = results.number("largest circuit-weight change (rad)", model="hybrid")
    return (
        f"Training moved the hybrid's circuit weights by at most {moved['mean']:.3g} rad (the "
        "largest per seed, period-wrapped, averaged over seeds). What moved the entanglement of "
        "its states:\n" + "\n".join(lines)
    )


def describe_control_distance(results: Results, q_depth: int, equal_at: list[int]) -> str:
    """The hybrid's distance from its product control, and whether its depth makes the
    untrained circuit that control, in words.

    Args:
        results: The lens's results.
        q_depth: The run's circuit depth.
        equal_at: The depths at which the circuit with zero weights is its control.

    Returns:
        Markdown.

    Example:
        >>> print(describe_control_distance(results, cfg.q_depth, [0, 4, 8]))  # doctest: +SKIP
    """
    name = "RMS distance from the product control"
    rows = {r["part"]: r for r in results.numbers if r["name"] == name}
    parts = ", ".join(f"{part} {format_value(r['mean'], r['se'])}" for part, r in rows.items())
    text = (
        f"{name} of the hybrid's outputs, mean ± SE over seeds: {parts}. The parts are not "
        "orthogonal on data and need not add up; the additive part includes what the "
        "multi-qubit gates make of single inputs (a CNOT ladder carries one input's sine onto "
        "other qubits), and the linear post-net can absorb much of an additive difference."
    )
    if q_depth in equal_at:
        return text + (
            f" At depth {q_depth} the circuit with every weight at 0 *is* its control (depths "
            f"{equal_at} at this width): a hybrid initialised near 0 starts as its control, and "
            "only training can move it away."
        )
    return text + (
        f" Depth {q_depth} is not among the depths {equal_at} at which the untrained circuit is "
        "its control."
    )


def describe_saturation(study: Mapping[int, Mapping[str, HeadLens]], kind: str = "hybrid") -> str:
    """How many of the circuit's inputs sit at an end of the encoding's range, in words.

    Args:
        study: ``{seed: {kind: HeadLens}}``.
        kind: The model described.

    Returns:
        Markdown.

    Example:
        >>> print(describe_saturation(study))  # doctest: +SKIP
    """
    shares = np.array([seeds[kind].saturated.mean() for seeds in study.values()])
    every = np.array([seeds[kind].saturated.all(axis=1).mean() for seeds in study.values()])
    error = shares.std(ddof=1) / math.sqrt(len(shares)) if len(shares) > 1 else math.nan
    text = (
        f"{format_value(shares.mean(), error)} of the {kind}'s circuit inputs have |tanh| ≥ 0.99 "
        f"(mean over {len(shares)} seeds); on {every.mean():.0%} of the images every input does "
        f"({every[0]:.0%} for the first seed, whose table follows)."
    )
    if every[0] > MOSTLY_SATURATED:
        return text + (
            " On those images each sine is ±1 and the circuit acts as a Boolean function of the "
            "inputs' signs: the table below is what it computes there."
        )
    return text + (
        " Most of the first seed's images keep some input inside the range: there the circuit is "
        "not just a Boolean function of the signs, and the table below gives only the corner "
        "each image is nearest."
    )


def describe_truth_table(rows: list[dict[str, object]], classes: Sequence[str]) -> str:
    """The circuit's truth table (test images grouped by their inputs' signs) as markdown.

    Args:
        rows: :func:`~helpers.analysis.lens.saturation.truth_table`'s rows.
        classes: The class names.

    Returns:
        Markdown: one row per sign pattern (images per class, how many have every input
        saturated, the outputs at the corner, the head's decision there).

    Example:
        >>> print(describe_truth_table(truth_table(head, angles, y, 2), classes))  # doctest: +SKIP
    """
    header = ["signs", *(f"{name} images" for name in classes), "all saturated",
              "outputs at the corner ±π/2", "decision there"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        outputs = ", ".join(f"{value:+.2f}" for value in row["outputs"])
        cells = [row["signs"], *map(str, row["images"]), str(row["saturated"]), outputs,
                 classes[row["decision"]]]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
