"""One self-contained HTML page from a pipeline run: ``python -m helpers.report --output-dir DIR``.

It reads the executed notebooks in ``DIR`` (as ``python -m helpers.pipeline --output-dir DIR``
writes them) and lays out their markdown, tables, printed results and figures, code hidden, for a
presentation. The run's parameters and library versions come first. Figures are embedded as
data URIs, so the page is one file with no external resources.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.filters import markdown2html

from helpers.config import Config
from helpers.model.checkpoints import library_versions

REPORT_NAME = "report.html"
VERSIONED = (
    "torch",
    "torchvision",
    "qiskit",
    "qiskit-machine-learning",
    "qiskit-aer",
    "qiskit-ibm-runtime",
    "captum",
    "scikit-learn",
    "umap-learn",
    "papermill",
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
"""


def executed_notebooks(directory: Path) -> list[Path]:
    """The executed notebooks of a pipeline run, in order."""
    found = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(
            f"no executed notebooks (NN_*.ipynb) in {directory}: run "
            f"`python -m helpers.pipeline --output-dir {directory}` first."
        )
    return found


def _output_html(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
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
            f'<figure data-figure="{html.escape(name)}"><img alt="{html.escape(name)}" '
            f'src="data:image/png;base64,{source}">{caption}</figure>'
        )
    if "text/html" in data:
        return "".join(data["text/html"])
    if "text/markdown" in data:
        return markdown2html("".join(data["text/markdown"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(''.join(data['text/plain']))}</pre>"
    return ""


def notebook_html(path: Path) -> str:
    """One notebook as an HTML section: markdown and outputs, code hidden."""
    notebook = nbformat.read(path, as_version=4)
    parts = [f'<section class="notebook" id="{path.stem}">']
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            continue
        if cell.cell_type == "markdown":
            parts.append(markdown2html(cell.source))
        elif cell.cell_type == "code":
            parts.extend(_output_html(output) for output in cell.get("outputs", []))
    parts.append("</section>")
    return "\n".join(parts)


def _parameters(notebooks: list[Path]) -> tuple[dict[str, Any], set[str]]:
    """The run's full configuration (defaults + papermill's overrides) and the overridden names."""
    notebook = nbformat.read(notebooks[0], as_version=4)
    overrides = dict(notebook.metadata.get("papermill", {}).get("parameters", {}))
    return Config.from_namespace(overrides).to_dict(), set(overrides)


def _table(values: dict[str, Any], emphasised: set[str] = frozenset()) -> str:
    """A two-column table; the values of ``emphasised`` keys in bold."""
    rows = []
    for key, value in values.items():
        text = html.escape(value if isinstance(value, str) else json.dumps(value))
        text = f"<strong>{text}</strong>" if key in emphasised else text
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{text}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def build_report(directory: Path, output: Path | None = None) -> Path:
    """Write ``DIR/report.html`` (or ``output``) from the executed notebooks in ``directory``."""
    notebooks = executed_notebooks(directory)
    parameters, overridden = _parameters(notebooks)
    contents = "".join(
        f'<li><a href="#{path.stem}">{html.escape(path.stem)}</a></li>' for path in notebooks
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Inside a hybrid quantum-classical network: report</title>
<style>{STYLE}</style></head><body>
<h1>Inside a hybrid quantum-classical network</h1>
<p>Report of the pipeline run in <code>{html.escape(str(directory))}</code>:
Mari et al.'s hybrid transfer-learning network and its classical twin.</p>
<h2>Run parameters</h2><p>Set for this run in bold; the others are the defaults.</p>
{_table(parameters, overridden)}
<h2>Library versions</h2>{_table(library_versions(VERSIONED))}
<h2>Contents</h2><ol>{contents}</ol>
{"".join(notebook_html(path) for path in notebooks)}
</body></html>
"""
    output = output or directory / REPORT_NAME
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"))
    parser.add_argument("--output", type=Path, default=None, help="default: DIR/report.html")
    args = parser.parse_args(argv)
    try:
        path = build_report(args.output_dir, args.output)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"report: {path} ({len(embedded_figures(path))} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
