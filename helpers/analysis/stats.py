"""Small statistics shared by the analyses: activations as matrices, mean ± standard error,
bootstrap errors, paired model comparisons and their Holm correction as one family."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.stats
import torch
from numpy.typing import ArrayLike

from helpers.estimates import mean_and_error  # re-exported: helpers.analysis.stats.mean_and_error

ALPHA = 0.05  # the one significance level of every verdict, corrected or exploratory


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
        """The inverse of :meth:`to_dict`."""
        fields = {key: value for key, value in data.items() if key not in ("name_a", "name_b")}
        return cls(names=(str(data["name_a"]), str(data["name_b"])), **fields)


@dataclass(frozen=True)
class Comparison(_Record):
    """Two models measured on the same units (seeds, images), compared pair by pair.

    ``difference`` is ``mean(b − a)`` over the complete pairs; its error is the standard error
    of the differences (their sample standard deviation / √n), so variation shared by both
    models within a pair cancels: a seed's validation split and batch order, an image's
    difficulty (the two heads' initial weights are not shared: they have different shapes).
    ``p_value`` is the two-sided paired t-test of ``difference = 0`` (n − 1 degrees of freedom).
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
    p_value: float


def _pairs(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """The complete pairs of two equally long 1-D arrays and the number of dropped pairs."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    complete = ~(np.isnan(a) | np.isnan(b))
    return a[complete], b[complete], int((~complete).sum())


def _paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p; NaN (undefined) for n < 2. Differences without variance
    (all equal, up to rounding: e.g. each seed one test image apart) allow no test: p = 1, so
    they never read as an effect and still count in their family; scipy's t would be x/0."""
    differences = b - a
    if len(differences) < 2:
        return float("nan")
    rounding = 16 * np.finfo(float).eps * max(np.abs(a).max(), np.abs(b).max())
    if np.ptp(differences) <= rounding:
        return 1.0
    return float(scipy.stats.ttest_rel(b, a).pvalue)


def paired_comparison(
    a: ArrayLike, b: ArrayLike, *, unit: str, names: tuple[str, str] = ("a", "b")
) -> Comparison:
    """Compare ``b`` with ``a`` measured on the same units (``a[i]`` and ``b[i]`` share unit i).

    Pairs with a NaN on either side are dropped (and counted); both means are over the kept
    pairs, so ``difference`` is ``mean_b − mean_a`` (up to rounding).
    """
    a, b, dropped = _pairs(a, b)
    (mean_a, se_a), (mean_b, se_b) = mean_and_error(a), mean_and_error(b)
    difference, difference_se = mean_and_error(b - a)
    return Comparison(
        names=(str(names[0]), str(names[1])),
        unit=unit,
        n=len(a),
        n_dropped=dropped,
        mean_a=mean_a,
        se_a=se_a,
        mean_b=mean_b,
        se_b=se_b,
        difference=difference,
        difference_se=difference_se,
        p_value=_paired_p(a, b),
    )


@dataclass(frozen=True)
class RatioComparison(_Record):
    """Positive paired quantities compared as a ratio ``b / a`` (e.g. a Hessian eigenvalue of
    the hybrid over the classical twin, per seed).

    Computed on the log scale, where a ratio is a difference: ``log_ratio`` is the mean of
    ``log(b_i / a_i)`` with its paired standard error. Reported as the geometric-mean ratio
    ``exp(log_ratio)`` with a ``confidence`` t-interval ``exp(log_ratio ± t · SE)`` (n − 1
    degrees of freedom), asymmetric around the ratio as a ratio's should be; ``p_value`` is the
    paired t-test of the logs (ratio = 1). ``geometric_mean_a``/``_b`` are the per-model
    geometric means over the kept pairs (their ratio is ``ratio``).
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
    p_value: float


def ratio_comparison(
    a: ArrayLike,
    b: ArrayLike,
    *,
    unit: str,
    names: tuple[str, str] = ("a", "b"),
    confidence: float = 0.95,
) -> RatioComparison:
    """Compare positive ``b`` with positive ``a`` as a geometric-mean ratio ``b / a`` with a
    ``confidence`` interval; NaN pairs are dropped, non-positive values are an error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if (a <= 0).any() or (b <= 0).any():  # NaN compares False: missing values are dropped below
        raise ValueError("a ratio comparison needs positive values")
    logs = paired_comparison(np.log(a), np.log(b), unit=unit, names=names)
    half_width = scipy.stats.t.ppf((1 + confidence) / 2, logs.n - 1) * logs.difference_se
    return RatioComparison(
        names=logs.names,
        unit=unit,
        n=logs.n,
        n_dropped=logs.n_dropped,
        geometric_mean_a=float(np.exp(logs.mean_a)),
        geometric_mean_b=float(np.exp(logs.mean_b)),
        ratio=float(np.exp(logs.difference)),
        low=float(np.exp(logs.difference - half_width)),
        high=float(np.exp(logs.difference + half_width)),
        confidence=confidence,
        log_ratio=logs.difference,
        log_ratio_se=logs.difference_se,
        p_value=logs.p_value,
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


class Family:
    """The comparisons a notebook's verdicts rest on, corrected together by :func:`holm`.

    ``size`` is the number of comparisons with a defined p-value (the m of the correction);
    comparisons with an undefined p (n < 2) stay in the family with an undefined adjusted p.
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
        return int(sum(not np.isnan(c.p_value) for c in self.comparisons.values()))

    def adjusted(self) -> dict[str, float]:
        """The Holm-adjusted p-value of each comparison, by name."""
        p = holm([c.p_value for c in self.comparisons.values()])
        return {name: float(value) for name, value in zip(self.comparisons, p, strict=True)}
