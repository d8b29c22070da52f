"""Numbers as text: ``mean ± SE``, two-model verdicts and summary tables, and sentences and
tables for paired comparisons corrected as a family (:mod:`helpers.analysis.stats`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from helpers.analysis.results import Results
from helpers.analysis.stats import ALPHA, Compared, Comparison, Family
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


def _effect(comparison: Compared) -> str:
    """``b − a = mean ± SE``, or ``b / a = ratio [unadjusted 95% CI low, high]`` for a ratio."""
    a, b = comparison.names
    if isinstance(comparison, Comparison):
        return f"{b} − {a} = {format_value(comparison.difference, comparison.difference_se)}"
    c = comparison
    if np.isnan(c.low):
        return f"{b} / {a} = {c.ratio:#.3g}"
    interval = f"unadjusted {c.confidence:.0%} CI {c.low:#.3g}, {c.high:#.3g}"
    return f"{b} / {a} = {c.ratio:#.3g} [{interval}]"


def _sample(comparison: Compared) -> str:
    """``paired over 5 seeds`` (and the pairs dropped for a missing value, if any)."""
    unit = comparison.unit.removesuffix("s") if comparison.n == 1 else comparison.unit
    kind = "" if isinstance(comparison, Comparison) else "geometric-mean ratio, "
    k = comparison.n_dropped
    dropped = f", {k} incomplete pair{'s' if k > 1 else ''} dropped" if k else ""
    return f"{kind}paired over {comparison.n} {unit}{dropped}"


def describe_comparison(
    name: str,
    comparison: Compared,
    adjusted_p: float | None = None,
    family_size: int | None = None,
    comparative: str = "higher",
    alpha: float = ALPHA,
) -> str:
    """One sentence for a comparison in a Holm-corrected family of ``family_size`` (give its
    ``adjusted_p``), or, with neither given, an exploratory one on the uncorrected p-value:

    ``"{name}: b − a = 0.031 ± 0.012 (paired over 5 seeds; Holm-adjusted p = 0.04 in a family
    of 7): b higher."``, ending ``": no difference detectable at this sample size."`` when the
    p-value is not below ``alpha``. ``comparative`` says what the higher value means
    (``higher``, ``sharper``, ``more accurate``); every number comes from the arguments.
    """
    if (adjusted_p is None) != (family_size is None):
        raise ValueError("give both adjusted_p and family_size, or neither (exploratory)")
    if comparison.n < 2:  # one seed (or image): nothing to test, which is no null result
        plural = comparison.unit if comparison.unit.endswith("s") else f"{comparison.unit}s"
        return (
            f"{name}: {_effect(comparison)} ({_sample(comparison)}): not testable, a paired "
            f"test needs two or more {plural}."
        )
    if adjusted_p is None:
        p, test = comparison.p_value, _p_clause("exploratory, uncorrected p", comparison.p_value)
    else:
        p = adjusted_p
        test = f"{_p_clause('Holm-adjusted p', p)} in a family of {family_size}"
    if p < alpha:
        a, b = comparison.names
        if isinstance(comparison, Comparison):
            higher = comparison.difference > 0
        else:
            higher = comparison.ratio > 1
        conclusion = f"{b if higher else a} {comparative}"
    else:
        conclusion = "no difference detectable at this sample size"
    return f"{name}: {_effect(comparison)} ({_sample(comparison)}; {test}): {conclusion}."


def describe_family(
    family: Family, comparatives: Mapping[str, str] | None = None, alpha: float = ALPHA
) -> list[str]:
    """:func:`describe_comparison` for every comparison of ``family``, in the order added
    (``comparatives`` by name, ``"higher"`` by default)."""
    adjusted = family.adjusted()
    return [
        describe_comparison(
            name, c, adjusted[name], family.size, (comparatives or {}).get(name, "higher"), alpha
        )
        for name, c in family.comparisons.items()
    ]


def describe_results(results: Results, alpha: float = ALPHA) -> str:
    """The verdicts of an analysis as markdown: the family (Holm-corrected, its size stated),
    then any exploratory comparisons, labelled as such."""
    lines = [f"- {line}" for line in describe_family(results.family, results.comparatives, alpha)]
    lines += [
        f"- {describe_comparison(name, c, comparative=results.comparatives[name], alpha=alpha)}"
        for name, c in results.exploratory.items()
    ]
    return "\n".join(lines) or "- No comparison: fewer than two models or seeds."


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
