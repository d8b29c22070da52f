"""Paired comparisons, their Holm correction as a family, and the mean ± SE they build on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats

from helpers.analysis.designs import jackknife_values
from helpers.analysis.family import Family, exploratory_decision, holm
from helpers.analysis.stats import (
    Comparison,
    RatioComparison,
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


def test_constant_differences_get_the_exact_sign_flip_test():
    # every seed the same amount apart: no variance for a t, so all 2ⁿ sign flips decide, and
    # only the identity and its mirror reach the observed |sum|: p = 2 / 2ⁿ (scipy agrees)
    def exact(n: int, step: float) -> float:
        return float(scipy.stats.permutation_test(
            ([step] * n,), np.mean, permutation_type="samples", n_resamples=np.inf
        ).pvalue)  # fmt: skip

    ten = paired_comparison([0.5] * 10, [0.51] * 10, unit="seeds")
    assert ten.method == "exact sign-flip" and ten.p_value == pytest.approx(2 / 2**10)
    assert ten.p_value == pytest.approx(exact(10, 0.01))
    # 8 seeds, the hybrid 3 of 2,000 test images better each time: detected (p = 2/256)
    eight = paired_comparison([0.9] * 8, [0.9015] * 8, unit="seeds")
    assert eight.p_value == pytest.approx(2 / 2**8) == pytest.approx(exact(8, 0.0015))
    # five seeds cannot reach α = 0.05 by sign flips: 2/32, and the CI is the whole line
    five = paired_comparison([*A, 5.0], [x + 1 for x in [*A, 5.0]], unit="seeds")
    assert five.p_value == pytest.approx(2 / 2**5)
    assert five.interval(0.95) == (-math.inf, math.inf)
    # from six seeds the 95% interval is the constant itself, excluding 0 with the test
    assert paired_comparison([0.0] * 6, [1.0] * 6, unit="seeds").interval(0.95) == (1.0, 1.0)
    # rounding is no variance: 0.2 − 0.1, 0.3 − 0.2, 0.4 − 0.3
    c = paired_comparison([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], unit="seeds")
    assert c.method == "exact sign-flip" and c.p_value == pytest.approx(2 / 2**3)
    assert paired_comparison(A, A, unit="seeds").p_value == 1.0  # no difference at all
    assert math.isnan(paired_comparison([0.1], [0.2], unit="seeds").p_value)  # n < 2


def test_a_near_constant_difference_reads_like_the_constant_one():
    # 10 seeds all +0.01 and one at +0.0101: both "different", no jump from p = 1 to p < 0.001
    constant = paired_comparison([0.5] * 10, [0.51] * 10, unit="seeds")
    nudged = paired_comparison([0.5] * 10, [0.51] * 9 + [0.5101], unit="seeds")
    for c in (constant, nudged):
        assert Family({"x": c}).decisions()["x"].outcome == "different"


def test_crossed_design_matches_a_hand_computed_anova():
    differences = np.array([[0.1, 0.3, 0.2], [0.3, 0.4, 0.5]])  # 2 seeds × 3 images
    a = np.zeros_like(differences)
    c = paired_comparison(a, differences, unit="seeds × images")
    # grand mean 0.3; seed means 0.2, 0.4; image means 0.2, 0.35, 0.35
    seed_ms = 3 * (0.1**2 + 0.1**2) / 1
    image_ms = 2 * (0.1**2 + 0.05**2 + 0.05**2) / 2
    assert (c.method, c.n, c.n_images) == ("crossed t", 2, 3)
    assert c.difference == pytest.approx(0.3)
    assert c.difference_se == pytest.approx(math.sqrt((seed_ms + image_ms) / 6))
    satterthwaite = (seed_ms + image_ms) ** 2 / (seed_ms**2 / 1 + image_ms**2 / 2)
    df = 1 + (satterthwaite - 1) / 4  # a quarter of the way from min(2, 3) − 1
    assert c.df == pytest.approx(df)
    t = 0.3 / c.difference_se
    assert c.p_value == pytest.approx(2 * scipy.stats.t.sf(t, df))


def test_crossed_design_counts_the_images_drawn_and_drops_incomplete_images():
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 1, (5, 40))
    per_image = rng.normal(0, 0.1, 40)  # the images disagree with each other, seeds do not
    b = shared + per_image + rng.normal(0, 0.001, (5, 40))
    crossed = paired_comparison(shared, b, unit="seeds × images")
    over_seeds = paired_comparison(shared.mean(1), b.mean(1), unit="seeds")
    assert crossed.difference_se > 20 * over_seeds.difference_se  # images' sampling counted
    assert crossed.difference_se == pytest.approx(0.1 / math.sqrt(40), rel=0.35)
    b[2, 7] = NAN
    dropped = paired_comparison(shared, b, unit="seeds × images")
    assert (dropped.n, dropped.n_images, dropped.n_dropped) == (5, 39, 1)


def test_tost_matches_a_worked_example():
    # differences 0.01, 0.03, −0.01, 0.02, 0.00: mean 0.01, SD 0.0158, SE 0.00707, df 4
    a = np.zeros(5)
    b = np.array([0.01, 0.03, -0.01, 0.02, 0.00])
    c = paired_comparison(a, b, unit="seeds", margin=0.05)
    se = np.std(b, ddof=1) / math.sqrt(5)
    lower = scipy.stats.t.sf((0.01 + 0.05) / se, 4)  # null: difference ≤ −0.05
    upper = scipy.stats.t.cdf((0.01 - 0.05) / se, 4)  # null: difference ≥ +0.05
    assert c.equivalence_p == pytest.approx(max(lower, upper))
    assert c.equivalence_p == pytest.approx(0.00241, abs=1e-5)  # t = −0.04 / 0.00707 = −5.657, 4 df
    # TOST at α is the 90% interval inside ±Δ
    low, high = c.interval(0.90)
    assert low > -0.05 and high < 0.05
    narrow = paired_comparison(a, b, unit="seeds", margin=0.02)
    assert narrow.equivalence_p > 0.05 and narrow.interval(0.90)[1] > 0.02
    assert math.isnan(paired_comparison(a, b, unit="seeds").equivalence_p)  # no margin


def test_decisions_read_different_equivalent_inconclusive_or_not_testable():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 12)
    comparisons = {
        "different": paired_comparison(a, a + 0.5 + rng.normal(0, 0.05, 12), unit="seeds",
                                       margin=0.1),
        "equivalent": paired_comparison(a, a + rng.normal(0, 0.01, 12), unit="seeds", margin=0.1),
        "inconclusive": paired_comparison(a, a + rng.normal(0, 0.5, 12), unit="seeds",
                                          margin=0.1),
        "one seed": paired_comparison([1.0], [2.0], unit="seeds", margin=0.1),
    }  # fmt: skip
    family = Family(comparisons)
    assert (family.size, family.tests) == (4, 6)  # every comparison; two tests each if testable
    outcomes = {name: d.outcome for name, d in family.decisions().items()}
    assert outcomes == {
        "different": "different", "equivalent": "equivalent",
        "inconclusive": "inconclusive", "one seed": "not testable",
    }  # fmt: skip


def test_the_interval_always_agrees_with_the_corrected_verdict():
    rng = np.random.default_rng(1)
    for _ in range(40):
        family = Family()
        for k in range(int(rng.integers(1, 6))):
            n = int(rng.integers(2, 9))
            a = rng.normal(0, 1, n)
            shift = rng.choice([0.0, 0.3, 1.0])
            b = a + shift + rng.normal(0, rng.choice([0.0, 0.2, 1.0]), n)
            family.add(str(k), paired_comparison(a, b, unit="seeds", margin=0.2))
        for decision in family.decisions().values():
            excludes_zero = decision.low > 0 or decision.high < 0
            assert excludes_zero == (decision.outcome == "different")


def test_unequal_lengths_are_an_error():
    with pytest.raises(ValueError, match="equal shapes"):
        paired_comparison([1.0, 2.0], [1.0, 2.0, 3.0], unit="seeds")


@pytest.mark.parametrize(
    "comparison",
    [
        paired_comparison(A, B, unit="seeds", names=("classical", "hybrid"), margin=0.1),
        ratio_comparison(A, B, unit="seeds", names=("classical", "hybrid"), margin=1.25),
    ],
)
def test_to_dict_is_plain_json_and_round_trips(comparison):
    record = comparison.to_dict()
    assert record["name_a"] == "classical" and record["name_b"] == "hybrid"
    assert all(type(value) in (float, int, str) for value in record.values())
    assert (
        type(record["n"]) is int
        and type(record["difference" if "difference" in record else "ratio"]) is float
    )
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


def test_family_corrects_its_difference_and_equivalence_tests_together():
    family = Family()
    for name, p in [("w", 0.01), ("x", 0.04), ("y", 0.03), ("z", 0.005), ("undefined", NAN)]:
        family.add(name, _with_p(p))
    assert (family.size, family.tests) == (5, 4)  # no margins: one test per testable comparison
    adjusted = family.adjusted()
    assert list(adjusted) == ["w", "x", "y", "z", "undefined"]
    assert [adjusted[k] for k in "wxyz"] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted["undefined"])
    outcomes = {name: d.outcome for name, d in family.decisions().items()}
    assert outcomes == {"w": "different", "x": "inconclusive", "y": "inconclusive",
                        "z": "different", "undefined": "not testable"}  # fmt: skip


def test_family_takes_a_mapping_and_refuses_duplicate_names():
    ratio = ratio_comparison([1.0, 2.0, 4.0], [2.0, 2.0, 8.0], unit="seeds")
    family = Family({"ratio": ratio})
    assert isinstance(family.comparisons["ratio"], RatioComparison)
    with pytest.raises(ValueError, match="already"):
        family.add("ratio", ratio)


def _with_p(p: float) -> Comparison:
    """A comparison over 5 seeds whose two-sided p is ``p`` (NaN: one seed)."""
    if math.isnan(p):
        return Comparison(("a", "b"), "seeds", 1, 0, 0.0, NAN, 0.1, NAN, 0.1, NAN)
    t = scipy.stats.t.isf(p / 2, 4)
    return Comparison(("a", "b"), "seeds", 5, 0, 0.0, 0.1, 0.1, 0.1, 0.1, 0.1 / t, 4.0)


def test_jackknife_pseudo_values_of_the_mean_are_its_group_means():
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, (60, 3))
    pseudo = jackknife_values(lambda x: float(x[:, 0].mean()), values, groups=20, seed=1)
    assert pseudo.shape == (20,)
    assert pseudo.mean() == pytest.approx(values[:, 0].mean())  # unbiased: nothing to correct
    groups = np.random.default_rng(1).permutation(60) % 20
    means = [values[groups == g, 0].mean() for g in range(20)]
    np.testing.assert_allclose(np.sort(pseudo), np.sort(means))
    # a biased statistic is corrected: the variance with 1/n is n/(n − 1) too small
    biased = jackknife_values(lambda x: float(x[:, 1].var()), values, groups=60)
    assert biased.mean() == pytest.approx(values[:, 1].var(ddof=1))


def test_an_equivalent_verdict_draws_the_interval_of_its_own_test_inside_the_margin():
    rng = np.random.default_rng(5)
    for _ in range(60):
        n = int(rng.integers(2, 12))
        a = rng.normal(0, 1, n)
        b = a + rng.normal(rng.choice([0.0, 0.02, 0.04]), rng.choice([0.0, 0.01, 0.05]), n)
        comparison = paired_comparison(a, b, unit="seeds", margin=0.05)
        for decision in (exploratory_decision(comparison),
                         Family({"x": comparison}).decisions()["x"]):  # fmt: skip
            inside = decision.low > -0.05 and decision.high < 0.05
            assert inside == (decision.outcome == "equivalent") or decision.outcome == "different"
    # five seeds all +0.01: the exact one-sided p 1/32 shows equivalence within ±0.05; the
    # interval drawn is the point, not the whole line
    five = paired_comparison([0.0] * 5, [0.01] * 5, unit="seeds", margin=0.05)
    decision = exploratory_decision(five)
    assert decision.outcome == "equivalent" and (decision.low, decision.high) == (0.01, 0.01)


def test_one_image_or_no_error_estimate_is_not_testable():
    c = paired_comparison(np.zeros((5, 1)), np.ones((5, 1)) * 0.1 + np.arange(5)[:, None] * 0.01,
                          unit="seeds × images")  # fmt: skip
    assert math.isnan(c.p_value)
    family = Family({"one image": c})
    assert family.tests == 0 and family.decisions()["one image"].outcome == "not testable"


def test_cells_that_swing_while_the_means_agree_keep_their_error():
    # 6 seeds × 2 images, every seed mean and every image mean 0.5, the cells 0 or 1
    differences = np.tile([[1.0, 0.0], [0.0, 1.0]], (3, 1))
    c = paired_comparison(np.zeros_like(differences), differences, unit="seeds × images")
    # residuals ±0.5 in all 12 cells: MS_interaction = 3 / 5 = 0.6
    assert c.method == "crossed t" and c.difference_se == pytest.approx(math.sqrt(0.6 / 12))
    assert c.df == 5.0  # the interaction's (S − 1)(I − 1)


def test_shaffers_count_knows_that_a_difference_and_equivalence_cannot_both_be_true():
    # comparisons x, y; difference p's 0.01, 0.2 and equivalence p's 0.3, 0.02
    p = [0.01, 0.2, 0.3, 0.02]
    plain = holm(p)  # 4, 3, 2, 1 hypotheses left: 0.04, 0.06, 0.4, 0.4
    np.testing.assert_allclose(plain, [0.04, 0.4, 0.4, 0.06])
    # at most one of each comparison's pair is true: 2, 2, 2, 1 can be true together
    shaffer = holm(p, exclusive=[0, 1, 0, 1])
    np.testing.assert_allclose(shaffer, [0.02, 0.4, 0.4, 0.04])


def test_a_difference_smaller_than_the_margin_says_so():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, 40)
    c = paired_comparison(a, a + 0.01 + rng.normal(0, 0.002, 40), unit="seeds", margin=0.05)
    decision = exploratory_decision(c)
    assert decision.outcome == "different" and decision.within_margin
