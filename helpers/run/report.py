"""One self-contained HTML page from a pipeline run: ``python -m helpers.report --output-dir DIR``.

It reads the executed notebooks in ``DIR`` (as ``python -m helpers.pipeline --output-dir DIR``
writes them) and lays out their markdown, tables, printed results and figures, code hidden, for a
presentation. It opens with the run's findings (:mod:`helpers.run.headlines`), each linking to the
section that states it and to its key figure; the run's parameters and library versions close it,
in an appendix (a configuration printed as JSON in a notebook points there). Figures are
embedded as data URIs, so the page is one file with no external resources.

Every notebook is inspected first (:mod:`helpers.run.sections`). A notebook whose latest run
failed (``NN_name.failed.ipynb``), stopped part-way or cannot be read, and notebooks run with
different parameters, are problems: the report is refused, one line per problem, unless
``--allow-problems``; then a banner at the top lists them and each affected notebook's section
opens with a warning.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from nbconvert.filters import markdown2html

from helpers.config import PATH_PARAMETERS, WEIGHT_PRESETS, Config
from helpers.declare import of_notebook, parameters
from helpers.io import save_text
from helpers.model.checkpoints import library_versions
from helpers.run.executor import RUNNING
from helpers.run.findings import read_findings
from helpers.run.headlines import FINDINGS_ID, figure_id, findings_html
from helpers.run.sections import (
    NOT_IN_SOURCE,
    Problem,
    ReportProblemsError,
    Section,
    killed,
    latest_sections,
    page_command,
    page_parser,
    run_artifacts,
    tags,
)

REPORT_NAME = "report.html"
APPENDIX_ID = "appendix"

DIFFERS_NOTE = "Rows marked ⚠ differ between notebooks: each value with those that ran with it."
PER_NOTEBOOK_NOTE = (
    "An analysis's own parameters are those of the notebooks that declare them; where, or on "
    "which device, a notebook ran may differ between notebooks."
)
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
section.notebook { border-top: 3px solid #d62728; margin-top: 3em; padding-top: 1em; }
figure { margin: 1.5em 0; text-align: center; }
figure img { max-width: 100%; }
figcaption { color: #666; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
.anchor-link { display: none; }
.problems, .warning, tr.differs { background: #fff3cd; }
.problems { border: 3px solid #d62728; padding: 0.5em 1em; }
.warning { border-left: 6px solid #d62728; padding: 0.5em 1em; font-weight: bold; }
#findings { font-size: 0.92em; } #findings li { margin: 0.35em 0; }
#findings li.null { color: #555; } #findings li.neutral { color: #555; font-style: italic; }
#findings .caveat { display: block; font-size: 0.85em; color: #666; font-style: italic; }
"""


def _text(value: Any, name: str = "") -> str:
    """A parameter's value as the table shows it; a path as the absolute path it resolves to
    (``data`` and ``/repo/data`` are one folder)."""
    if name in PATH_PARAMETERS and isinstance(value, str) and value not in ("", *WEIGHT_PRESETS):
        return str(Config().path(value))
    return value if isinstance(value, str) else json.dumps(value)


def _parameters(sections: list[Section]) -> tuple[dict[str, dict[str, list[str]]], set[str]]:
    """Each parameter of the full configuration (defaults + papermill's overrides): its values
    with the notebooks that ran with each, the most common first; and the overridden names. An
    analysis's own parameter counts only in the notebooks that declare it (another notebook
    neither reads it nor is changed by it)."""
    defaults = Config().to_dict()
    used = {
        section.name: section.notebook.metadata.get("papermill", {}).get("parameters", {})
        for section in sections
        if section.notebook is not None
    }
    owned = parameters()
    overridden = {name for parameters in used.values() for name in parameters}
    values = {}
    for name in [*defaults, *sorted(overridden - set(defaults))]:
        readers = [n for n in used if name not in owned or name in _declared_by(n)] or list(used)
        groups: dict[str, list[str]] = {}
        for notebook in readers:
            value = used[notebook].get(name, defaults.get(name))
            groups.setdefault(_text(value, name), []).append(notebook)
        ordered = sorted(groups.items(), key=lambda group: -len(group[1]))
        values[name] = dict(ordered) or {_text(defaults.get(name), name): []}
    return values, overridden


def _declared_by(notebook: str) -> tuple[str, ...]:
    analysis = of_notebook(notebook)
    return analysis.declared if analysis is not None else ()


def _parameter_problems(values: dict[str, dict[str, list[str]]]) -> list[Problem]:
    """One problem per parameter that differs where it must not: a run parameter
    (:meth:`Config.run_names`) between any two notebooks, an analysis's own parameter between
    the notebooks that declare it. It concerns the notebooks off the common value."""
    must_agree = set(Config.run_names()) | set(parameters())
    return [
        Problem(
            f"parameter {name} differs between notebooks: "
            + "; ".join(f"{value} in {', '.join(names)}" for value, names in groups.items()),
            tuple(notebook for names in list(groups.values())[1:] for notebook in names),
        )
        for name, groups in values.items()
        if len(groups) > 1 and name in must_agree
    ]


def _table(cells: dict[str, str], marked: Collection[str] = ()) -> str:
    """A two-column table of names and HTML cells; ``marked`` rows highlighted."""
    rows = []
    for key, cell in cells.items():
        attribute = ' class="differs"' if key in marked else ""
        rows.append(f"<tr{attribute}><th>{html.escape(key)}</th><td>{cell}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _parameter_table(values: dict[str, dict[str, list[str]]], overridden: set[str]) -> str:
    """Overridden values in bold; where notebooks differ, each value with its notebooks (marked
    ⚠ where they must agree)."""
    cells = {}
    for name, groups in values.items():
        shown = [html.escape(value) for value in groups]
        if name in overridden:
            shown = [f"<strong>{value}</strong>" for value in shown]
        where = [f" in {html.escape(', '.join(names))}" for names in groups.values()]
        must = name in set(Config.run_names()) | set(parameters())
        cells[name] = (
            shown[0]
            if len(groups) == 1
            else ("⚠ differs: " if must else "per notebook: ")
            + "<br>".join(map("".join, zip(shown, where, strict=True)))
        )
    mixed = {name for name, groups in values.items() if len(groups) > 1}
    return _table(cells, mixed & (set(Config.run_names()) | set(parameters())))


def _json_dump(text: str) -> bool:
    """Whether a printed text is a JSON object or array (e.g. a configuration), kept out of the
    body of the report."""
    try:
        return text.lstrip().startswith(("{", "[")) and isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def _output_html(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream" and _json_dump(output["text"]):
        return f'<p><em>The configuration: see the <a href="#{APPENDIX_ID}">appendix</a>.</em></p>'
    if kind == "stream":
        return "" if output.get("name") == "stderr" else f"<pre>{html.escape(output['text'])}</pre>"
    if kind == "error":
        return f"<pre>{html.escape(output['ename'])}: {html.escape(output['evalue'])}</pre>"
    data = output.get("data", {})
    if "image/png" in data:
        name = output.get("metadata", {}).get("figure", "")
        caption = f"<figcaption>{html.escape(name)}.png</figcaption>" if name else ""
        source = "".join(data["image/png"]).replace("\n", "")
        return (
            f'<figure id="{html.escape(figure_id(name))}" data-figure="{html.escape(name)}">'
            f'<img alt="{html.escape(name)}" '
            f'src="data:image/png;base64,{source}">{caption}</figure>'
        )
    if "text/html" in data:
        return "".join(data["text/html"])
    if "text/markdown" in data:
        return markdown2html("".join(data["text/markdown"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(''.join(data['text/plain']))}</pre>"
    return ""


def notebook_html(section: Section, warnings: Collection[Problem] = ()) -> str:
    """One notebook as an HTML section, headed by its ``warnings``: markdown and outputs, code
    hidden."""
    parts = [f'<section class="notebook" id="{html.escape(section.name)}">']
    parts += [f'<p class="warning">⚠ {html.escape(str(problem))}</p>' for problem in warnings]
    for cell in section.notebook.cells if section.notebook is not None else []:
        if NOT_IN_SOURCE.union(["parameters"]).intersection(tags(cell)):
            continue
        if cell.cell_type == "markdown":
            parts.append(markdown2html(cell.source))
        elif cell.cell_type == "code":
            parts.extend(_output_html(output) for output in cell.get("outputs", []))
    parts.append("</section>")
    return "\n".join(parts)


def _banner(problems: list[Problem]) -> str:
    """The warning at the top of a page built despite problems ("" without problems)."""
    if not problems:
        return ""
    items = "".join(f"<li>{html.escape(str(problem))}</li>" for problem in problems)
    return (
        f'<div class="problems" role="alert"><strong>⚠ Not one complete run: {len(problems)} '
        f"problem{'s' * (len(problems) > 1)}, marked ⚠ below (built with --allow-problems)."
        f"</strong><ul>{items}</ul></div>"
    )


def build_report(
    directory: Path, output: Path | None = None, *, allow_problems: bool = False
) -> Path:
    """Write ``DIR/report.html`` (or ``output``) from the executed notebooks in ``directory``.

    Raises :class:`ReportProblemsError` when the notebooks have problems, unless
    ``allow_problems``: then the page lists them at the top and in the affected sections.
    """
    sections = latest_sections(directory)
    values, overridden = _parameters(sections)
    mixed = _parameter_problems(values)
    problems = [Problem(s.problem, (s.name,)) for s in sections if s.problem] + mixed
    problems += [killed(path) for path in sorted(directory.glob(f".[0-9][0-9]_*{RUNNING}"))]
    readable = {s.name: s.notebook for s in sections if s.notebook is not None}
    try:
        summary = findings_html(read_findings(run_artifacts(directory, readable), readable))
    except (ValueError, KeyError, OSError) as exc:  # a damaged, incomplete or unreadable artifact
        cause = f"the findings summary could not be built ({type(exc).__name__}: {exc})"
        why = str(exc) if isinstance(exc, ValueError) else f"{cause}; rerun its notebook."
        summary, problems = "", [*problems, Problem(why, ())]
    if problems and not allow_problems:
        raise ReportProblemsError(problems)
    warnings = {s.name: [p for p in problems if s.name in p.notebooks] for s in sections}
    contents = "".join(
        f'<li><a href="#{html.escape(name)}">{html.escape(name)}</a>{" ⚠" * bool(found)}</li>'
        for name, found in [(FINDINGS_ID, []), *warnings.items(), (APPENDIX_ID, [])]
    )
    versions = {name: html.escape(value) for name, value in library_versions().items()}
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Inside a hybrid quantum-classical network: report</title>
<style>{STYLE}</style></head><body>
{_banner(problems)}
<h1>Inside a hybrid quantum-classical network</h1>
<p>Report of the pipeline run in <code>{html.escape(str(directory))}</code>:
Mari et al.'s hybrid transfer-learning network and its classical twin.</p>
{summary}
<h2>Contents</h2><ol>{contents}</ol>
{"".join(notebook_html(section, warnings[section.name]) for section in sections)}
<section id="{APPENDIX_ID}"><h2>Appendix: run parameters</h2>
<p>Set for this run in bold; the others are the defaults. {PER_NOTEBOOK_NOTE}
{DIFFERS_NOTE * bool(mixed)}</p>
{_parameter_table(values, overridden)}
<h2>Library versions</h2>{_table(versions)}</section>
</body></html>
"""
    return save_text(page, output or directory / REPORT_NAME)


def embedded_figures(report: Path) -> list[str]:
    """Names of the figures embedded in a report (their ``data-figure`` attributes)."""
    text = report.read_text(encoding="utf-8")
    marker = 'data-figure="'
    names, start = [], text.find(marker)
    while start != -1:
        end = text.index('"', start + len(marker))
        names.append(html.unescape(text[start + len(marker) : end]))
        start = text.find(marker, end)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = page_parser(
        "python -m helpers.report", __doc__.splitlines()[0], REPORT_NAME,
        "build despite failed, partial, unreadable or mixed-parameter notebooks, marked",
    )  # fmt: skip
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"))
    args = parser.parse_args(argv)
    return page_command(
        lambda: build_report(args.output_dir, args.output, allow_problems=args.allow_problems),
        "report",
        ", with these problems marked at the top and in the notebooks' sections",
        lambda path: f"{path} ({len(embedded_figures(path))} figures)",
    )


if __name__ == "__main__":
    sys.exit(main())
