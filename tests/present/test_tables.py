"""Numbers as text: ``mean ± SE``, verdicts and summary tables."""

from __future__ import annotations

import pytest

from helpers.present.tables import format_value, summary_frame, verdict


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


def test_verdict_at_exactly_two_standard_errors_is_no_clear_difference():
    # hypot(3, 4) = 5: a gap of exactly 10 is two standard errors, not more
    assert verdict((0.0, 3.0), (10.0, 4.0)) == "no clear difference"
    assert verdict((10.0, 3.0), (0.0, 4.0)) == "no clear difference"
    assert verdict((1.0, 0.1), (1.05, 0.1)) == "no clear difference"


def test_verdict_names_the_higher_model_beyond_two_standard_errors():
    assert verdict((0.0, 3.0), (10.5, 4.0)) == "hybrid better by 10.500 (2.1 SE)"
    assert verdict((10.5, 3.0), (0.0, 4.0)) == "classical better by 10.500 (2.1 SE)"
    assert (
        verdict((0.2, 0.03), (0.5, 0.04), comparative="sharper")
        == "hybrid sharper by 0.300 (6.0 SE)"
    )


def test_verdict_with_an_undefined_error_is_no_clear_difference():
    assert verdict((0.1, float("nan")), (0.9, 0.01)) == "no clear difference"


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
    frame = summary_frame(rows, ["method", "model"])
    assert list(frame.index.names) == ["method", "model"]
    assert list(frame.columns) == ["deletion auc", "rank corr images", "ratio", "orphan se"]
    assert frame.loc[("gradient", "classical"), "deletion auc"] == "0.123 ± 0.012"
    assert frame.loc[("gradient", "hybrid"), "deletion auc"] == "0.00123 ± 0.0005"
    assert frame.loc[("gradient", "classical"), "ratio"] == 0.123
    assert frame.loc[("gradient", "hybrid"), "rank corr images"] == 11
    assert frame.loc[("gradient", "hybrid"), "orphan se"] == 0.25


def test_summary_frame_keeps_index_names_as_given():
    frame = summary_frame(
        [{"noise_model": "none", "mean_value": 0.5, "mean_value_se": 0.1}], ["noise_model"]
    )
    assert frame.index.name == "noise_model"
    assert frame.loc["none", "mean value"] == "0.500 ± 0.100"


def test_verdict_with_zero_errors_names_the_higher_model():
    assert verdict((1.0, 0.0), (2.0, 0.0)) == "hybrid better by 1.000 (no sampling error)"
    assert verdict((1.0, 0.0), (1.0, 0.0)) == "no clear difference"
