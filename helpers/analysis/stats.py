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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
from numpy.typing import ArrayLike

from helpers.analysis.designs import Estimate, crossed_error
from helpers.estimates import mean_and_error  # re-exported: helpers.analysis.stats.mean_and_error

ALPHA = 0.05  # the one significance level of every verdict, corrected or exploratory
NO_MARGIN = math.nan  # a comparison without an equivalence margin: never "equivalent"


def as_matrix(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Activations of any shape ``(N, ...)`` as a float64 ``(N, D)`` array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().double().numpy()
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(len(array), -1)


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


Compared = Comparison | RatioComparison
