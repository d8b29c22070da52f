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

from helpers.analysis.family import OUTCOMES, Decision, holm
from helpers.analysis.results import SCHEMA_VERSION
from helpers.analysis.stats import ALPHA, Compared, Comparison, RatioComparison
from helpers.present.tables import describe_comparison


@dataclass(frozen=True)
class Verdict:
    """One comparison of ``results.json`` and its :class:`Decision`: in the Holm family
    (``family`` is its ``(comparisons, tests)``) or exploratory (``family`` None);
    ``comparative`` says what "b higher" means."""

    name: str
    comparison: Compared
    decision: Decision
    comparative: str = "higher"
    family: tuple[int, int] | None = None

    @property
    def exploratory(self) -> bool:
        return self.family is None

    @property
    def p(self) -> float:
        """The p-value the verdict rests on: Holm-adjusted, or uncorrected if exploratory."""
        return self.decision.p

    @property
    def detected(self) -> bool:
        """A difference detected (the outcome "different")."""
        return self.decision.outcome == "different"

    @property
    def equivalent(self) -> bool:
        return self.decision.outcome == "equivalent"

    def sentence(self) -> str:
        """The notebook's sentence (:func:`describe_comparison`), rebuilt from the file."""
        return describe_comparison(
            self.name, self.comparison, self.decision, self.comparative, self.family
        )


def compared_of(row: Mapping[str, Any]) -> Compared:
    """The comparison a ``results.json`` row records."""
    kind = RatioComparison if "ratio" in row else Comparison
    fields = set(kind.__dataclass_fields__) - {"names"}
    return kind.from_dict({k: v for k, v in row.items() if k in fields | {"name_a", "name_b"}})


def _verdict(row: Mapping[str, Any], family: tuple[int, int] | None) -> Verdict:
    comparison = compared_of(row)
    p = "p_value" if family is None else "holm_p"
    equivalence = "equivalence_p" if family is None else "holm_equivalence_p"
    decision = Decision(
        row["outcome"], float(row[p]), float(row[equivalence]), float(row["interval_low"]),
        float(row["interval_high"]), float(row["interval_confidence"]), row["within_margin"],
    )  # fmt: skip
    return Verdict(row["name"], comparison, decision, row["comparative"], family)


def verdicts(results: Mapping[str, Any]) -> list[Verdict]:
    """The family's verdicts (in the order the notebook added them), then the exploratory ones,
    from a ``results.json`` dictionary (schema 3; run the notebook again for an older one)."""
    if results.get("schema", 1) < SCHEMA_VERSION:
        raise ValueError(
            f"results.json of {results.get('analysis')!r} has schema {results.get('schema', 1)}, "
            f"older than {SCHEMA_VERSION}: run its notebook again to rewrite it"
        )
    family = (int(results["family_size"]), int(results["family_tests"]))
    return [_verdict(row, family) for row in results["comparisons"]] + [
        _verdict(row, None) for row in results["exploratory"]
    ]


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


def _strongest(found: list[Verdict], key: str = "p") -> Verdict:
    """The comparison with the smallest p-value (``"p"``, or ``"equivalence"``'s), the first
    one when none is defined."""

    def p(verdict: Verdict) -> float:
        value = verdict.p if key == "p" else verdict.decision.equivalence_p
        return math.inf if math.isnan(value) else value

    return min(found, key=p)


def _tally(family: list[Verdict]) -> str:
    """``"1 different, 2 equivalent within their margins, 1 inconclusive"``."""
    counts = {outcome: sum(v.decision.outcome == outcome for v in family) for outcome in OUTCOMES}
    words = {"equivalent": "equivalent within their margins"}
    return ", ".join(f"{n} {words.get(o, o)}" for o, n in counts.items() if n)


def headline(found: list[Verdict]) -> Headline:
    """The outcome of the Holm family and its strongest comparison's sentence: a detected
    difference first, else an equivalence, else the smallest p (a null result: nothing
    different). Exploratory comparisons only when there is no family: how many hold after Holm
    correction within them, and the smallest uncorrected p's effect without a conclusion.
    "Not testable" when no comparison of the family is (one seed), which is no null result."""
    family = [v for v in found if not v.exploratory]
    if not found:
        return Headline("No comparison: fewer than two models or seeds.", None, "")
    if not family:  # no confirmatory family: say what survives correction within the set
        within = holm([v.p for v in found])
        below = int(np.sum(within < ALPHA))
        chosen = _strongest(found)
        held = f"{below} of {len(found)}" if below else "none"
        outcome = (
            f"Exploratory only ({_count(len(found))}): {held} with a difference at α = "
            f"{ALPHA:g} after Holm correction within them. Smallest uncorrected p:"
        )
        sentence = chosen.sentence().rsplit("): ", 1)[0] + ")."  # the effect, not a conclusion
        return Headline(outcome, chosen, sentence, exploratory=True)
    if all(v.decision.outcome == "not testable" for v in family):
        chosen = family[0]
        return Headline(f"Not testable (fewer than 2 {chosen.comparison.unit}):", chosen,
                        chosen.sentence())  # fmt: skip
    size, tests = family[0].family or (len(family), len(family))
    corrected = f"Holm over {tests} test{'s' * (tests != 1)} of {_count(size)}"
    detected = [v for v in family if v.detected]
    equivalent = [v for v in family if v.equivalent]
    if detected:
        chosen = _strongest(detected)
        outcome = f"{_tally(family)} ({corrected}). Strongest:"
    elif equivalent:
        chosen = _strongest(equivalent, "equivalence")
        outcome = f"No difference detected: {_tally(family)} ({corrected}). Closest:"
    else:
        chosen = _strongest(family)
        outcome = f"Null result: {_tally(family)} ({corrected}). Smallest p:"
    return Headline(outcome, chosen, chosen.sentence(), null=not detected)
