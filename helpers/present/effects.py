"""The effects figure of an analysis, drawn for the slide deck: every comparison's effect with its
confidence interval against no difference, to be read from the back of a room."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from helpers.analysis.stats import ALPHA, Comparison, RatioComparison
from helpers.present.findings import Verdict
from helpers.present.style import PALETTE, themed

DETECTED, EXPLORED, EQUIVALENT, NOT_DETECTED = PALETTE[3], PALETTE[1], PALETTE[2], "0.45"
FONT = {"title": 20, "panel": 16, "label": 15, "tick": 14}  # points, for a projector


def interval(verdict: Verdict) -> tuple[float, float, float]:
    """The effect (b − a, or b / a) and the interval of its decision: at the level where it
    excludes no difference exactly when the verdict is "different" (NaN bounds with one unit,
    infinite ones when the test has too few units to exclude anything)."""
    c, decision = verdict.comparison, verdict.decision
    effect = c.ratio if isinstance(c, RatioComparison) else c.difference
    return effect, decision.low, decision.high


def _drawn(effect: float, low: float, high: float, limits: tuple[float, float]) -> list[float]:
    """The error bar's lengths, an infinite bound cut at the panel's edge."""
    return [effect - max(low, limits[0]), min(high, limits[1]) - effect]


def _limits(group: list[Verdict], ratio: bool) -> tuple[float, float]:
    """The panel's x range: every finite bound, effect and margin, padded."""
    values = [1.0 if ratio else 0.0]
    for verdict in group:
        values += [v for v in interval(verdict) if math.isfinite(v)]
        margin = verdict.comparison.margin
        if math.isfinite(margin):
            values += [1 / margin, margin] if ratio else [-margin, margin]
    low, high = min(values), max(values)
    if ratio:
        pad = (high / low) ** 0.15
        return low / pad, high * pad
    pad = 0.15 * (high - low or 1.0)
    return low - pad, high + pad


def _metric(verdict: Verdict) -> str:
    """What a comparison measures: its name without the trailing ``", b vs a"``."""
    a, b = verdict.comparison.names
    return verdict.name.removesuffix(f", {b} vs {a}")


def _shown(found: list[Verdict], most: int) -> tuple[list[Verdict], str]:
    """The Holm family (the exploratory comparisons when there is none), at most ``most`` of
    them, the smallest p-values kept, in their order; and a note saying what was left out."""
    family = [verdict for verdict in found if not verdict.exploratory] or found
    if len(family) <= most:
        return family, ""
    kept = sorted(family, key=lambda v: (math.isnan(v.p), v.p if not math.isnan(v.p) else 0))
    chosen = {id(verdict) for verdict in kept[:most]}
    return [v for v in family if id(v) in chosen], f" ({most} smallest p of {len(family)})"


def _panels(shown: list[Verdict]) -> dict[str, list[Verdict]]:
    """The comparisons by what they measure; differences measured once share one panel ("")."""
    groups: dict[str, list[Verdict]] = {}
    for verdict in shown:
        groups.setdefault(_metric(verdict), []).append(verdict)
    single = {
        name: group[0]
        for name, group in groups.items()
        if len(group) == 1 and isinstance(group[0].comparison, Comparison)
    }
    if len(single) < 2:
        return groups
    return {"": list(single.values()), **{k: v for k, v in groups.items() if k not in single}}


@themed
def plot_effects(found: list[Verdict], title: str, most: int = 6) -> Figure:
    """An analysis's Holm family (its exploratory comparisons when it has no family; the
    ``most`` with the smallest p-values when it is larger): a panel per measured quantity, a row
    per model pair, the effect (b − a, or b / a for a ratio) with the interval that agrees with
    its verdict (:func:`interval`) against no difference and its equivalence margin (shaded);
    coloured by outcome (another colour for an exploratory comparison's uncorrected p below α)."""
    shown, note = _shown(found, most)
    groups = _panels(shown)
    columns = min(len(groups), 3)
    rows = math.ceil(len(groups) / columns)
    height = 0.55 * max(len(group) for group in groups.values()) + 1.4
    width = 11.0 if "" in groups and columns == 1 else 4.8 * columns
    fig, axes = plt.subplots(rows, columns, figsize=(width, height * rows + 1.2))
    axes = list(getattr(axes, "flat", [axes]))
    for ax, (metric, group) in zip(axes, groups.items(), strict=False):
        ratio = isinstance(group[0].comparison, RatioComparison)
        limits = _limits(group, ratio)
        for row, verdict in enumerate(group):
            effect, low, high = interval(verdict)
            colour = _colour(verdict)
            margin = verdict.comparison.margin
            if math.isfinite(margin):  # the equivalence margin: the band "equivalent" lies in
                band = (1 / margin, margin) if ratio else (-margin, margin)
                ax.fill_betweenx([row - 0.4, row + 0.4], *band, color=EQUIVALENT, alpha=0.15)
            ax.errorbar(
                effect, row, xerr=[[e] for e in _drawn(effect, low, high, limits)], fmt="o",
                markersize=11, color=colour, elinewidth=3, capsize=6, markeredgewidth=2.5,
                markerfacecolor=colour if colour != NOT_DETECTED else "white",
            )  # fmt: skip
        ax.axvline(1.0 if ratio else 0.0, color="0.25", linewidth=1.5, linestyle="--")
        if ratio:
            ax.set_xscale("log")
        ax.set_xlim(*limits)
        sign = "/" if ratio else "−"
        pairs = [f"{v.comparison.names[1]} {sign} {v.comparison.names[0]}" for v in group]
        if not metric:  # quantities compared once: each row says what it measures
            pairs = [
                textwrap.fill(f"{_metric(v)} ({p})", 44) for v, p in zip(group, pairs, strict=True)
            ]
        ax.set_yticks(range(len(group)), pairs, fontsize=FONT["label"])
        ax.set_ylim(len(group) - 0.5, -0.5)
        exploratory = " (exploratory)" * group[0].exploratory
        ax.set_title(textwrap.fill(metric + exploratory, 30), fontsize=FONT["panel"])
        label = f"{'ratio' if ratio else 'difference'} (CI at the verdict's level)"
        ax.set_xlabel(label, fontsize=FONT["label"])
        ax.tick_params(axis="x", labelsize=FONT["tick"])
    for ax in axes[len(groups) :]:
        ax.remove()
    fig.suptitle(title + note, fontsize=FONT["title"])
    kinds = {
        "different (Holm)": DETECTED,
        "equivalent within the margin (shaded)": EQUIVALENT,
        "inconclusive": NOT_DETECTED,
    }
    if any(verdict.exploratory for verdict in shown):
        kinds[f"uncorrected p < {ALPHA:g} (exploratory)"] = EXPLORED
    marks = [
        Line2D([], [], marker="o", markersize=11, color=colour, linestyle="",
               markerfacecolor="white" if colour == NOT_DETECTED else colour, markeredgewidth=2.5)
        for colour in kinds.values()
    ]  # fmt: skip
    fig.legend(marks, kinds, loc="lower center", ncol=2, fontsize=FONT["label"], frameon=False)
    fig.tight_layout(rect=(0, 0.5 / (height * rows + 1.2), 1, 1))
    return fig


def _colour(verdict: Verdict) -> str | tuple[float, float, float]:
    if verdict.equivalent:
        return EQUIVALENT
    if not verdict.detected:
        return NOT_DETECTED
    return EXPLORED if verdict.exploratory else DETECTED
