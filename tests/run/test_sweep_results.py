"""What a sweep states: measures gathered over the points, verdicts corrected over the sweep,
findings that say what the numbers say (null results included), and its page."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.analysis.family import Family
from helpers.analysis.results import RESULTS_FILE, Results
from helpers.analysis.stats import paired_comparison
from helpers.io import save_json
from helpers.run.sweep_grid import Grid
from helpers.run.sweep_page import write_sweep
from helpers.run.sweep_results import measures, summarise, trend_finding

SEEDS = 6
NAME = "test accuracy, hybrid vs classical"
# hybrid − classical per seed at each depth: equivalent within ±0.02, clearly higher, noisy
DIFFERENCES = {
    0: [0.001, -0.001, 0.0005, -0.0005, 0.001, 0.0],
    1: [0.10, 0.11, 0.09, 0.10, 0.12, 0.10],
    2: [0.2, -0.25, 0.15, -0.1, 0.3, -0.2],
}


def _point_results(depth: int) -> Results:
    classical = np.linspace(0.80, 0.85, SEEDS)
    hybrid = classical + np.asarray(DIFFERENCES[depth])
    results = Results("accuracy")
    for model, values in (("classical", classical), ("hybrid", hybrid)):
        results.add("test accuracy", values, "seeds", model=model)
    comparison = paired_comparison(
        classical, hybrid, unit="seeds", names=("classical", "hybrid"), margin=0.02
    )
    results.compare(NAME, comparison, "more accurate")
    return results


@pytest.fixture
def swept(tmp_path):
    """Three complete points of a q_depth sweep with accuracy results, and their records."""
    grid = Grid({"q_depth": [0, 1, 2]}, {"epochs": 2})
    records = []
    for point in grid.points():
        folder = tmp_path / point.folder
        results = _point_results(point.values["q_depth"])
        save_json(results.to_dict(), folder / "artifacts" / "accuracy" / RESULTS_FILE)
        attempt = {"outcome": "complete", "seconds": 60.0}
        records.append({"name": point.name, "values": point.values, "folder": point.folder,
                        "status": "complete", "attempts": [attempt], "seconds": 60.0,
                        "error": None})  # fmt: skip
    return grid, records, tmp_path


def test_every_number_becomes_a_series_over_the_points(swept):
    grid, records, root = swept
    summary = summarise(
        grid.swept, grid.fixed, records, [root / p.folder for p in grid.points()], []
    )
    hybrid = next(s for s in summary["measures"] if s["model"] == "hybrid")
    expected = [np.mean(np.linspace(0.80, 0.85, SEEDS) + DIFFERENCES[d]) for d in (0, 1, 2)]
    assert [v["point"] for v in hybrid["values"]] == ["q_depth=0", "q_depth=1", "q_depth=2"]
    assert [v["mean"] for v in hybrid["values"]] == pytest.approx(expected)
    assert hybrid["unit"] == "seeds" and all(v["n"] == SEEDS for v in hybrid["values"])


def test_verdicts_are_corrected_over_the_whole_sweep_and_worded_point_by_point(swept):
    grid, records, root = swept
    summary = summarise(
        grid.swept, grid.fixed, records, [root / p.folder for p in grid.points()], []
    )
    rows = {row["point"]: row for row in summary["verdicts"]}
    family = Family({f"{d}": _point_results(d).family.comparisons[NAME] for d in (0, 1, 2)})
    expected = family.decisions()
    for depth in (0, 1, 2):
        row, decision = rows[f"q_depth={depth}"], expected[f"{depth}"]
        assert row["outcome"] == decision.outcome and row["family_size"] == 3
        assert (row["low"], row["high"]) == pytest.approx((decision.low, decision.high))
    assert [rows[f"q_depth={d}"]["outcome"] for d in (0, 1, 2)] == [
        "equivalent", "different", "inconclusive",
    ]  # fmt: skip
    assert (
        f"{NAME} — q_depth=0: equivalent within ±0.02; q_depth=1: hybrid more accurate; "
        "q_depth=2: inconclusive at this sample size (neither a difference nor equivalence "
        "within ±0.02 detected) (Holm-corrected over the 3 distinct comparisons of this analysis "
        "in the sweep)." in summary["findings"]
    )


def test_a_point_difference_that_does_not_survive_the_sweeps_correction_is_not_claimed(tmp_path):
    grid = Grid({"seed": [0, 1, 2, 3]})
    records = []
    classical = np.linspace(0.80, 0.85, SEEDS)
    shifts = [0.0, 0.0, 0.0, 0.006]  # only the last point differs, and barely
    noise = np.array([0.004, -0.006, 0.003, -0.001, 0.005, -0.005])
    for point, shift in zip(grid.points(), shifts, strict=True):
        comparison = paired_comparison(classical, classical + shift + noise, unit="seeds",
                                       names=("classical", "hybrid"))  # fmt: skip
        results = Results("accuracy")
        results.compare(NAME, comparison, "more accurate")
        save_json(results.to_dict(), tmp_path / point.folder / "artifacts" / "a" / RESULTS_FILE)
        record = {"name": point.name, "values": point.values, "folder": point.folder}
        records.append({**record, "status": "complete", "attempts": [], "seconds": 1.0})
    assert 0.0125 < comparison.p_value < 0.05  # different within its own point only
    folders = [tmp_path / p.folder for p in grid.points()]
    row = summarise(grid.swept, {}, records, folders, [])["verdicts"][-1]
    assert row["in_point"] == "different" and row["outcome"] == "inconclusive"


def test_trends_and_failures_are_said_with_the_numbers(swept):
    grid, records, root = swept
    records[2] = {**records[2], "status": "failed", "error": "the Ray worker running it died"}
    computed = [{"what": "features"}, {"what": "features"}, {"what": "heads trained"}]
    summary = summarise(
        grid.swept, grid.fixed, records, [root / p.folder for p in grid.points()], computed
    )
    findings = summary["findings"]
    assert findings[0] == (
        "2 of 3 points complete; q_depth=2 failed: the Ray worker running it died."
    )
    assert (
        findings[1].startswith("During this sweep the points extracted backbone features 2 times")
        and "trained 1 set of heads and reused 0 sets" in findings[1]
    )
    hybrid = next(s for s in summary["measures"] if s["model"] == "hybrid")["values"]
    first, last = hybrid
    trend = next(f for f in findings if f.startswith("The hybrid model's test accuracy"))
    assert trend == (
        "The hybrid model's test accuracy (mean ± SE over seeds, n = 6) goes from "
        f"{first['mean']:.3g} ± {first['se']:.2g} at q_depth=0 to "
        f"{last['mean']:.3g} ± {last['se']:.2g} at q_depth=1."
    )
    assert not any("q_depth=2" in f for f in findings[1:])  # a failed point states nothing


def test_the_page_shows_findings_points_verdicts_and_figures(swept):
    grid, records, root = swept
    page = write_sweep(root, grid, [*records[:2], None], []).read_text()
    assert "hybrid more accurate (+0.103)" in page and 'class="different"' in page
    assert page.count("data:image/png;base64,") == 1  # one analysis, one figure
    assert "not run" in page and (root / "sweep.json").is_file()


def test_a_comparison_repeated_on_the_same_heads_counts_once_and_is_said_once(swept):
    grid, records, root = swept
    for point in grid.points():  # every point holds the depth-1 comparison: the same test
        save_json(
            _point_results(1).to_dict(), root / point.folder / "artifacts/accuracy" / RESULTS_FILE
        )
    folders = [root / p.folder for p in grid.points()]
    summary = summarise(grid.swept, grid.fixed, records, folders, [])
    assert {row["family_size"] for row in summary["verdicts"]} == {1}
    assert {row["points_sharing"] for row in summary["verdicts"]} == {3}
    assert (
        f"{NAME} — at every point: hybrid more accurate (Holm-corrected over the 1 distinct "
        "comparisons of this analysis in the sweep; the same comparison on the same heads at each "
        "point)." in summary["findings"]
    )


@pytest.mark.parametrize(
    ("means", "ses", "said"),
    [
        ([math.nan, math.nan, math.nan], [math.nan] * 3, None),
        ([0.6, 0.6, 0.6], [0.01] * 3, "is 0.6 at every q_depth."),
        ([3e-15, 2e-15, 4e-15], [1e-16] * 3, "is 0 to rounding (at most 4e-15) at every q_depth."),
        (
            [0.5, math.nan, 0.7],
            [math.nan] * 3,
            "goes from 0.5 (SE n/a) at q_depth=0 to 0.7 (SE n/a) at q_depth=2.",
        ),
        ([0.5, math.nan, 0.5], [0.1] * 3, "is 0.5 at every q_depth where it is defined (2 of 3)."),
    ],
)
def test_trend_sentences_hold_for_undefined_constant_and_single_seed_values(means, ses, said):
    values = [{"point": f"q_depth={i}", "mean": m, "se": e, "n": 1}
              for i, (m, e) in enumerate(zip(means, ses, strict=True))]  # fmt: skip
    series = {"model": "hybrid", "name": "Meyer-Wallach Q", "unit": "seeds", "values": values}
    sentence = trend_finding(series, "q_depth", [0, 1, 2])
    assert sentence == said if said is None else sentence.endswith(said), sentence


def test_a_record_of_another_sweep_is_stale_not_complete(tmp_path):
    from helpers.config import Config
    from helpers.run.sweep_point import PointRun

    point = Grid({"q_depth": [1]}).points()[0]
    run = {"parameters": {"q_depth": 1, "epochs": 5}, "smoke": True, "only": [], "report": False}
    earlier = PointRun(point, tmp_path, [], {**run, "parameters": {"q_depth": 1, "epochs": 2}},
                       Config())  # fmt: skip
    earlier.attempts.append({"outcome": "complete", "seconds": 1.0})
    earlier.write("complete")
    now = PointRun(point, tmp_path, [], run, Config())
    assert now.current_record() is None and not now.is_complete()
    assert earlier.is_complete()


def test_a_label_that_describes_a_number_does_not_split_its_series():
    def point(name, parameters):
        rows = [{"name": "effective dimension", "model": "hybrid", "parameters": parameters,
                 "mean": 1.0, "se": 0.1, "n": 5, "unit": "seeds"}]  # fmt: skip
        rows += [{"name": "gradient variance", "depth": depth, "mean": 0.1, "se": 0.0, "n": 200,
                  "unit": "weight draws"} for depth in (1, 2)]  # fmt: skip
        return {"name": name, "results": {"lens": {"numbers": rows}}}

    found = measures([point("q_depth=1", 10), point("q_depth=2", 14)])
    dimension = [s for s in found if s["name"] == "effective dimension"]
    assert len(dimension) == 1 and dimension[0]["labels"] == {}
    assert [v["labels"] for v in dimension[0]["values"]] == [{"parameters": 10}, {"parameters": 14}]
    gradients = [s for s in found if s["name"] == "gradient variance"]
    assert sorted(s["labels"]["depth"] for s in gradients) == [1, 2]  # names series: kept
