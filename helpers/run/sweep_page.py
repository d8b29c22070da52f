"""A sweep's pages: ``sweep.json`` (every number) and ``sweep.html`` (self-contained: findings
first, the points, the verdicts at every point, every measure against the swept parameters)."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.io import save_json, save_text
from helpers.present.style import figure_base64
from helpers.present.sweep import measure_figure
from helpers.run.report import REPORT_NAME
from helpers.run.sweep_grid import Grid
from helpers.run.sweep_results import summarise

SWEEP_JSON = "sweep.json"
SWEEP_PAGE = "sweep.html"
STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;
padding:3px 6px;text-align:left;vertical-align:top}.different{background:#fde2e1}
.equivalent{background:#e1f3e1}.inconclusive{background:#f3f3f3}.failed{color:#b00}
figure{margin:1em 0}img{max-width:100%}"""


def _cell(text: Any, css: str = "") -> str:
    return f'<td class="{css}">{html.escape(str(text))}</td>'


def _points_table(
    records: Sequence[Mapping[str, Any] | None], names: Sequence[str], output_dir: Path
) -> str:
    rows = ["<tr><th>point</th><th>status</th><th>attempts</th><th>minutes</th><th>error</th></tr>"]
    for name, record in zip(names, records, strict=True):
        if record is None:
            rows.append(f"<tr>{_cell(name)}{_cell('not run')}<td></td><td></td><td></td></tr>")
            continue
        report = f"{record['folder']}/{REPORT_NAME}"
        link = (
            f'<td><a href="{html.escape(report)}">{html.escape(name)}</a></td>'
            if (output_dir / report).is_file()
            else _cell(name)
        )
        status, minutes = record["status"], f"{record['seconds'] / 60:.1f}"
        rows.append(
            f"<tr>{link}{_cell(status, 'failed' if status != 'complete' else '')}"
            f"{_cell(len(record['attempts']))}{_cell(minutes)}"
            f"{_cell(record.get('error') or '')}</tr>"
        )
    return f"<table>{''.join(rows)}</table>"


def _verdict_tables(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """Per analysis: a comparison per row, a point per column, the sweep-corrected conclusion
    and the difference in each cell."""
    tables = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        if not row["exploratory"]:
            tables[row["analysis"]][row["name"]][row["point"]] = row
    parts = []
    for analysis, comparisons in tables.items():
        head = "".join(f"<th>{html.escape(name)}</th>" for name in names)
        body = []
        for name, at in comparisons.items():
            cells = []
            for point in names:
                row = at.get(point)
                if row is None:
                    cells.append("<td></td>")
                    continue
                difference = "" if math.isnan(row["difference"]) else f" ({row['difference']:+.3g})"
                cells.append(_cell(row["conclusion"].split(" (")[0] + difference, row["outcome"]))
            body.append(f"<tr>{_cell(name)}{''.join(cells)}</tr>")
        parts.append(
            f"<h3>{html.escape(analysis)}</h3><table><tr><th>comparison</th>{head}</tr>"
            f"{''.join(body)}</table>"
        )
    return "".join(parts)


def _figures(summary: Mapping[str, Any]) -> str:
    values_of = {r["name"]: r["values"] for r in summary["points"] if r}
    by_analysis = defaultdict(list)
    for series in summary["measures"]:
        by_analysis[series["analysis"]].append(series)
    figures = []
    for analysis, found in by_analysis.items():
        image = figure_base64(measure_figure(analysis, found, summary["grid"], values_of))
        figures.append(
            f'<figure><img alt="{html.escape(analysis)}" src="data:image/png;base64,{image}">'
            "</figure>"
        )
    return "".join(figures)


def write_sweep(
    output_dir: Path, grid: Grid, records: Sequence[Mapping[str, Any] | None],
    computed: Sequence[Mapping[str, Any]],
) -> Path:  # fmt: skip
    """Write ``sweep.json`` and ``sweep.html`` into ``output_dir`` for the points' ``records``
    (``point.json`` of each point of ``grid``, in order; None for one not run); return the page.

    Args:
        output_dir: The sweep's folder.
        grid: The sweep's grid.
        records: Each point's record, in the order of ``grid.points()``.
        computed: What the points computed (:func:`helpers.io.read_computed`).

    Returns:
        The path of ``sweep.html``.

    Example:
        >>> write_sweep(Path("outputs/sweep"), grid, records, [])  # doctest: +SKIP
    """
    points = grid.points()
    folders = [output_dir / point.folder for point in points]
    summary = summarise(grid.swept, grid.fixed, records, folders, computed)
    save_json(summary, output_dir / SWEEP_JSON)
    names = [point.name for point in points]
    fixed = ", ".join(f"{k}={v}" for k, v in grid.fixed.items()) or "none"
    swept = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in grid.swept.items())
    findings = "".join(f"<li>{html.escape(text)}</li>" for text in summary["findings"])
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sweep</title>"
        f"<style>{STYLE}</style></head><body><h1>Sweep over {html.escape(swept)}</h1>"
        f"<p>Fixed parameters: {html.escape(fixed)}. Every number is in {SWEEP_JSON}.</p>"
        f"<h2>Findings</h2><ul>{findings}</ul>"
        f"<h2>Points</h2>{_points_table(records, names, output_dir)}"
        "<h2>Verdicts at every point</h2><p>Each analysis's distinct comparisons at all points "
        "form one family, Holm-corrected over the sweep (a comparison repeated on the same heads "
        "at several points counts once); as in the notebooks, the analyses are separate "
        "families, not corrected together. The trend sentences are descriptive, not tests. "
        "The difference (b − a) is in brackets.</p>"
        f"{_verdict_tables(summary['verdicts'], names)}"
        f"<h2>Every measure against the swept parameters</h2>{_figures(summary)}</body></html>"
    )
    return save_text(page, output_dir / SWEEP_PAGE)
