"""What a sweep found: every point's ``results.json`` gathered against the swept parameters.

Every number a notebook stated (mean ± SE over its unit, usually seeds) becomes a series over the
points, one per model. Every verdict of a notebook's Holm family is corrected again over the
sweep: the comparisons of one analysis at all points form one family (Holm with Shaffer's count,
:class:`helpers.analysis.family.Family`), so "equivalent at every depth" holds family-wise over
the whole sweep, not point by point. Exploratory comparisons stay exploratory. The findings are
sentences built from these numbers alone, null results included.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from helpers.analysis.family import Family
from helpers.analysis.results import RESULTS_FILE
from helpers.analysis.stats import Compared
from helpers.present.findings import compared_of
from helpers.present.tables import conclusion

ROUNDING = 1e-12  # below this (absolute, or relative to a series' size) values are equal
VALUE_KEYS = ("name", "mean", "se", "n", "unit", "model")
# The measures the findings follow across the grid (others are in sweep.json and the figures).
KEY_MEASURES = (
    ("accuracy", "test accuracy", {}),
    ("lens", "multi-body share of the decision", {}),
    ("lens", "Meyer-Wallach Q", {"setting": "trained"}),
)


def point_results(folder: Path) -> dict[str, dict[str, Any]]:
    """Every analysis's ``results.json`` in a point's folder, by analysis name."""
    found = {}
    for path in sorted((folder / "artifacts").glob(f"*/{RESULTS_FILE}")):
        results = json.loads(path.read_text())
        found[results.get("analysis", path.parent.name)] = results
    return found


def _properties(points: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """The numeric labels that describe a number rather than name it: ``(analysis, name,
    label)`` whose value is single at every point but may change between points (a head's
    parameter count, the data size an effective dimension is read at). A label with several
    values at one point (a gradient variance's depth) names series, and stays in the key."""
    values: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for point in points:
        for analysis, results in point["results"].items():
            for row in results.get("numbers", []):
                for label, value in row.items():
                    if label not in VALUE_KEYS and isinstance(value, int | float):
                        key = (point["name"], analysis, row["name"], f"{label}:{row.get('model')}")
                        values[key].add(json.dumps(value))
                        counts[key] += 1
    several = {key[1:] for key, found in values.items() if len(found) > 1 or counts[key] > 1}
    found = {key[1:] for key in values}
    return {(a, n, label.split(":")[0]) for a, n, label in found - several}


def measures(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every stated number as a series over the complete ``points`` (each a ``point.json``
    record with its ``results``): analysis, name, labels, model, unit and one value per point
    (with its describing labels, e.g. ``parameters``, which may change between points)."""
    described = _properties(points)
    series: dict[str, dict[str, Any]] = {}
    for point in points:
        for analysis, results in point["results"].items():
            for row in results.get("numbers", []):
                labels, properties = {}, {}
                for label, value in row.items():
                    if label not in VALUE_KEYS:
                        own = (analysis, row["name"], label) in described
                        (properties if own else labels)[label] = value
                key = json.dumps([analysis, row["name"], labels, row.get("model")], sort_keys=True)
                entry = series.setdefault(key, {
                    "analysis": analysis, "name": row["name"], "labels": labels,
                    "model": row.get("model"), "unit": row["unit"], "values": [],
                })  # fmt: skip
                entry["values"].append({
                    "point": point["name"], "mean": row["mean"], "se": row["se"], "n": row["n"],
                    **({"labels": properties} if properties else {}),
                })  # fmt: skip
    return list(series.values())


def _same_test(analysis: str, name: str, comparison: Compared) -> str:
    """A comparison's identity by content: the same test on the same data at several points
    (e.g. product vs classical across depths, or any comparison when only an analysis
    parameter of another notebook is swept) is one hypothesis, not one per point."""
    return json.dumps([analysis, name, comparison.to_dict()], sort_keys=True, default=str)


def verdicts(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every comparison at every complete point, with its notebook's outcome (``in_point``)
    and, for the family's comparisons, the outcome corrected over the sweep (``outcome``):
    each analysis's distinct comparisons at all points form one Holm family; ``points_sharing``
    counts the points where the very same comparison (same data, same numbers) recurs."""
    families: dict[str, Family] = defaultdict(Family)
    rows, sharing = [], defaultdict(int)
    for point in points:
        for analysis, results in point["results"].items():
            for kind in ("comparisons", "exploratory"):
                for row in results.get(kind, []):
                    comparison = compared_of(row)
                    test = _same_test(analysis, row["name"], comparison)
                    if kind == "comparisons":
                        sharing[test] += 1
                        if test not in families[analysis].comparisons:
                            families[analysis].add(test, comparison)
                    rows.append({
                        "analysis": analysis, "name": row["name"], "point": point["name"],
                        "exploratory": kind == "exploratory", "comparison": comparison,
                        "comparative": row.get("comparative", "higher"),
                        "in_point": row["outcome"], "test": test,
                    })  # fmt: skip
    decided = {analysis: family.decisions() for analysis, family in families.items()}
    found = []
    for row in rows:
        comparison, test = row.pop("comparison"), row.pop("test")
        decision = None if row["exploratory"] else decided[row["analysis"]][test]
        found.append({
            **row, "difference": getattr(comparison, "difference", math.nan),
            "name_a": comparison.names[0], "name_b": comparison.names[1],
            "margin": comparison.margin, "unit": comparison.unit,
            "outcome": decision.outcome if decision else row["in_point"],
            "conclusion": conclusion(comparison, decision, row["comparative"]) if decision else "",
            "low": decision.low if decision else math.nan,
            "high": decision.high if decision else math.nan,
            "confidence": decision.confidence if decision else math.nan,
            "family_size": families[row["analysis"]].size if decision else 0,
            "points_sharing": sharing[test] if decision else 1,
        })  # fmt: skip
    return found


def _places(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def verdict_findings(
    rows: Sequence[Mapping[str, Any]], n_complete: int, n_points: int
) -> list[str]:
    """One sentence per family comparison across the complete points: where it concluded
    what, after the sweep's correction; a comparison identical at every point is said once."""
    by_name: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if not row["exploratory"]:
            by_name[(row["analysis"], row["name"])].append(row)
    every = "at every point" if n_complete == n_points else (
        f"at every complete point ({n_complete} of {n_points})"
    )  # fmt: skip
    sentences = []
    for (_analysis, name), found in by_name.items():
        groups: dict[str, list[str]] = defaultdict(list)
        for row in found:
            groups[row["conclusion"]].append(row["point"])
        parts = [
            f"{every if len(where) == n_complete else _places(where)}: {words}"
            for words, where in groups.items()
        ]
        same = len(found) > 1 and all(row["points_sharing"] == len(found) for row in found)
        note = "; the same comparison on the same heads at each point" if same else ""
        size = found[0]["family_size"]
        sentences.append(
            f"{name} — {'; '.join(parts)} (Holm-corrected over the {size} distinct "
            f"comparisons of this analysis in the sweep{note})."
        )
    return sentences


def _matches(series: Mapping[str, Any], analysis: str, name: str, labels: Mapping) -> bool:
    return (series["analysis"], series["name"]) == (analysis, name) and all(
        series["labels"].get(key) == value for key, value in labels.items()
    )


def _spread(counts: Sequence[int]) -> str:
    low, high = min(counts), max(counts)
    return f"{low}" if low == high else f"{low}-{high}"


def trend_finding(series: Mapping[str, Any], parameter: str, x: Sequence[Any]) -> str | None:
    """A key measure of one model along the swept ``parameter`` (its values ``x``), in words:
    first and last value, highest and lowest, and (numeric values, three points or more)
    Spearman's ρ of the means against them, descriptive (no test: the points share seeds and
    data); "constant" when it does not move; None with fewer than two defined values."""
    kept = [(v, at) for v, at in zip(series["values"], x, strict=True) if math.isfinite(v["mean"])]
    if len(kept) < 2:
        return None
    values, x = [v for v, _ in kept], [at for _, at in kept]
    means = np.array([v["mean"] for v in values])
    unit = f"{series['unit']}, n = {_spread([v['n'] for v in values])}"

    def at(i: int) -> str:
        error = values[i]["se"]
        spread = f" ± {error:.2g}" if math.isfinite(error) else " (SE n/a)"
        return f"{means[i]:.3g}{spread} at {parameter}={x[i]}"

    who = f"{series['model']} model's " if series["model"] else ""
    head = f"The {who}{series['name']} (mean ± SE over {unit})"
    where = f"every {parameter}" if len(kept) == len(series["values"]) else (
        f"every {parameter} where it is defined ({len(kept)} of {len(series['values'])})"
    )  # fmt: skip
    if np.abs(means).max() <= ROUNDING:
        return f"{head} is 0 to rounding (at most {np.abs(means).max():.1g}) at {where}."
    if np.ptp(means) <= ROUNDING * np.abs(means).max():
        return f"{head} is {means[0]:.3g} at {where}."
    text = f"{head} goes from {at(0)} to {at(-1)}"
    if len(values) > 2:
        text += f"; highest {at(int(np.argmax(means)))}, lowest {at(int(np.argmin(means)))}"
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
    if numeric and len(values) >= 3:
        rho = stats.spearmanr(np.asarray(x, dtype=float), means).statistic
        text += (
            f" (Spearman ρ of the means {rho:+.2f} over {len(values)} points; descriptive, not "
            "a test: the points share seeds and data)"
        )
    return text + "."


def _subsets(
    swept: Mapping[str, Sequence[Any]], points: Sequence[Mapping[str, Any]]
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The points in runs along the first swept parameter: one run per combination of the
    others (named by it, "" when only one parameter is swept)."""
    first, *others = list(swept)
    runs: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for point in points:
        label = ", ".join(f"{name}={point['values'][name]}" for name in others)
        runs[label].append(point)
    return [
        (label, sorted(found, key=lambda p: list(swept[first]).index(p["values"][first])))
        for label, found in runs.items()
    ]


def trend_findings(
    swept: Mapping[str, Sequence[Any]], points: Sequence[Mapping[str, Any]], found: Sequence[dict]
) -> list[str]:
    """:func:`trend_finding` of every key measure (:data:`KEY_MEASURES`) and model along the
    first swept parameter."""
    first = next(iter(swept))
    sentences = []
    for label, run in _subsets(swept, points):
        order = {point["name"]: i for i, point in enumerate(run)}
        for analysis, name, labels in KEY_MEASURES:
            for series in (s for s in found if _matches(s, analysis, name, labels)):
                values = sorted(
                    (v for v in series["values"] if v["point"] in order),
                    key=lambda v: order[v["point"]],
                )
                if len(values) < 2:
                    continue
                x = [run[order[v["point"]]]["values"][first] for v in values]
                sentence = trend_finding({**series, "values": values}, first, x)
                if sentence:
                    sentences.append(f"{sentence[:-1]}, {label}." if label else sentence)
    return sentences


def work_finding(computed: Sequence[Mapping[str, Any]]) -> str:
    """What the points computed and shared (``<cache_dir>/computed.jsonl`` during the sweep)."""
    count: dict[str, int] = defaultdict(int)
    for line in computed:
        count[line["what"]] += 1

    def times(n: int, what: str) -> str:
        return f"{n} {what}{'s' * (n != 1)}"

    return (
        "During this sweep the points extracted backbone features "
        f"{times(count['features'], 'time')}"
        " (once per split and data configuration not cached before), trained "
        f"{times(count['heads trained'], 'set')} of heads and reused "
        f"{times(count['heads reused'], 'set')} from the head cache."
    )


def summarise(
    swept: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any],
    records: Sequence[Mapping[str, Any] | None],
    folders: Sequence[Path],
    computed: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Everything ``sweep.json`` holds: the grid, every point's record, every measure, every
    verdict, what was computed, and the findings in words."""
    complete = [
        {**record, "results": point_results(folder)}
        for record, folder in zip(records, folders, strict=True)
        if record and record["status"] == "complete"
    ]
    found, compared = measures(complete), verdicts(complete)
    unfinished = [r for r in records if r and r["status"] != "complete"]
    status = f"{len(complete)} of {len(records)} points complete"
    if unfinished:
        status += "; " + "; ".join(f"{r['name']} {r['status']}: {r['error']}" for r in unfinished)
    findings = [status + ".", work_finding(computed)]
    findings += verdict_findings(compared, len(complete), len(records)) if complete else []
    findings += trend_findings(swept, complete, found) if complete else []
    return {
        "grid": dict(swept),
        "parameters": dict(fixed),
        "points": [dict(r) if r else None for r in records],
        "computed": list(computed),
        "measures": found,
        "verdicts": compared,
        "findings": findings,
    }
