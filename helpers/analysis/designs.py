"""How a paired sample is tested: a mean difference with its error and test
(:class:`Estimate`), the crossed seeds × images design's standard error
(:func:`crossed_error`), and jackknife pseudo-values that turn a statistic of a whole image set
into per-group values (:func:`jackknife_values`). Used by :mod:`helpers.analysis.stats`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.stats

IMAGE_GROUPS = 20  # groups of images the jackknife forms: the second unit of a comparison


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
        """Two or more units and, for a t, a defined standard error and degrees of freedom."""
        if self.n < 2 or math.isnan(self.value):
            return False
        return self.method == "exact" or not (math.isnan(self.se) or math.isnan(self.df))

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


def _mean_squares(values: np.ndarray) -> tuple[float, float]:
    """The seeds' and the images' mean squares of a complete ``(S, I)`` matrix."""
    seeds, images = values.shape
    grand = values.mean()
    seed_ms = images * ((values.mean(axis=1) - grand) ** 2).sum() / (seeds - 1)
    image_ms = seeds * ((values.mean(axis=0) - grand) ** 2).sum() / (images - 1)
    return float(seed_ms), float(image_ms)


def crossed_error(values: np.ndarray) -> tuple[float, float]:
    """The standard error and degrees of freedom of the grand mean of a complete seeds × images
    matrix, with seeds and images both random (a crossed design).

    With ``x_si = μ + a_s + b_i + e_si``, ``Var(mean) = σ²_a/S + σ²_b/I + σ²_e/(SI)``; the
    seeds' and images' mean squares have expectations ``Iσ²_a + σ²_e`` and ``Sσ²_b + σ²_e``, so
    ``(MS_seeds + MS_images) / (SI)`` estimates it, conservatively in expectation (by
    ``σ²_e/(SI)``) and never negatively (the quasi-F logic of Clark 1973, "The
    language-as-fixed-effect fallacy"); its degrees of freedom are a quarter of the way from
    the conservative lower bound ``min(S, I) − 1`` to Satterthwaite's (1946) plug-in
    ``(MS_s + MS_i)² / (MS_s²/(S−1) + MS_i²/(I−1))``: an empirical compromise, chosen by
    simulation (see the comment below). When
    the interaction's mean square is the larger (seeds and images agree on average while the
    cells swing), ``MS_interaction / (SI)`` is used with its ``(S−1)(I−1)`` degrees of
    freedom, so a sample that varies is never given no error.
    NaN with fewer than two seeds or images.
    """
    seeds, images = values.shape
    if seeds < 2 or images < 2:
        return math.nan, math.nan
    seed_ms, image_ms = _mean_squares(values)
    total = seed_ms + image_ms
    residuals = values - values.mean(1, keepdims=True) - values.mean(0) + values.mean()
    interaction_ms = float((residuals**2).sum() / ((seeds - 1) * (images - 1)))
    if interaction_ms > total:
        return math.sqrt(interaction_ms / (seeds * images)), float((seeds - 1) * (images - 1))
    if total == 0:
        return 0.0, math.inf
    satterthwaite = total**2 / (seed_ms**2 / (seeds - 1) + image_ms**2 / (images - 1))
    # a quarter of the way from the lower bound to Satterthwaite's: Satterthwaite's own df,
    # estimated from the same mean squares, was liberal in the tails (2.3 % at a 1.67 % level,
    # 5 seeds × 200 images); halfway gave a family-wise rate of 6.7 % and 6.3 % in 02's
    # seed-dominated design (600 and 1,000 simulated families). A quarter, chosen from {1/2,
    # 1/4} on that design, gave 4.2 % there (5,000 families) and 1.6-5.6 % for one comparison
    # over 30 held-out designs (3-10 seeds, seed SD 0-0.1, 20 or 200 images; benchmarks/
    # calibration.py --grid); min(S, I) - 1 itself is the conservative choice
    smallest = min(seeds, images) - 1
    df = smallest + (satterthwaite - smallest) / 4
    return math.sqrt(total / (seeds * images)), float(df)
