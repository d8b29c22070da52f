"""Headlines of an analysis read back from its results.json: the Holm family's outcome stated
(a null result as such), its strongest comparison quoted with the notebook's numbers."""

import json
import math

import matplotlib as mpl
import pytest

from helpers.analysis.results import Results
from helpers.analysis.stats import Comparison, RatioComparison, paired_comparison
from helpers.present.effects import DETECTED, NOT_DETECTED, interval, plot_effects
from helpers.present.findings import Verdict, headline, verdicts
from helpers.present.style import figure_base64
from tests.present.figure_checks import check_figure

A = [1.0, 2.0, 3.0]
CLEAR = [2.0, 3.1, 3.9]  # differences 1.0, 1.1, 0.9: t = 17.3 on 2 df, p = 0.0033
UNCLEAR = [2.0, 3.0, 5.0]  # differences 1, 1, 2: t = 4.0 on 2 df, p = 0.057


def _read_back(results: Results) -> list[Verdict]:
    return verdicts(json.loads(json.dumps(results.to_dict())))


def test_verdicts_read_back_every_comparison_as_the_notebook_made_it():
    results = Results("demo")
    clear = results.compare("clear", paired_comparison(A, CLEAR, unit="seeds", margin=0.1))
    results.explore("ratio", RatioComparison.from_dict(_ratio()))
    family, explored = _read_back(results)
    assert family.comparison == clear and isinstance(family.comparison, Comparison)
    # one comparison, two exclusive tests: at most one true, so Shaffer multiplies by 1
    assert (family.p, family.family, family.exploratory) == (clear.p_value, (1, 2), False)
    assert family.decision.outcome == "different"
    assert isinstance(explored.comparison, RatioComparison) and explored.exploratory
    assert explored.p == explored.comparison.p_value and explored.family is None


def test_an_older_results_file_asks_for_its_notebook_to_run_again():
    with pytest.raises(ValueError, match="run its notebook again"):
        verdicts({"schema": 2, "analysis": "demo", "comparisons": [], "exploratory": []})


def _ratio():
    return {
        "name_a": "classical", "name_b": "hybrid", "unit": "seeds", "n": 3, "n_dropped": 0,
        "geometric_mean_a": 1.0, "geometric_mean_b": 2.0, "ratio": 2.0, "low": 0.5, "high": 8.0,
        "confidence": 0.95, "log_ratio": math.log(2.0), "log_ratio_se": 0.3, "df": 2.0,
    }  # fmt: skip


def test_a_detected_comparison_leads_with_the_notebooks_wording():
    results = Results("demo")
    results.compare("unclear", paired_comparison(A, UNCLEAR, unit="seeds"))
    results.compare("clear", paired_comparison(A, CLEAR, unit="seeds"))
    found = _read_back(results)
    plain = headline(found)
    assert plain.outcome == (
        "1 different, 1 inconclusive (Holm over 2 tests of 2 comparisons). Strongest:"
    )
    assert plain.verdict.name == "clear" and not plain.null and plain.kind == "found"
    assert plain.sentence.startswith("clear: b − a = 1.000 ± 0.058 [97.5% CI ")
    assert plain.sentence.endswith(
        "(paired t over 3 seeds; Holm-adjusted p = 0.0066 over 2 tests of 2 comparisons): b higher."
    )
    results.comparatives["clear"] = "more accurate"  # kept in results.json, read back
    assert headline(_read_back(results)).sentence.endswith("comparisons): b more accurate.")


def test_a_family_without_detection_is_a_null_result():
    results = Results("demo")
    results.compare("unclear", paired_comparison(A, UNCLEAR, unit="seeds"))
    line = headline(_read_back(results))
    assert line.null and line.outcome.startswith("Null result: 1 inconclusive (Holm over 1 test")
    assert line.kind == "null"
    assert line.sentence.endswith("inconclusive at this sample size (no difference detected; "
                                  "no equivalence margin).")  # fmt: skip


def test_an_equivalent_family_says_so_and_quotes_the_closest():
    results = Results("demo")
    near = [1.0, 2.01, 2.99]  # differences 0, 0.01, −0.01
    results.compare("near", paired_comparison(A, near, unit="seeds", margin=0.5))
    results.compare("unclear", paired_comparison(A, UNCLEAR, unit="seeds", margin=0.5))
    line = headline(_read_back(results))
    assert line.outcome == (
        "No difference detected: 1 equivalent within their margins, 1 inconclusive (Holm over "
        "4 tests of 2 comparisons). Closest:"
    )
    assert line.verdict.name == "near" and line.sentence.endswith("equivalent within ±0.5.")


def test_one_seed_is_not_testable_rather_than_a_null_result():
    results = Results("demo")
    results.compare("one seed", paired_comparison([1.0], [2.0], unit="seeds"))
    results.compare("also one", paired_comparison([1.0], [3.0], unit="seeds"))
    line = headline(_read_back(results))
    assert line.outcome == "Not testable (fewer than 2 seeds):" and "Null" not in str(line)
    assert not line.null and line.kind == "neutral" and "not testable" in line.sentence


def test_exploratory_comparisons_alone_say_so_and_no_comparison_says_why():
    results = Results("demo")
    results.explore("clear", paired_comparison(A, CLEAR, unit="seeds"))
    line = headline(_read_back(results))
    assert line.outcome == (
        "Exploratory only (1 comparison): 1 of 1 with a difference at α = 0.05 after Holm "
        "correction within them. Smallest uncorrected p:"
    )
    assert "exploratory, uncorrected p = 0.0033)." in line.sentence and not line.null
    assert "b higher" not in line.sentence  # an effect, not a conclusion
    assert line.kind == "neutral"  # exploratory: never styled as a finding
    results = Results("demo")
    results.explore("unclear", paired_comparison(A, UNCLEAR, unit="seeds"))
    line = headline(_read_back(results))
    assert line.kind == "neutral" and not line.null  # nothing below α: no finding, no null
    assert str(headline([])) == "No comparison: fewer than two models or seeds."


def test_finding_figure_draws_the_family_with_its_intervals():
    results = Results("demo")
    results.compare_models("score", {"classical": A, "hybrid": CLEAR, "product": UNCLEAR}, "seeds")
    results.explore("ratio", RatioComparison.from_dict(_ratio()))  # not the family: not drawn
    found = _read_back(results)
    fig = check_figure(plot_effects(found, "Demo: every comparison"), "Demo: every comparison")
    [score] = fig.axes
    assert score.get_title() == "score"
    assert score.get_xlabel() == "difference (CI at the verdict's level)"
    assert [t.get_text() for t in score.get_yticklabels()] == [
        "hybrid − classical",
        "hybrid − product",
        "product − classical",
    ]
    point, caps = score.lines[0], score.lines[1:3]
    assert point.get_xdata()[0] == pytest.approx(1.0)  # hybrid − classical: 1.0, 1.1, 0.9
    ends = sorted(cap.get_xdata()[0] for cap in caps)
    assert ends == pytest.approx([found[0].decision.low, found[0].decision.high])
    assert found[0].decision.low > 0  # the drawn interval excludes 0: the verdict "different"
    assert mpl.colors.same_color(point.get_markerfacecolor(), DETECTED)  # Holm p = 0.0099
    assert score.lines[3].get_markerfacecolor() == "white"  # hybrid − product: 0, 0.1, −1.1
    assert figure_base64(fig).startswith("iVBORw0KGgo")  # a PNG


def test_finding_figure_of_exploratory_ratios_is_on_a_log_scale():
    results = Results("demo")
    results.explore("top eigenvalue", RatioComparison.from_dict(_ratio()))
    found = _read_back(results)
    [ax] = plot_effects(found, "Ratios").axes
    assert ax.get_title() == "top eigenvalue (exploratory)" and ax.get_xscale() == "log"
    effect, low, high = interval(found[0])
    assert effect == 2.0 and low < 1 < high  # p = 0.2 over 3 seeds: the interval holds 1
    assert mpl.colors.same_color(ax.lines[0].get_color(), NOT_DETECTED)  # p = 0.2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hybrid / classical"]


def test_a_large_family_keeps_its_smallest_p_values_in_one_panel():
    results = Results("demo")
    for k in range(8):  # eight quantities compared once each; "k = 3" the only clear one
        results.compare(f"k = {k}", paired_comparison(A, CLEAR if k == 3 else UNCLEAR, unit="s"))
    fig = plot_effects(_read_back(results), "Many", most=6)
    [ax] = fig.axes
    assert fig.get_suptitle() == "Many (6 smallest p of 8)"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 6 and labels[0] == "k = 0 (b − a)" and "k = 3 (b − a)" in labels


def test_the_exploratory_headline_does_not_cherry_pick_among_many_nulls():
    """24 exploratory comparisons, one with p = 0.0033: nothing survives Holm within the set,
    and the headline says so instead of quoting a conclusion."""
    results = Results("demo")
    results.explore("m0", paired_comparison(A, CLEAR, unit="seeds"))
    for index in range(1, 24):
        results.explore(f"m{index}", paired_comparison(A, UNCLEAR, unit="seeds"))
    found = _read_back(results)
    assert min(v.p for v in found) < 0.05
    line = headline(found)
    assert line.outcome.startswith("Exploratory only (24 comparisons): none with a difference")
    assert line.kind == "neutral" and not line.sentence.endswith("higher.")
