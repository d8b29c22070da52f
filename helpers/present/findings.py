"""What the report's summary and the slide deck say about an analysis: its verdicts, read back
from ``results.json`` (:class:`helpers.analysis.results.Results`), one headline, and one figure.

The headline states the family's Holm-corrected outcome (how many comparisons were detected,
or that none was) and the sentence of its strongest comparison, worded as the notebooks word it
(:func:`helpers.present.tables.describe_comparison`). A family with nothing detected reads as a
null result, never as a trend. The figure (:func:`plot_finding`) shows every comparison's effect
with its confidence interval, drawn to be read from the back of a room.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from helpers.analysis.stats import ALPHA, Compared, Comparison, RatioComparison
from helpers.present.style import PALETTE, THEME, themed
from helpers.present.tables import describe_comparison


@dataclass(frozen=True)
class Verdict:
    """One comparison of ``results.json``: in the Holm family (``holm_p`` and ``family_size``
    given) or exploratory (both None); ``comparative`` says what "b higher" means."""

    name: str
    comparison: Compared
    holm_p: float | None = None
    family_size: int | None = None
    comparative: str = "higher"

    @property
    def exploratory(self) -> bool:
        return self.holm_p is None

    @property
    def p(self) -> float:
        """The p-value the verdict rests on: Holm-adjusted, or uncorrected if exploratory."""
        return self.comparison.p_value if self.holm_p is None else self.holm_p

    @property
    def detected(self) -> bool:
        return self.p < ALPHA  # NaN (no variance, one seed) is never detected

    def sentence(self) -> str:
        """The notebook's sentence (:func:`describe_comparison`), rebuilt from the file."""
        return describe_comparison(
            self.name, self.comparison, self.holm_p, self.family_size, self.comparative, ALPHA
        )


def _compared(row: Mapping[str, Any]) -> Compared:
    kind = RatioComparison if "ratio" in row else Comparison
    fields = set(kind.__dataclass_fields__) - {"names"}
    return kind.from_dict({k: v for k, v in row.items() if k in fields | {"name_a", "name_b"}})


def verdicts(results: Mapping[str, Any]) -> list[Verdict]:
    """The family's verdicts (in the order the notebook added them), then the exploratory ones,
    from a ``results.json`` dictionary."""
    size = int(results.get("family_size", 0))
    found = [
        Verdict(row["name"], _compared(row), float(row["holm_p"]), size, _comparative(row))
        for row in results.get("comparisons", [])
    ]
    return found + [
        Verdict(row["name"], _compared(row), comparative=_comparative(row))
        for row in results.get("exploratory", [])
    ]


def _comparative(row: Mapping[str, Any]) -> str:
    return row.get("comparative", "higher")  # schema 1 files did not keep it


@dataclass(frozen=True)
class Headline:
    """An analysis in one line: ``outcome`` (the family's result) and ``verdict``, the
    comparison it quotes (None without comparisons), whose sentence is ``sentence``; ``null``
    when the family was tested and detected nothing."""

    outcome: str
    verdict: Verdict | None
    sentence: str
    null: bool = False

    def __str__(self) -> str:
        return f"{self.outcome} {self.sentence}".strip()

    @property
    def kind(self) -> str:
        """How to style it: ``"null"`` (a null result), ``"found"`` (the comparison quoted is
        below α) or ``"neutral"`` (nothing testable, or exploratory with nothing below α)."""
        if self.null:
            return "null"
        return "found" if self.verdict is not None and self.verdict.detected else "neutral"


def _count(n: int) -> str:
    return f"{n} comparison{'s' * (n != 1)}"


def _strongest(found: list[Verdict]) -> Verdict:
    """The comparison with the smallest p-value (the first one when none is defined)."""
    return min(found, key=lambda v: (math.isnan(v.p), v.p if not math.isnan(v.p) else 0.0))


def headline(found: list[Verdict]) -> Headline:
    """The outcome of the Holm family and its strongest comparison's sentence; exploratory
    comparisons only when there is no family (labelled as such); "not testable" when no p-value
    of the family is defined (one seed), which is no null result."""
    family, null = [v for v in found if not v.exploratory], False
    if not found:
        return Headline("No comparison: fewer than two models or seeds.", None, "")
    if not family:
        outcome = f"Exploratory only ({_count(len(found))}, uncorrected). Smallest p:"
        chosen = _strongest(found)
    elif all(math.isnan(v.p) for v in family):  # a family of size 0
        outcome = f"Not testable (fewer than 2 {family[0].comparison.unit}):"
        chosen = family[0]
    else:
        detected = [v for v in family if v.detected]
        size = _count(family[0].family_size or len(family))
        chosen = _strongest(detected or family)
        if detected:
            outcome = f"{len(detected)} of {size} detected (Holm-corrected). Strongest:"
        else:
            outcome = f"Null result: none of {size} detected (Holm-corrected). Smallest p:"
            null = True
    return Headline(outcome, chosen, chosen.sentence(), null)


DETECTED, EXPLORED, NOT_DETECTED = PALETTE[3], PALETTE[1], "0.45"
FONT = {"title": 20, "panel": 16, "label": 15, "tick": 14}  # points, for a projector


def interval(verdict: Verdict, confidence: float = 0.95) -> tuple[float, float, float]:
    """The effect and its unadjusted two-sided ``confidence`` interval: the difference ± t·SE
    (n − 1 degrees of freedom), or a ratio's own interval (NaN bounds with one unit)."""
    c = verdict.comparison
    if isinstance(c, RatioComparison):
        return c.ratio, c.low, c.high
    t = stats.t.ppf(0.5 + confidence / 2, c.n - 1) if c.n > 1 else math.nan
    return c.difference, c.difference - t * c.difference_se, c.difference + t * c.difference_se


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
def plot_finding(found: list[Verdict], title: str, most: int = 6) -> Figure:
    """An analysis's Holm family (its exploratory comparisons when it has no family; the
    ``most`` with the smallest p-values when it is larger): a panel per measured quantity, a row
    per model pair, the effect (b − a, or b / a for a ratio) with its unadjusted 95% confidence
    interval (the error bar) against no difference; filled where the verdict detects a
    difference (another colour for an exploratory comparison's uncorrected p below α)."""
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
        for row, verdict in enumerate(group):
            effect, low, high = interval(verdict)
            colour = _colour(verdict)
            ax.errorbar(
                effect, row, xerr=[[effect - low], [high - effect]], fmt="o", markersize=11,
                color=colour, markerfacecolor=colour if verdict.detected else "white",
                elinewidth=3, capsize=6, markeredgewidth=2.5,
            )  # fmt: skip
        ax.axvline(1.0 if ratio else 0.0, color="0.25", linewidth=1.5, linestyle="--")
        if ratio:
            ax.set_xscale("log")
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
        ax.set_xlabel(f"{'ratio' if ratio else 'difference'} (95% CI)", fontsize=FONT["label"])
        ax.tick_params(axis="x", labelsize=FONT["tick"])
    for ax in axes[len(groups) :]:
        ax.remove()
    fig.suptitle(title + note, fontsize=FONT["title"])
    kinds = {"difference detected (Holm)": DETECTED, "none detectable": NOT_DETECTED}
    if any(verdict.exploratory for verdict in shown):
        kinds[f"uncorrected p < {ALPHA:g} (exploratory)"] = EXPLORED
    marks = [
        Line2D([], [], marker="o", markersize=11, color=colour, linestyle="",
               markerfacecolor="white" if colour == NOT_DETECTED else colour, markeredgewidth=2.5)
        for colour in kinds.values()
    ]  # fmt: skip
    fig.legend(marks, kinds, loc="lower center", ncol=3, fontsize=FONT["label"], frameon=False)
    fig.tight_layout(rect=(0, 0.5 / (height * rows + 1.2), 1, 1))
    return fig


def _colour(verdict: Verdict) -> str | tuple[float, float, float]:
    if not verdict.detected:
        return NOT_DETECTED
    return EXPLORED if verdict.exploratory else DETECTED


def figure_base64(fig: Figure, dpi: int = 100) -> str:
    """A figure as a base64 PNG (for a page that embeds it), drawn in the theme; closes it."""
    buffer = io.BytesIO()
    with mpl.rc_context(THEME):
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
