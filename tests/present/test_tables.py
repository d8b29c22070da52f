"""Numbers as text: ``mean ± SE``, verdicts, summary tables and paired comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from helpers.analysis.family import Decision, exploratory_decision
from helpers.analysis.results import Results
from helpers.analysis.stats import Comparison, paired_comparison, ratio_comparison
from helpers.present.tables import (
    describe_comparison,
    describe_results,
    format_p,
    format_value,
    rows_frame,
)


@pytest.mark.parametrize(
    ("mean", "error", "text"),
    [
        (0.12345, 0.01234, "0.123 ± 0.012"),
        (12.3456, 0.5, "12.346 ± 0.500"),
        (0.0, 0.01, "0.000 ± 0.010"),
        (-0.5, 0.25, "-0.500 ± 0.250"),
    ],
)
def test_format_value_uses_three_decimals(mean, error, text):
    assert format_value(mean, error) == text


@pytest.mark.parametrize(
    ("mean", "error", "text"),
    [
        (0.001234, 0.0005, "0.00123 ± 0.0005"),  # small mean
        (-0.005, 0.001, "-0.005 ± 0.001"),
        (12.3456, 0.0001234, "12.3 ± 0.00012"),  # small error
    ],
)
def test_format_value_uses_significant_digits_for_small_values(mean, error, text):
    assert format_value(mean, error) == text


def test_summary_frame_merges_values_and_errors_into_one_column():
    rows = [
        {
            "method": "gradient",
            "model": "classical",
            "deletion_auc": 0.12345,
            "deletion_auc_se": 0.01234,
            "rank_corr_images": 12,
            "ratio": 0.123456,
            "orphan_se": 0.5,
        },
        {
            "method": "gradient",
            "model": "hybrid",
            "deletion_auc": 0.001234,
            "deletion_auc_se": 0.0005,
            "rank_corr_images": 11,
            "ratio": 2.0,
            "orphan_se": 0.25,
        },
    ]
    frame = rows_frame(rows, ["method", "model"])
    assert list(frame.index.names) == ["method", "model"]
    assert list(frame.columns) == ["deletion auc", "rank corr images", "ratio", "orphan se"]
    assert frame.loc[("gradient", "classical"), "deletion auc"] == "0.123 ± 0.012"
    assert frame.loc[("gradient", "hybrid"), "deletion auc"] == "0.00123 ± 0.0005"
    assert frame.loc[("gradient", "classical"), "ratio"] == 0.123
    assert frame.loc[("gradient", "hybrid"), "rank corr images"] == 11
    assert frame.loc[("gradient", "hybrid"), "orphan se"] == 0.25


def test_summary_frame_keeps_index_names_as_given():
    frame = rows_frame(
        [{"noise_model": "none", "mean_value": 0.5, "mean_value_se": 0.1}], ["noise_model"]
    )
    assert frame.index.name == "noise_model"
    assert frame.loc["none", "mean value"] == "0.500 ± 0.100"


def _comparison(difference: float, p: float, n: int = 5, dropped: int = 0, margin=math.nan):
    """A comparison over ``n`` seeds whose difference has two-sided p-value ``p``."""
    se = difference / scipy.stats.t.isf(p / 2, n - 1) if n > 1 else math.nan
    return Comparison(
        names=("classical", "hybrid"), unit="seeds", n=n, n_dropped=dropped, mean_a=0.8,
        se_a=0.05, mean_b=0.8 + difference, se_b=0.05, difference=difference,
        difference_se=abs(se), df=n - 1.0, margin=margin,
    )  # fmt: skip


def _decision(comparison: Comparison, p: float, equivalence_p: float = math.nan) -> Decision:
    return Decision.of(comparison, p, equivalence_p)


def test_a_detected_difference_states_its_interval_at_the_verdicts_level():
    c = _comparison(0.031, 0.01)
    text = describe_comparison("test accuracy", c, _decision(c, 0.04), "higher", (7, 7))
    low, high = c.interval(1 - 0.05 * 0.01 / 0.04)  # Holm's step for this comparison
    assert low > 0
    assert text == (
        f"test accuracy: hybrid − classical = 0.031 ± {c.difference_se:.3f} [98.8% CI "
        f"{low:#.3g}, {high:#.3g}] (paired t over 5 seeds; Holm-adjusted p = 0.04 over 7 tests "
        "of 7 comparisons): hybrid higher."
    )
    c = _comparison(-0.031, 0.0001)
    text = describe_comparison("sharpness", c, _decision(c, 0.0004), "sharper", (3, 3))
    assert text.endswith(
        "Holm-adjusted p < 0.001 over 3 tests of 3 comparisons): classical sharper."
    )


def test_an_undetected_difference_is_equivalent_or_inconclusive_never_a_bare_null():
    # the uncorrected p (0.01) would pass; the adjusted one (0.06) decides
    c = _comparison(0.031, 0.01)
    text = describe_comparison("test accuracy", c, _decision(c, 0.06), "higher", (7, 7))
    assert text.endswith(
        "(paired t over 5 seeds; Holm-adjusted p = 0.06 over 7 tests of 7 comparisons): "
        "inconclusive at this sample size (no difference detected; no equivalence margin)."
    )
    low, high = _decision(c, 0.06).low, _decision(c, 0.06).high
    assert low < 0 < high  # the interval agrees: it holds 0
    c = _comparison(0.001, 0.8, margin=0.02)
    text = describe_comparison("x", c, _decision(c, 1.0, 0.01), "higher", (2, 4))
    assert text.endswith("Holm-adjusted p = 1, equivalence p = 0.01 over 4 tests of 2 "
                         "comparisons): equivalent within ±0.02.")  # fmt: skip
    text = describe_comparison("x", c, _decision(c, 1.0, 0.3), "higher", (2, 4))
    assert text.endswith("inconclusive at this sample size (neither a difference nor "
                         "equivalence within ±0.02 detected).")  # fmt: skip


def test_the_exploratory_form_uses_the_uncorrected_p():
    c = _comparison(0.031, 0.03)
    text = describe_comparison("loss", c, exploratory_decision(c))
    assert "(paired t over 5 seeds; exploratory, uncorrected p = 0.03): hybrid higher." in text
    assert "[95% CI" in text


def test_dropped_pairs_crossed_designs_and_one_seed():
    c = _comparison(0.031, 0.01, n=4, dropped=1)
    text = describe_comparison("x", c, _decision(c, 0.02), "higher", (2, 2))
    assert "(paired t over 4 seeds, 1 incomplete pair dropped; Holm-adjusted p = 0.02" in text
    crossed = paired_comparison(
        np.zeros((3, 4)), np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 0]]),
        unit="seeds × images",
    )  # fmt: skip
    text = describe_comparison("x", crossed, exploratory_decision(crossed))
    assert "(crossed t over 3 seeds × 4 images;" in text
    one = _comparison(0.031, math.nan, n=1)
    assert describe_comparison("x", one, _decision(one, math.nan), "higher", (2, 2)).endswith(
        "(paired over 1 seed): not testable, a paired test needs two or more seeds."
    )


def test_describe_results_takes_every_number_from_the_comparisons():
    results = Results("demo")
    results.compare(
        "test accuracy",
        paired_comparison([1, 2, 3, 4], [1.5, 2.1, 3.9, 4.2], unit="seeds", names=("c", "h")),
    )
    results.compare(
        "top eigenvalue",
        ratio_comparison([1, 2, 4], [2, 2, 8], unit="seeds", names=("c", "h"), margin=4.0),
        "sharper",
    )
    text = describe_results(results)
    # p = 0.0989 and 0.1835, equivalence p of the ratio within ×/÷ 4 about 0.07: Holm over 3
    lines = text.splitlines()
    assert lines[0].startswith("- test accuracy: h − c = 0.425 ± 0.180 [")
    assert "over 3 tests of 2 comparisons): inconclusive at this sample size" in lines[0]
    assert lines[1].startswith("- top eigenvalue: h / c = 1.59 [")
    assert "(geometric-mean ratio, paired t over 3 seeds;" in lines[1]
    assert "equivalence within ×/÷ 4 detected" in lines[1]


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.04, "0.04"),
        (0.0123, "0.012"),
        (1.0, "1"),
        (0.001, "0.001"),
        (0.0009, "< 0.001"),
        (0.0, "< 0.001"),
        (math.nan, "n/a"),
    ],
)
def test_format_p(p, text):
    assert format_p(p) == text


def test_one_seed_is_not_testable_and_says_so_without_nan():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning either
        one = paired_comparison([0.5], [0.6], unit="seeds", names=("classical", "hybrid"))
        decision = exploratory_decision(one)
        sentence = describe_comparison("test accuracy", one, decision, "more accurate", (1, 0))
    assert sentence == (
        "test accuracy: hybrid − classical = 0.100 (paired over 1 seed): not testable, a paired "
        "test needs two or more seeds."
    )
    assert "nan" not in sentence and format_value(0.039, float("nan")) == "0.039"


def test_degenerate_differences_read_from_the_exact_test():
    """Every seed the same number of test images apart: no variance for a t-test."""
    eight = paired_comparison([0.9] * 8, [0.9015] * 8, unit="seeds", names=("product", "hybrid"))
    text = describe_comparison("test accuracy", eight, exploratory_decision(eight), "more accurate")
    assert text == (
        "test accuracy: hybrid − product = 0.0015 ± 0 [95% CI 0.00150, 0.00150] (exact sign-flip "
        "over 8 seeds; exploratory, uncorrected p = 0.0078): hybrid more accurate."
    )
    five = paired_comparison([0.9] * 5, [0.9015] * 5, unit="seeds", names=("product", "hybrid"))
    text = describe_comparison("test accuracy", five, exploratory_decision(five))
    assert (
        "[95% CI −∞, ∞] (exact sign-flip over 5 seeds; exploratory, uncorrected p = 0.062)" in text
    )
    assert text.endswith(
        "inconclusive at this sample size: every seed differs by the same +0.0015, and the exact "
        "sign-flip test over 5 seeds (smallest p 2/2^5 for a difference) does not pass the "
        "threshold."
    )
    # hybrid and its control identical on every image of every seed (the depth-4 coincidence)
    same = np.ones((5, 500))
    identical = paired_comparison(same, same, unit="seeds × images", names=("product", "hybrid"))
    text = describe_comparison("correct", identical, exploratory_decision(identical))
    assert text.endswith(
        "inconclusive: the two agree exactly on every image of every seed, but without an "
        "equivalence margin no test can conclude."
    )
