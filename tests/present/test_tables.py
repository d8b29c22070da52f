"""Numbers as text: ``mean ± SE``, verdicts, summary tables and paired comparisons."""

from __future__ import annotations

import math

import pytest

from helpers.analysis.stats import Comparison, Family, paired_comparison, ratio_comparison
from helpers.present.tables import (
    describe_comparison,
    describe_family,
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


def _comparison(difference: float, p: float, n: int = 5, dropped: int = 0) -> Comparison:
    return Comparison(
        names=("classical", "hybrid"),
        unit="seeds",
        n=n,
        n_dropped=dropped,
        mean_a=0.8,
        se_a=0.05,
        mean_b=0.8 + difference,
        se_b=0.05,
        difference=difference,
        difference_se=0.012,
        p_value=p,
    )


def test_describe_comparison_of_a_detected_difference():
    text = describe_comparison("test accuracy", _comparison(0.031, 0.01), 0.04, 7)
    assert text == (
        "test accuracy: hybrid − classical = 0.031 ± 0.012 (paired over 5 seeds; "
        "Holm-adjusted p = 0.04 in a family of 7): hybrid higher."
    )
    text = describe_comparison("sharpness", _comparison(-0.031, 0.0001), 0.0004, 3, "sharper")
    assert text == (
        "sharpness: hybrid − classical = -0.031 ± 0.012 (paired over 5 seeds; "
        "Holm-adjusted p < 0.001 in a family of 3): classical sharper."
    )


def test_describe_comparison_of_an_undetected_difference():
    # the uncorrected p (0.01) would pass; the adjusted one (0.06) decides
    text = describe_comparison("test accuracy", _comparison(0.031, 0.01), 0.06, 7)
    assert text == (
        "test accuracy: hybrid − classical = 0.031 ± 0.012 (paired over 5 seeds; "
        "Holm-adjusted p = 0.06 in a family of 7): no difference detectable at this sample size."
    )
    assert describe_comparison("x", _comparison(0.031, 0.01), 0.05, 7).endswith(
        ": no difference detectable at this sample size."
    )


def test_describe_comparison_exploratory_form_uses_the_uncorrected_p():
    assert describe_comparison("loss", _comparison(0.031, 0.03)) == (
        "loss: hybrid − classical = 0.031 ± 0.012 (paired over 5 seeds; "
        "exploratory, uncorrected p = 0.03): hybrid higher."
    )
    assert describe_comparison("loss", _comparison(0.031, 0.2)) == (
        "loss: hybrid − classical = 0.031 ± 0.012 (paired over 5 seeds; "
        "exploratory, uncorrected p = 0.2): no difference detectable at this sample size."
    )
    with pytest.raises(ValueError, match="both"):
        describe_comparison("loss", _comparison(0.031, 0.03), adjusted_p=0.03)


def test_describe_comparison_with_dropped_pairs_or_an_undefined_p():
    text = describe_comparison("x", _comparison(0.031, 0.01, n=4, dropped=1), 0.02, 2)
    assert "(paired over 4 seeds, 1 incomplete pair dropped; Holm-adjusted p = 0.02" in text
    text = describe_comparison("x", _comparison(0.031, math.nan, n=1), math.nan, 2)
    assert text.endswith(
        "(paired over 1 seed): not testable, a paired test needs two or more seeds."
    )


def test_describe_family_takes_every_number_from_the_comparisons():
    family = Family()
    family.add(
        "test accuracy",
        paired_comparison([1, 2, 3, 4], [1.5, 2.1, 3.9, 4.2], unit="seeds", names=("c", "h")),
    )
    family.add(
        "top eigenvalue",
        ratio_comparison([1, 2, 4], [2, 2, 8], unit="seeds", names=("c", "h")),
    )
    # p = 0.0989 and 0.1835; Holm: 2 · 0.0989 = 0.198 for both (running maximum)
    assert describe_family(family, {"top eigenvalue": "sharper"}) == [
        "test accuracy: h − c = 0.425 ± 0.180 (paired over 4 seeds; "
        "Holm-adjusted p = 0.2 in a family of 2): no difference detectable at this sample size.",
        "top eigenvalue: h / c = 1.59 [unadjusted 95% CI 0.587, 4.29] (geometric-mean ratio, "
        "paired over 3 seeds; Holm-adjusted p = 0.2 in a family of 2): no difference detectable "
        "at this sample size.",
    ]
    exploratory = describe_comparison("x", family.comparisons["top eigenvalue"], alpha=0.2)
    assert exploratory.endswith("3 seeds; exploratory, uncorrected p = 0.18): h higher.")


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
        sentence = describe_comparison("test accuracy", one, 1.0, 1, "more accurate")
    assert sentence == (
        "test accuracy: hybrid − classical = 0.100 (paired over 1 seed): not testable, a paired "
        "test needs two or more seeds."
    )
    assert "nan" not in sentence and format_value(0.039, float("nan")) == "0.039"
