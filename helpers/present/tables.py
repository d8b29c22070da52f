"""Numbers as text: ``mean ± SE``, two-model verdicts and summary tables, and sentences and
tables for paired comparisons corrected as a family (:mod:`helpers.analysis.stats`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.family import Decision
from helpers.analysis.results import Results
from helpers.analysis.stats import Compared, Comparison
from helpers.config import Config


def format_value(mean: float, error: float) -> str:
    """``mean ± error`` with three decimals, or three significant digits for small values; the
    mean alone when the error is undefined (one unit), ``n/a`` when the mean is."""
    if np.isnan(mean):
        return "n/a"
    if np.isnan(error):
        return f"{mean:.3g}" if 0 < abs(mean) < 0.01 else f"{mean:.3f}"
    if 0 < abs(mean) < 0.01 or 0 < abs(error) < 0.0005:
        return f"{mean:.3g} ± {error:.2g}"
    return f"{mean:.3f} ± {error:.3f}"


def rows_frame(rows: list[dict[str, object]], index: list[str]) -> pd.DataFrame:
    """Rows of scores as a readable table: ``x`` and ``x_se`` become one ``mean ± SE`` column.

    Args:
        rows: Score rows (e.g. ``saliency.score_rows``); other floats are rounded to 3 decimals.
        index: The keys that index the table (kept as they are; others get spaces for ``_``).

    Returns:
        The table.

    Example:
        >>> rows = [{"model": "hybrid", "auc": 0.51234, "auc_se": 0.01, "images": 40}]
        >>> rows_frame(rows, ["model"]).to_dict("index")
        {'hybrid': {'auc': '0.512 ± 0.010', 'images': 40}}
    """
    table = []
    for row in rows:
        shown: dict[str, object] = {}
        for name, value in row.items():
            if name.endswith("_se") and name[:-3] in row:
                continue
            if f"{name}_se" in row:
                value = format_value(float(value), float(row[f"{name}_se"]))
            elif isinstance(value, float):
                value = round(value, 3)
            shown[name.replace("_", " ") if name not in index else name] = value
        table.append(shown)
    return pd.DataFrame(table).set_index(index)


def format_p(p: float) -> str:
    """A p-value as text: two significant digits, ``< 0.001`` below that, ``n/a`` if undefined."""
    if np.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def _p_clause(label: str, p: float) -> str:
    text = format_p(p)
    return f"{label} {text}" if text.startswith("<") else f"{label} = {text}"


def _bound(value: float) -> str:
    return "∞" if value == np.inf else "−∞" if value == -np.inf else f"{value:#.3g}"


def _interval(comparison: Compared, decision: Decision) -> str:
    """``[95% CI low, high]`` at the decision's level (the one that agrees with its outcome)."""
    if np.isnan(decision.low):
        return ""
    level = f"{100 * decision.confidence:.3g}%"
    return f" [{level} CI {_bound(decision.low)}, {_bound(decision.high)}]"


def _effect(comparison: Compared, decision: Decision) -> str:
    """``b − a = mean ± SE [CI]``, or ``b / a = ratio [CI]`` for a ratio."""
    a, b = comparison.names
    if isinstance(comparison, Comparison):
        value = format_value(comparison.difference, comparison.difference_se)
        return f"{b} − {a} = {value}{_interval(comparison, decision)}"
    return f"{b} / {a} = {comparison.ratio:#.3g}{_interval(comparison, decision)}"


def _sample(comparison: Compared) -> str:
    """``paired t over 5 seeds × 40 images`` (and the pairs dropped, if any)."""
    if comparison.n < 2:
        return f"paired over {comparison.n} {comparison.unit.split(' ')[0].removesuffix('s')}"
    method = comparison.method
    if not isinstance(comparison, Comparison):
        method = f"geometric-mean ratio, {method}"
    images = getattr(comparison, "n_images", 0)
    second = comparison.unit.split(" × ", 1)[-1]  # "images" or "image groups"
    units = (
        f"{comparison.n} seeds × {images} {second}"
        if images
        else f"{comparison.n} {comparison.unit}"
    )
    k = comparison.n_dropped
    what = second.removesuffix("s") if images else "pair"
    dropped = f", {k} incomplete {what}{'s' if k > 1 else ''} dropped" if k else ""
    return f"{method} over {units}{dropped}"


def margin_text(comparison: Compared) -> str:
    """The equivalence margin as the sentences state it: ``±0.02`` or ``×/÷ 1.25``."""
    if np.isnan(comparison.margin):
        return "no margin"
    if isinstance(comparison, Comparison):
        return f"±{comparison.margin:g}"
    return f"×/÷ {comparison.margin:g}"


def conclusion(comparison: Compared, decision: Decision, comparative: str = "higher") -> str:
    """What a decision concludes, in words: "b more accurate", "equivalent within ±Δ",
    "inconclusive at this sample size" or "not testable"."""
    if decision.outcome == "not testable":
        plural = comparison.unit.split(" ")[0]
        return f"not testable, a paired test needs two or more {plural}"
    if decision.outcome == "different":
        a, b = comparison.names
        if isinstance(comparison, Comparison):
            higher = comparison.difference > 0
        else:
            higher = comparison.ratio > 1
        within = f", by less than {margin_text(comparison)}" if decision.within_margin else ""
        return f"{b if higher else a} {comparative}{within}"
    if decision.outcome == "equivalent":
        return f"equivalent within {margin_text(comparison)}"
    if comparison.method == "exact sign-flip" and isinstance(comparison, Comparison):
        return _constant_conclusion(comparison)
    if np.isnan(comparison.margin):
        return "inconclusive at this sample size (no difference detected; no equivalence margin)"
    return (
        "inconclusive at this sample size (neither a difference nor equivalence within "
        f"{margin_text(comparison)} detected)"
    )


def _constant_conclusion(comparison: Comparison) -> str:
    """An inconclusive exact sign-flip test (every difference the same) in words."""
    cells = "image of every seed" if comparison.n_images else "seed"
    same = abs(comparison.difference) <= 1e-12
    fact = (
        f"the two agree exactly on every {cells}"
        if same
        else f"every {cells} differs by the same {comparison.difference:+.3g}"
    )
    if same and np.isnan(comparison.margin):
        return f"inconclusive: {fact}, but without an equivalence margin no test can conclude"
    n = comparison.n
    smallest = f"2/2^{n} for a difference" if not same else ""
    if abs(comparison.difference) < comparison.margin:  # False without a margin (NaN)
        smallest += f"{', ' if smallest else ''}1/2^{n} for equivalence"
    return (
        f"inconclusive at this sample size: {fact}, and the exact sign-flip test over {n} "
        f"seeds (smallest p {smallest}) does not pass the threshold"
    )


def describe_comparison(
    name: str,
    comparison: Compared,
    decision: Decision,
    comparative: str = "higher",
    family: tuple[int, int] | None = None,
) -> str:
    """One sentence for a comparison and its :class:`~helpers.analysis.stats.Decision`, in a
    Holm-corrected family of ``family = (comparisons, tests)`` or, without it, exploratory:

    ``"{name}: b − a = 0.031 ± 0.012 [98.8% CI 0.004, 0.058] (paired t over 5 seeds;
    Holm-adjusted p = 0.04, equivalence p = 0.3 over 8 tests of 4 comparisons): b higher."``
    The conclusion is :func:`conclusion`'s; ``comparative`` says what the higher value means
    (``higher``, ``sharper``, ``more accurate``); every number comes from the arguments.
    """
    head = f"{name}: {_effect(comparison, decision)} ({_sample(comparison)}"
    if decision.outcome == "not testable":
        return f"{head}): {conclusion(comparison, decision, comparative)}."
    equivalence = (
        "" if np.isnan(decision.equivalence_p) else
        f", {_p_clause('equivalence p', decision.equivalence_p)}"
    )  # fmt: skip
    if family is None:
        test = f"exploratory, {_p_clause('uncorrected p', decision.p)}{equivalence}"
    else:
        size, tests = family
        test = (
            f"{_p_clause('Holm-adjusted p', decision.p)}{equivalence} over {tests} "
            f"test{'s' * (tests != 1)} of {size} comparison{'s' * (size != 1)}"
        )
    return f"{head}; {test}): {conclusion(comparison, decision, comparative)}."


def describe_results(results: Results) -> str:
    """The verdicts of an analysis as markdown: the family (Holm-corrected, its size stated),
    then any exploratory comparisons, labelled as such."""
    decisions = results.decisions()
    family = (results.family.size, results.family.tests)
    lines = [
        describe_comparison(name, c, decisions[name], results.comparatives[name], family)
        for name, c in results.family.comparisons.items()
    ] + [
        describe_comparison(name, c, decisions[name], results.comparatives[name])
        for name, c in results.exploratory.items()
    ]
    return "\n".join(f"- {line}" for line in lines) or (
        "- No comparison: fewer than two models or seeds."
    )


def publish_results(results: Results, cfg: Config) -> None:
    """Save an analysis's ``results.json`` and, in a notebook, show its verdicts
    (:func:`describe_results`) tagged ``{"analysis": name}``: the report and the deck find the
    analysis's section by that tag, as they find figures by theirs.

    Args:
        results: the analysis's numbers and comparisons.
        cfg: the run's configuration (where ``results.json`` goes).

    Example:
        >>> publish_results(study.results(), cfg)  # doctest: +SKIP
    """
    import IPython
    from IPython.display import Markdown, display

    results.save(cfg)
    shell = IPython.get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        display(Markdown(describe_results(results)), metadata={"analysis": results.analysis})


def numbers_frame(results: Results, index: list[str]) -> pd.DataFrame:
    """The stated numbers as a table: ``mean ± SE`` with n and unit, indexed by ``index``.

    Args:
        results: The analysis' numbers.
        index: The number's labels that index the table (e.g. ``["name", "model"]``); a number
            without one of them gets ``""``.

    Returns:
        The table: ``mean ± SE``, ``n`` and ``unit`` columns.

    Example:
        >>> results = Results("demo")
        >>> _ = results.add("accuracy", [0.8, 0.9], "seeds", model="hybrid")
        >>> numbers_frame(results, ["name", "model"]).to_dict("index")
        {('accuracy', 'hybrid'): {'mean ± SE': '0.850 ± 0.050', 'n': 2, 'unit': 'seeds'}}
    """
    rows = [
        {
            **{key: row.get(key, "") for key in index},
            "mean ± SE": format_value(row["mean"], row["se"]),
            "n": row["n"],
            "unit": row["unit"],
        }
        for row in results.numbers
    ]
    return pd.DataFrame(rows).set_index(index)
