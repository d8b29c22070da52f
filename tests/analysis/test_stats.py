"""Paired comparisons, their Holm correction as a family, and the mean ± SE they build on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats

from helpers.analysis.stats import (
    Comparison,
    Family,
    RatioComparison,
    holm,
    mean_and_error,
    paired_comparison,
    ratio_comparison,
)

NAN = float("nan")
A = [1.0, 2.0, 3.0, 4.0]
B = [1.5, 2.1, 3.9, 4.2]  # differences 0.5, 0.1, 0.9, 0.2


def test_mean_and_error_matches_scipy_sem_and_ignores_nan():
    values = np.array([0.3, 1.7, NAN, 2.2, 0.9, 1.1])
    mean, error = mean_and_error(values)
    kept = values[~np.isnan(values)]
    assert mean == pytest.approx(kept.mean())
    assert error == pytest.approx(scipy.stats.sem(kept))


def test_mean_and_error_of_one_or_no_value():
    assert mean_and_error([2.5])[0] == 2.5
    assert math.isnan(mean_and_error([2.5])[1])
    assert all(math.isnan(x) for x in mean_and_error([NAN]))


def test_paired_comparison_matches_a_hand_computation_and_ttest_rel():
    c = paired_comparison(A, B, unit="seeds", names=("classical", "hybrid"))
    # mean difference 1.7 / 4; squared deviations sum to 0.3875, so SE = sqrt(0.3875 / 3 / 4)
    assert c.difference == pytest.approx(0.425)
    assert c.difference_se == pytest.approx(math.sqrt(0.3875 / 12))
    t = 0.425 / math.sqrt(0.3875 / 12)
    assert c.p_value == pytest.approx(2 * scipy.stats.t.sf(t, df=3))
    assert c.p_value == pytest.approx(scipy.stats.ttest_rel(B, A).pvalue)
    assert (c.mean_a, c.mean_b) == pytest.approx((2.5, 2.925))
    assert c.se_a == pytest.approx(scipy.stats.sem(A))
    assert c.se_b == pytest.approx(scipy.stats.sem(B))
    assert (c.n, c.n_dropped, c.unit, c.names) == (4, 0, "seeds", ("classical", "hybrid"))


def test_pairing_removes_a_shared_per_seed_offset_that_hides_the_difference_unpaired():
    rng = np.random.default_rng(1)
    offsets = rng.normal(0.0, 1.0, 5)  # a seed's split moves both models alike
    a = 0.80 + offsets + rng.normal(0.0, 0.01, 5)
    b = 0.85 + offsets + rng.normal(0.0, 0.01, 5)
    c = paired_comparison(a, b, unit="seeds")
    unpaired_se = math.hypot(c.se_a, c.se_b)
    assert c.difference_se < unpaired_se / 50
    assert c.p_value < 0.001
    # unpaired, the same data show nothing: the old 2-SE rule and Welch's test both miss it
    assert abs(c.difference) < 2 * unpaired_se
    assert scipy.stats.ttest_ind(b, a, equal_var=False).pvalue > 0.5


def test_pairs_with_a_nan_on_either_side_are_dropped_and_counted():
    c = paired_comparison([1.0, NAN, 3.0, 4.0, 5.0], [2.0, 3.0, NAN, 5.0, 7.0], unit="images")
    assert (c.n, c.n_dropped) == (3, 2)
    assert c.mean_a == pytest.approx((1 + 4 + 5) / 3)
    assert c.mean_b == pytest.approx((2 + 5 + 7) / 3)
    assert c.p_value == pytest.approx(scipy.stats.ttest_rel([2, 5, 7], [1, 4, 5]).pvalue)


@pytest.mark.parametrize(("a", "b"), [([1.0], [2.0]), ([1.0, NAN], [2.0, 3.0]), ([], [])])
def test_fewer_than_two_pairs_give_an_undefined_p(a, b):
    c = paired_comparison(a, b, unit="seeds")
    assert c.n < 2
    assert math.isnan(c.p_value)
    assert math.isnan(c.difference_se)


def test_constant_differences_allow_no_test_and_never_read_as_an_effect():
    # e.g. every seed exactly one test image apart: zero variance, no test possible, p = 1
    assert paired_comparison(A, A, unit="seeds").p_value == 1.0
    assert paired_comparison(A, [x + 1 for x in A], unit="seeds").p_value == 1.0
    # 0.2 − 0.1, 0.3 − 0.2, 0.4 − 0.3 differ only by rounding: still a constant difference
    c = paired_comparison([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], unit="seeds")
    assert c.p_value == 1.0
    assert math.isnan(paired_comparison([0.1], [0.2], unit="seeds").p_value)  # n < 2
    family = Family(
        {"constant": c, "tested": paired_comparison(A, [x * 2 for x in A], unit="seeds")}
    )
    assert family.size == 2  # a constant difference counts in the family


def test_unequal_lengths_are_an_error():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_comparison([1.0, 2.0], [1.0, 2.0, 3.0], unit="seeds")


@pytest.mark.parametrize(
    "comparison",
    [
        paired_comparison(A, B, unit="seeds", names=("classical", "hybrid")),
        ratio_comparison(A, B, unit="seeds", names=("classical", "hybrid")),
    ],
)
def test_to_dict_is_plain_json_and_round_trips(comparison):
    record = comparison.to_dict()
    assert record["name_a"] == "classical" and record["name_b"] == "hybrid"
    assert all(type(value) in (float, int, str) for value in record.values())
    assert type(record["n"]) is int and type(record["p_value"]) is float
    assert type(comparison).from_dict(json.loads(json.dumps(record))) == comparison


def test_ratio_comparison_is_a_geometric_mean_ratio_with_a_t_interval():
    r = ratio_comparison([1.0, 2.0, 4.0], [2.0, 2.0, 8.0], unit="seeds")
    # log ratios ln 2 · (1, 0, 1): mean (2/3) ln 2, standard error ln 2 / 3
    assert r.ratio == pytest.approx(2 ** (2 / 3))
    assert r.log_ratio_se == pytest.approx(math.log(2) / 3)
    t = scipy.stats.t.ppf(0.975, df=2)
    assert (r.low, r.high) == pytest.approx((2 ** ((2 - t) / 3), 2 ** ((2 + t) / 3)))
    assert (r.geometric_mean_a, r.geometric_mean_b) == pytest.approx((2.0, 32 ** (1 / 3)))
    expected = scipy.stats.ttest_1samp(np.log([2.0, 1.0, 2.0]), 0.0).pvalue
    assert r.p_value == pytest.approx(expected)


def test_ratio_comparison_drops_nan_pairs_and_refuses_non_positive_values():
    r = ratio_comparison([1.0, NAN, 2.0, 4.0], [2.0, 5.0, 2.0, 8.0], unit="seeds")
    assert (r.n, r.n_dropped) == (3, 1)
    with pytest.raises(ValueError, match="positive"):
        ratio_comparison([1.0, 0.0], [1.0, 2.0], unit="seeds")


def test_holm_matches_a_hand_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 → running max
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one():
    np.testing.assert_allclose(holm([0.3, 0.8, 0.9]), [0.9, 1.0, 1.0])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])


def test_holm_ignores_nan_entries_and_keeps_them_nan():
    adjusted = holm([0.01, NAN, 0.04, 0.03, 0.005, NAN])
    np.testing.assert_allclose(adjusted, [0.03, NAN, 0.06, 0.06, 0.02, NAN])
    assert np.isnan(holm([NAN, NAN])).all()
    assert holm([]).shape == (0,)


def test_holm_is_monotone_in_the_sorted_order_and_never_below_the_raw_p():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.3, rng.integers(1, 20))
        adjusted = holm(p)
        assert (np.diff(adjusted[np.argsort(p, kind="stable")]) >= 0).all()
        assert (adjusted >= p).all() and (adjusted <= 1).all()
        assert adjusted.min() == pytest.approx(min(1.0, len(p) * p.min()))


def test_family_corrects_its_comparisons_together():
    family = Family()
    for name, p in [("w", 0.01), ("x", 0.04), ("y", 0.03), ("z", 0.005), ("undefined", NAN)]:
        family.add(name, _with_p(p))
    assert family.size == 4  # the undefined test takes no part in the correction
    adjusted = family.adjusted()
    assert list(adjusted) == ["w", "x", "y", "z", "undefined"]
    assert [adjusted[k] for k in "wxyz"] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted["undefined"])
    # detected where the adjusted p is below alpha; an undefined (NaN) p is never detected
    detected = {name: bool(p < 0.05) for name, p in adjusted.items()}
    assert detected == {"w": True, "x": False, "y": False, "z": True, "undefined": False}
    assert adjusted["x"] < 0.1


def test_family_takes_a_mapping_and_refuses_duplicate_names():
    ratio = ratio_comparison([1.0, 2.0, 4.0], [2.0, 2.0, 8.0], unit="seeds")
    family = Family({"ratio": ratio})
    assert isinstance(family.comparisons["ratio"], RatioComparison)
    with pytest.raises(ValueError, match="already"):
        family.add("ratio", ratio)


def _with_p(p: float) -> Comparison:
    return Comparison(("a", "b"), "seeds", 5, 0, 0.0, 0.1, 0.1, 0.1, 0.1, 0.05, p)
