"""Small statistics shared by the analyses: activations as matrices, mean ± standard error,
paired model comparisons (a difference test and an equivalence test on the right unit of
replication) and their Holm correction as one family.

A comparison's unit is the seed (one value per trained model) or, where a measure is taken on
every test image, seeds × images: a crossed design in which each seed's models see the same
images, so a verdict holds for the population of images, not the images drawn (see
:func:`paired_comparison`). Every comparison carries two tests: of no difference (two-sided) and
of equivalence within a stated margin ±Δ (two one-sided tests, TOST; Schuirmann 1987), and
reads "different", "equivalent within ±Δ", "inconclusive at this sample size" or "not testable".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.stats
import torch
from numpy.typing import ArrayLike

from helpers.estimates import mean_and_error  # re-exported: helpers.analysis.stats.mean_and_error

ALPHA = 0.05  # the one significance level of every verdict, corrected or exploratory
NO_MARGIN = math.nan  # a comparison without an equivalence margin: never "equivalent"
OUTCOMES = ("different", "equivalent", "inconclusive", "not testable")


def as_matrix(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Activations of any shape ``(N, ...)`` as a float64 ``(N, D)`` array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().double().numpy()
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(len(array), -1)


@dataclass(frozen=True)
class Estimate:
    """A mean difference and how it is tested: ``"t"`` (a t distribution with ``df`` degrees of
    freedom around ``value`` with standard error ``se``) or ``"exact"`` (all ``n`` unit
    differences equal ``value``: the exact sign-flip test, whose smallest two-sided p is
    2 / 2ⁿ, so it rejects only from six units on). ``None``-like (NaN) when ``n < 2``."""

    value: float
    se: float
    df: float
    n: int
    method: str

    @property
    def testable(self) -> bool:
        return self.n >= 2 and not math.isnan(self.value)

    def p_above(self, delta: float) -> float:
        """One-sided p of the null ``difference ≤ delta`` (the alternative: above it)."""
        if not self.testable:
            return math.nan
        if self.method == "exact":
            return 0.5**self.n if self.value > delta else 1.0
        return float(scipy.stats.t.sf((self.value - delta) / self.se, self.df))

    def p_below(self, delta: float) -> float:
        """One-sided p of the null ``difference ≥ delta``."""
        if not self.testable:
            return math.nan
        if self.method == "exact":
            return 0.5**self.n if self.value < delta else 1.0
        return float(scipy.stats.t.cdf((self.value - delta) / self.se, self.df))

    def p_difference(self) -> float:
        """Two-sided p of no difference (equal tails): ``2 · min(p_above(0), p_below(0))``."""
        if not self.testable:
            return math.nan
        return min(1.0, 2 * min(self.p_above(0.0), self.p_below(0.0)))

    def p_equivalence(self, margin: float) -> float:
        """TOST p of equivalence within ``±margin``: the larger one-sided p of the nulls
        ``difference ≤ −margin`` and ``difference ≥ margin``; NaN without a margin."""
        if math.isnan(margin):
            return math.nan
        return max(self.p_above(-margin), self.p_below(margin))

    def interval(self, confidence: float) -> tuple[float, float]:
        """The two-sided ``confidence`` interval that inverts the same test: it excludes δ
        exactly where the test rejects ``difference = δ`` at level ``1 − confidence``. An exact
        test with too few units to reject anything gives the whole line."""
        if not self.testable:
            return math.nan, math.nan
        tail = (1 - confidence) / 2
        if self.method == "exact":
            return (self.value, self.value) if 0.5**self.n < tail else (-math.inf, math.inf)
        half = float(scipy.stats.t.isf(tail, self.df)) * self.se
        return self.value - half, self.value + half


def jackknife_values(
    statistic: Callable[[np.ndarray], float], values: np.ndarray, groups: int = 20, seed: int = 0
) -> np.ndarray:
    """Delete-a-group jackknife pseudo-values of ``statistic`` over the rows (images) of
    ``values``: ``G·T(all) − (G−1)·T(all but group g)`` for G seeded random groups of rows
    (Quenouille 1956; Tukey 1958). Their mean is the jackknife's bias-corrected estimate and
    their variance / G its variance, so a statistic of the whole image set (an effective
    dimension, a correlation) enters a seeds × images comparison like a per-image measure, the
    groups standing for the images; the same ``seed`` groups the same rows for every model.
    """
    groups = min(groups, len(values))
    group = np.random.default_rng(seed).permutation(len(values)) % groups
    whole = statistic(values)
    left_out = [statistic(values[group != g]) for g in range(groups)]
    return groups * whole - (groups - 1) * np.asarray(left_out, dtype=float)


class _Record:
    """``to_dict``/``from_dict`` for the comparison records below (``names`` → two fields)."""

    names: tuple[str, str]

    def to_dict(self) -> dict[str, float | int | str]:
        """Plain floats, ints and strings for a ``results.json`` (NaN stays NaN)."""
        fields = {key: value for key, value in vars(self).items() if key != "names"}
        return {"name_a": self.names[0], "name_b": self.names[1], **fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        """The inverse of :meth:`to_dict` (fields a file does not have keep their defaults)."""
        fields = {key: value for key, value in data.items() if key not in ("name_a", "name_b")}
        return cls(names=(str(data["name_a"]), str(data["name_b"])), **fields)

    @property
    def estimate(self) -> Estimate:
        """The tested difference (on the log scale for a ratio)."""
        raise NotImplementedError

    @property
    def p_value(self) -> float:
        """Two-sided p of no difference (uncorrected)."""
        return self.estimate.p_difference()

    @property
    def equivalence_p(self) -> float:
        """TOST p of equivalence within the margin (uncorrected; NaN without one)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Comparison(_Record):
    """Two models measured on the same units, compared pair by pair.

    ``difference`` is ``mean(b − a)`` over the complete pairs, tested as
    :func:`paired_comparison` describes (``method``: ``"paired t"``, ``"crossed t"`` or
    ``"exact sign-flip"``, with ``df`` degrees of freedom for a t); ``n`` counts seeds and
    ``n_images`` the images of a seeds × images design (0 for a per-seed measure). Variation
    shared by both models within a pair cancels: a seed's validation split and batch order, an
    image's difficulty (the two heads' initial weights are not shared: they have different
    shapes). ``margin`` is the equivalence margin Δ in the measure's units (NaN: none).
    """

    names: tuple[str, str]
    unit: str
    n: int
    n_dropped: int
    mean_a: float
    se_a: float
    mean_b: float
    se_b: float
    difference: float
    difference_se: float
    df: float = math.nan
    method: str = "paired t"
    n_images: int = 0
    margin: float = NO_MARGIN

    @property
    def estimate(self) -> Estimate:
        kind = "exact" if self.method == "exact sign-flip" else "t"
        return Estimate(self.difference, self.difference_se, self.df, self.n, kind)

    @property
    def equivalence_p(self) -> float:
        return self.estimate.p_equivalence(self.margin)

    def interval(self, confidence: float) -> tuple[float, float]:
        """The difference's ``confidence`` interval, inverting the comparison's own test."""
        return self.estimate.interval(confidence)


def _pairs(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """The complete pairs of two equally shaped arrays and the number of dropped pairs: for a
    ``(seeds, images)`` matrix, the images (columns) with a NaN in any cell, then seeds."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    if a.ndim > 2:
        raise ValueError(f"paired values are per unit (1-D) or seeds × images (2-D), got {a.shape}")
    missing = np.isnan(a) | np.isnan(b)
    if a.ndim == 1:
        return a[~missing], b[~missing], int(missing.sum())
    seeds = ~missing.all(axis=1)  # a seed with no value at all
    images = ~missing[seeds].any(axis=0)
    kept = np.ix_(seeds, images)
    return a[kept], b[kept], int((~images).sum())


def _rounding(*arrays: np.ndarray) -> float:
    """Differences within this are equal up to floating-point rounding."""
    largest = max((float(np.abs(x).max()) for x in arrays if x.size), default=0.0)
    return 16 * np.finfo(float).eps * largest


def _mean_squares(values: np.ndarray) -> tuple[float, float]:
    """The seeds' and the images' mean squares of a complete ``(S, I)`` matrix."""
    seeds, images = values.shape
    grand = values.mean()
    seed_ms = images * ((values.mean(axis=1) - grand) ** 2).sum() / (seeds - 1)
    image_ms = seeds * ((values.mean(axis=0) - grand) ** 2).sum() / (images - 1)
    return float(seed_ms), float(image_ms)


def crossed_error(values: np.ndarray) -> tuple[float, float]:
    """The standard error and Satterthwaite degrees of freedom of the grand mean of a complete
    seeds × images matrix, with seeds and images both random (a crossed design).

    With ``x_si = μ + a_s + b_i + e_si``, ``Var(mean) = σ²_a/S + σ²_b/I + σ²_e/(SI)``; the
    seeds' and images' mean squares have expectations ``Iσ²_a + σ²_e`` and ``Sσ²_b + σ²_e``, so
    ``(MS_seeds + MS_images) / (SI)`` estimates it, conservatively (by ``σ²_e/(SI)``) and never
    negatively, with ``(MS_s + MS_i)² / (MS_s²/(S−1) + MS_i²/(I−1))`` degrees of freedom
    (Satterthwaite 1946; the quasi-F logic of Clark 1973, "The language-as-fixed-effect
    fallacy"). NaN with fewer than two seeds or images.
    """
    seeds, images = values.shape
    if seeds < 2 or images < 2:
        return math.nan, math.nan
    seed_ms, image_ms = _mean_squares(values)
    total = seed_ms + image_ms
    if total == 0:
        return 0.0, math.inf
    df = total**2 / (seed_ms**2 / (seeds - 1) + image_ms**2 / (images - 1))
    return math.sqrt(total / (seeds * images)), float(df)


def _mean_and_error(values: np.ndarray) -> tuple[float, float]:
    if values.ndim == 1:
        return mean_and_error(values)
    if values.size == 0:
        return math.nan, math.nan
    return float(values.mean()), crossed_error(values)[0]


def _estimate(differences: np.ndarray, rounding: float) -> tuple[Estimate, str]:
    """How a paired sample of differences (per seed, or seeds × images) is tested."""
    seeds = len(differences)
    if seeds < 2 or differences.size == 0:
        value = float(differences.mean()) if differences.size else math.nan
        return Estimate(value, math.nan, math.nan, seeds, "t"), "paired t"
    value = float(differences.mean())
    if np.ptp(differences) <= rounding:  # no variance: a t would divide by zero
        return Estimate(value, 0.0, math.nan, seeds, "exact"), "exact sign-flip"
    if differences.ndim == 1:
        se = float(differences.std(ddof=1) / math.sqrt(seeds))
        return Estimate(value, se, seeds - 1.0, seeds, "t"), "paired t"
    se, df = crossed_error(differences)
    if se <= rounding:  # every seed's mean equal and every image's mean equal
        return Estimate(value, 0.0, math.nan, seeds, "exact"), "exact sign-flip"
    return Estimate(value, se, df, seeds, "t"), "crossed t"


def paired_comparison(
    a: ArrayLike,
    b: ArrayLike,
    *,
    unit: str,
    names: tuple[str, str] = ("a", "b"),
    margin: float = NO_MARGIN,
) -> Comparison:
    """Compare ``b`` with ``a`` measured on the same units, with an equivalence margin.

    ``a`` and ``b`` are one value per seed (1-D), tested with the paired t-test (n − 1 degrees
    of freedom), or a ``(seeds, images)`` matrix of a measure taken on each test image (every
    seed's models see the same images), tested over both units with :func:`crossed_error`:
    the SE counts the seeds' and the images' sampling, so a verdict generalises to new images
    as well as new seeds. Differences without variance (all equal up to rounding, e.g. each
    seed one test image apart) are tested exactly by sign flips over the seeds, whose p is
    2 / 2ⁿ when they differ from 0: six or more seeds then detect a constant difference, fewer
    cannot. Pairs (images, for a matrix) with a NaN on either side are dropped and counted;
    both means are over the kept pairs. ``margin`` (Δ, in the measure's units) enables the
    equivalence test (:attr:`Comparison.equivalence_p`).
    """
    a, b, dropped = _pairs(a, b)
    differences = b - a
    estimate, method = _estimate(differences, _rounding(a, b))
    (mean_a, se_a), (mean_b, se_b) = _mean_and_error(a), _mean_and_error(b)
    return Comparison(
        names=(str(names[0]), str(names[1])),
        unit=unit,
        n=len(a),
        n_dropped=dropped,
        mean_a=mean_a,
        se_a=se_a,
        mean_b=mean_b,
        se_b=se_b,
        difference=estimate.value,
        difference_se=estimate.se,
        df=estimate.df,
        method=method,
        n_images=a.shape[1] if a.ndim == 2 else 0,
        margin=float(margin),
    )


@dataclass(frozen=True)
class RatioComparison(_Record):
    """Positive paired quantities compared as a ratio ``b / a`` (e.g. a sharpness of the hybrid
    over the classical twin, per seed).

    Computed on the log scale, where a ratio is a difference: ``log_ratio`` is the mean of
    ``log(b_i / a_i)`` with its paired standard error, tested like :class:`Comparison`. Reported
    as the geometric-mean ratio ``exp(log_ratio)`` with the ``confidence`` interval
    ``[low, high]`` of the same test, asymmetric around the ratio as a ratio's should be.
    ``margin`` is the equivalence margin as a ratio (> 1: equivalent within ``[1/margin,
    margin]``). ``geometric_mean_a``/``_b`` are the per-model geometric means over the kept pairs.
    """

    names: tuple[str, str]
    unit: str
    n: int
    n_dropped: int
    geometric_mean_a: float
    geometric_mean_b: float
    ratio: float
    low: float
    high: float
    confidence: float
    log_ratio: float
    log_ratio_se: float
    df: float = math.nan
    method: str = "paired t"
    margin: float = NO_MARGIN

    @property
    def estimate(self) -> Estimate:
        kind = "exact" if self.method == "exact sign-flip" else "t"
        return Estimate(self.log_ratio, self.log_ratio_se, self.df, self.n, kind)

    @property
    def equivalence_p(self) -> float:
        return self.estimate.p_equivalence(math.log(self.margin))

    def interval(self, confidence: float) -> tuple[float, float]:
        """The ratio's ``confidence`` interval, inverting the comparison's own test."""
        low, high = self.estimate.interval(confidence)
        return math.exp(low), math.exp(high)


def ratio_comparison(
    a: ArrayLike,
    b: ArrayLike,
    *,
    unit: str,
    names: tuple[str, str] = ("a", "b"),
    confidence: float = 0.95,
    margin: float = NO_MARGIN,
) -> RatioComparison:
    """Compare positive ``b`` with positive ``a`` as a geometric-mean ratio ``b / a`` with a
    ``confidence`` interval and an equivalence ``margin`` (a ratio > 1); NaN pairs are dropped,
    non-positive values are an error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if (a <= 0).any() or (b <= 0).any():  # NaN compares False: missing values are dropped below
        raise ValueError("a ratio comparison needs positive values")
    if not math.isnan(margin) and margin <= 1:
        raise ValueError(f"a ratio's equivalence margin is a ratio above 1, got {margin}")
    logs = paired_comparison(np.log(a), np.log(b), unit=unit, names=names)
    low, high = logs.interval(confidence)
    return RatioComparison(
        names=logs.names,
        unit=unit,
        n=logs.n,
        n_dropped=logs.n_dropped,
        geometric_mean_a=float(np.exp(logs.mean_a)),
        geometric_mean_b=float(np.exp(logs.mean_b)),
        ratio=float(np.exp(logs.difference)),
        low=float(np.exp(low)),
        high=float(np.exp(high)),
        confidence=confidence,
        log_ratio=logs.difference,
        log_ratio_se=logs.difference_se,
        df=logs.df,
        method=logs.method,
        margin=float(margin),
    )


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6:65–70).

    With the m defined p-values sorted, ``p_(1) ≤ … ≤ p_(m)``, the adjusted value of ``p_(i)``
    is ``max_{j ≤ i} min(1, (m − j + 1) · p_(j))``; rejecting where it is below alpha controls
    the family-wise error rate at alpha under any dependence. NaN entries (undefined tests)
    take no part (they do not count in m) and stay NaN; the input order is kept.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    defined = np.flatnonzero(~np.isnan(p))
    order = defined[np.argsort(p[defined], kind="stable")]
    m = len(order)
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


Compared = Comparison | RatioComparison


@dataclass(frozen=True)
class Decision:
    """What one comparison concludes, corrected in its family or exploratory.

    ``p`` and ``equivalence_p`` are Holm-adjusted in a family (uncorrected when
    ``exploratory``); ``outcome`` is ``"different"`` (``p < α``), ``"equivalent"``
    (``equivalence_p < α``), ``"inconclusive"`` or ``"not testable"`` (fewer than two seeds).
    ``low``/``high`` bound the difference (a ratio's ratio) at ``confidence``, the level at
    which the uncorrected test rejects exactly when the corrected one does, so the interval
    excludes no difference exactly when the outcome is "different" (``1 − α`` if exploratory).
    """

    outcome: str
    p: float
    equivalence_p: float
    low: float
    high: float
    confidence: float

    @classmethod
    def of(cls, comparison: Compared, p: float, equivalence_p: float) -> Decision:
        """The decision of ``comparison`` given its (corrected or raw) p-values."""
        if math.isnan(p):
            return cls("not testable", p, equivalence_p, math.nan, math.nan, math.nan)
        if p < ALPHA:
            outcome = "different"
        elif equivalence_p < ALPHA:  # NaN compares False: no margin, never equivalent
            outcome = "equivalent"
        else:
            outcome = "inconclusive"
        raw = comparison.p_value
        level = ALPHA * raw / p if p > 0 else ALPHA  # Holm's step for this comparison
        confidence = 1 - min(ALPHA, level)
        low, high = comparison.interval(confidence)
        return cls(outcome, p, equivalence_p, low, high, confidence)


class Family:
    """The comparisons a notebook's verdicts rest on, corrected together by :func:`holm`.

    Each comparison tests two hypotheses, a difference and (with a margin) equivalence; Holm
    corrects all of them together (``tests``, the m of the correction). ``size`` counts every
    comparison, a not-testable one (fewer than two seeds) included.
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

    def adjusted(self) -> dict[str, float]:
        """The Holm-adjusted p-value of each comparison's difference test, by name."""
        adjusted = holm(self._p_values())[: self.size]
        return {name: float(p) for name, p in zip(self.comparisons, adjusted, strict=True)}

    def decisions(self) -> dict[str, Decision]:
        """Each comparison's :class:`Decision` after the correction, by name."""
        adjusted = holm(self._p_values())
        return {
            name: Decision.of(c, float(adjusted[i]), float(adjusted[self.size + i]))
            for i, (name, c) in enumerate(self.comparisons.items())
        }


def exploratory_decision(comparison: Compared) -> Decision:
    """The uncorrected :class:`Decision` of a comparison reported as exploratory."""
    return Decision.of(comparison, comparison.p_value, comparison.equivalence_p)
