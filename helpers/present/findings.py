"""What the report's summary and the slide deck say about an analysis: its verdicts, read back
from ``results.json`` (:class:`helpers.analysis.results.Results`), and one headline.

The headline states the family's Holm-corrected outcome (how many comparisons were detected,
or that none was) and the sentence of its strongest comparison, worded as the notebooks word it
(:func:`helpers.present.tables.describe_comparison`). A family with nothing detected reads as a
null result, never as a trend. Its figure is :func:`helpers.present.effects.plot_effects`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.analysis.stats import ALPHA, Compared, Comparison, RatioComparison, holm
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
    exploratory: bool = False

    def __str__(self) -> str:
        return f"{self.outcome} {self.sentence}".strip()

    @property
    def kind(self) -> str:
        """How to style it: ``"null"`` (a null result), ``"found"`` (the family's comparison
        quoted is detected) or ``"neutral"`` (nothing testable, or exploratory comparisons only:
        never styled as a finding)."""
        if self.null:
            return "null"
        found = self.verdict is not None and self.verdict.detected and not self.exploratory
        return "found" if found else "neutral"


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
    if not family:  # no confirmatory family: say what survives correction within the set
        within = holm([v.p for v in found])
        below = int(np.sum(within < ALPHA))
        chosen = _strongest(found)
        held = f"{below} of {len(found)}" if below else "none"
        outcome = (
            f"Exploratory only ({_count(len(found))}): {held} below α = {ALPHA:g} after Holm "
            "correction within them. Smallest uncorrected p:"
        )
        sentence = chosen.sentence().rsplit("): ", 1)[0] + ")."  # the effect, not a conclusion
        return Headline(outcome, chosen, sentence, exploratory=True)
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
