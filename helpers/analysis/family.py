"""A notebook's comparisons as one family: Holm's correction with Shaffer's count of the
hypotheses that can be true together, and what each comparison concludes (:class:`Decision`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from helpers.analysis.stats import ALPHA, Compared

OUTCOMES = ("different", "equivalent", "inconclusive", "not testable")


def holm(p_values: ArrayLike, exclusive: ArrayLike | None = None) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6:65–70),
    with Shaffer's (1986, JASA 81:826–831) count when hypotheses exclude each other.

    With the m defined p-values sorted, ``p_(1) ≤ … ≤ p_(m)``, the adjusted value of ``p_(i)``
    is ``max_{j ≤ i} min(1, t_j · p_(j))``, where ``t_j`` is the most hypotheses among
    ``H_(j) … H_(m)`` that can be true together: ``m − j + 1`` (Holm), or, given ``exclusive``
    (a label per hypothesis; two with one label cannot both be true, e.g. "no difference" and
    "not equivalent" of one comparison), the number of labels among them (Shaffer's S1).
    Rejecting where it is below alpha controls the family-wise error rate at alpha under any
    dependence. NaN entries (undefined tests) take no part and stay NaN; the order is kept.
    """
    p = np.asarray(p_values, dtype=float)
    labels = np.arange(len(p)) if exclusive is None else np.asarray(exclusive)
    adjusted = np.full(p.shape, np.nan)
    defined = np.flatnonzero(~np.isnan(p))
    order = defined[np.argsort(p[defined], kind="stable")]
    remaining = [len(set(labels[order[j:]].tolist())) for j in range(len(order))]
    steps = np.asarray(remaining, dtype=float) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


@dataclass(frozen=True)
class Decision:
    """What one comparison concludes, corrected in its family or exploratory.

    ``p`` and ``equivalence_p`` are corrected in a family (uncorrected when exploratory);
    ``outcome`` is ``"different"`` (``p < α``; ``within_margin`` when equivalence is shown as
    well: a difference smaller than the margin), ``"equivalent"`` (``equivalence_p < α``),
    ``"inconclusive"`` or ``"not testable"`` (fewer than two units). ``low``/``high`` is the
    interval that inverts the verdict's own test at this comparison's step of the correction
    (``confidence``; ``1 − α`` if exploratory): for "equivalent", the two one-sided tests'
    ``1 − 2a`` interval, which lies inside ±margin exactly then; otherwise the difference's
    ``1 − a`` interval, which excludes 0 exactly when the outcome is "different".
    """

    outcome: str
    p: float
    equivalence_p: float
    low: float
    high: float
    confidence: float
    within_margin: bool = False

    @classmethod
    def of(cls, comparison: Compared, p: float, equivalence_p: float) -> Decision:
        """The decision of ``comparison`` given its (corrected or raw) p-values."""
        if math.isnan(p):
            return cls("not testable", p, equivalence_p, math.nan, math.nan, math.nan)
        equivalent = equivalence_p < ALPHA  # NaN compares False: no margin, never equivalent
        outcome = "different" if p < ALPHA else "equivalent" if equivalent else "inconclusive"
        if outcome == "equivalent":
            level = _step(comparison.equivalence_p, equivalence_p)
            confidence = 1 - 2 * level
        else:
            confidence = 1 - _step(comparison.p_value, p)
        low, high = comparison.interval(confidence)
        return cls(outcome, p, equivalence_p, low, high, confidence, p < ALPHA and equivalent)


def _step(raw: float, corrected: float) -> float:
    """The level at which the uncorrected p rejects exactly when the corrected one does."""
    return min(ALPHA, ALPHA * raw / corrected) if corrected > 0 else ALPHA


class Family:
    """The comparisons a notebook's verdicts rest on, corrected together by :func:`holm`.

    Each comparison tests two hypotheses, a difference and (with a margin) equivalence, which
    cannot both be true; :func:`holm` corrects all of them together with Shaffer's count
    (``tests`` hypotheses, at most one true per comparison). ``size`` counts every comparison,
    a not-testable one (fewer than two seeds) included.
    """

    def __init__(self, comparisons: Mapping[str, Compared] | None = None) -> None:
        self.comparisons: dict[str, Compared] = {}
        for name, comparison in (comparisons or {}).items():
            self.add(name, comparison)

    def add(self, name: str, comparison: Compared) -> Compared:
        """Add a named comparison (names are unique) and return it."""
        if name in self.comparisons:
            raise ValueError(f"the family already has a comparison named {name!r}")
        self.comparisons[name] = comparison
        return comparison

    @property
    def size(self) -> int:
        return len(self.comparisons)

    def _p_values(self) -> np.ndarray:
        comparisons = self.comparisons.values()
        return np.array([c.p_value for c in comparisons] + [c.equivalence_p for c in comparisons])

    @property
    def tests(self) -> int:
        """The number of hypotheses Holm corrects (the defined p-values of both kinds)."""
        return int((~np.isnan(self._p_values())).sum())

    def _corrected(self) -> np.ndarray:
        return holm(self._p_values(), np.tile(np.arange(self.size), 2))

    def adjusted(self) -> dict[str, float]:
        """The corrected p-value of each comparison's difference test, by name."""
        adjusted = self._corrected()[: self.size]
        return {name: float(p) for name, p in zip(self.comparisons, adjusted, strict=True)}

    def decisions(self) -> dict[str, Decision]:
        """Each comparison's :class:`Decision` after the correction, by name."""
        adjusted = self._corrected()
        return {
            name: Decision.of(c, float(adjusted[i]), float(adjusted[self.size + i]))
            for i, (name, c) in enumerate(self.comparisons.items())
        }


def exploratory_decision(comparison: Compared) -> Decision:
    """The uncorrected :class:`Decision` of a comparison reported as exploratory."""
    return Decision.of(comparison, comparison.p_value, comparison.equivalence_p)
