"""A slide deck of a pipeline run, beside its report: ``python -m helpers.deck DIR``.

One title slide, the model (the dressed circuit and the test accuracy over seeds), then one slide
per finding (:mod:`helpers.run.findings`): its Holm-corrected outcome and strongest comparison
above its key figure, with every comparison of its family on a slide below it (press ↓).

The deck is a notebook of slides exported by nbconvert's reveal.js exporter, through a template
that inlines everything the page needs: reveal.js 5 (CSS and script) from the ``sphinx-revealjs``
package, JupyterLab's output styles from nbconvert, and every figure as a data URI. Opened from a
file, it fetches nothing from the network. Navigate with the arrow keys; ``F`` for full screen.
"""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import jinja2
from nbconvert import SlidesExporter
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.config import Config
from helpers.io import save_text
from helpers.model.heads import configured_circuit
from helpers.present.effects import plot_effects
from helpers.present.style import figure_base64
from helpers.run.findings import Finding, Findings, figures, read_findings
from helpers.run.headlines import accuracy_html, caveat, title
from helpers.run.sections import (
    Problem,
    ReportProblemsError,
    latest_sections,
    page_command,
    page_parser,
    run_artifacts,
)

DECK_NAME = "deck.html"
REVEAL_ASSETS = ("dist/reveal.css", "dist/theme/white.css")
TEMPLATE = """{%- extends 'reveal/index.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ resources.deck.title | e }}</title>
{% for css in resources.deck.styles %}<style>{{ css }}</style>
{% endfor %}
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
<style>{{ resources.deck.style }}</style>
</head>
{%- endblock header -%}
{%- block footer_js -%}
<script>{{ resources.deck.script }}</script>
<script>
Reveal.initialize({hash: true, width: 1280, height: 720, margin: 0.03, transition: "none",
                   slideNumber: "c/t", center: false});
</script>
{%- endblock footer_js -%}
"""
STYLE = """
html, body.jp-Notebook, main, .reveal { height: 100%; margin: 0; padding: 0; overflow: hidden; }
.reveal .slides { text-align: left; }
.reveal { font-family: system-ui, sans-serif; font-size: 30px; }
.reveal h1, .reveal h2, .reveal h3 { font-family: system-ui, sans-serif; text-transform: none; }
.reveal h1 { font-size: 2.0em; margin-top: 1.5em; } .reveal h2 { font-size: 1.35em; }
.reveal .headline { font-size: 0.8em; line-height: 1.3; }
.reveal .outcome { font-weight: bold; } .reveal .null .outcome { color: #555; }
.reveal .caveat { font-size: 0.55em; color: #555; font-style: italic; }
.reveal .neutral .outcome { font-weight: normal; font-style: italic; color: #555; }
.reveal .jp-OutputArea-output img { display: block; margin: 0 auto; }
.reveal .jp-OutputArea-output img { max-height: 470px; max-width: 100%; }
.reveal .jp-RenderedHTMLCommon { font-size: 30px; }
.reveal table { margin: 0.5em auto; font-size: 0.85em; }
.reveal td, .reveal th { padding: 0.2em 0.6em; }
.reveal ul.comparisons { font-size: 0.6em; line-height: 1.3; }
.jp-InputPrompt, .jp-OutputPrompt, a.anchor-link { display: none; }
"""


def reveal_assets() -> tuple[list[str], str]:
    """reveal.js's style sheets and script, as shipped by the ``sphinx-revealjs`` package (read
    from its files; the package is not imported). The theme's web-font import is dropped."""
    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the slide deck needs reveal.js from the sphinx-revealjs package: "
            'pip install -e ".[dev]" (it is pinned in pyproject.toml)'
        )
    root = Path(spec.submodule_search_locations[0]) / "_static" / "revealjs"
    styles = [re.sub(r"@import url\([^)]*\);", "", (root / a).read_text()) for a in REVEAL_ASSETS]
    return styles, (root / "dist" / "reveal.js").read_text()


def _slide(cell: NotebookNode, kind: str = "slide") -> NotebookNode:
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def _figure(png: str, name: str) -> list[NotebookNode]:
    """A code cell (input hidden) showing the figure."""
    cell = new_code_cell("")
    cell.outputs = [new_output("display_data", data={"image/png": png}, metadata={"name": name})]
    return [_slide(cell, "-")]


def figure_pngs(sections: Mapping[str, NotebookNode]) -> dict[str, str]:
    """Every named figure of the executed notebooks: its PNG, base64-encoded."""
    found = {}
    for notebook in sections.values():
        for index, name in figures(notebook):
            for output in notebook.cells[index].outputs:
                if output.get("metadata", {}).get("figure") == name:
                    found[name] = "".join(output["data"]["image/png"]).replace("\n", "")
    return found


def _title_slide(cfg: Config) -> NotebookNode:
    return _slide(
        new_markdown_cell(
            "# Inside a hybrid quantum-classical network\n\n"
            "Mari et al.'s transfer-learning network (frozen ResNet18 + dressed "
            f"{cfg.n_qubits}-qubit circuit) beside its classical twin, opened with the tools of "
            "classical interpretability\n\n"
            f"<small>{' vs '.join(cfg.classes)} ({cfg.dataset}) · models: "
            f"{', '.join(cfg.models)} · {len(cfg.seeds)} seeds · circuit {cfg.circuit}, "
            f"{cfg.n_qubits} qubits, depth {cfg.q_depth}</small>"
        )
    )


def _model_slides(run: Findings, pngs: Mapping[str, str]) -> list[NotebookNode]:
    cfg = run.cfg
    circuit = next((name for name in pngs if name.endswith("_circuit")), None)
    spec = configured_circuit(cfg)
    inputs, outputs = len(spec.inputs), len(spec.observables)
    unentangled = ", and without its multi-qubit gates (weights trained)"
    unentangled = unentangled if "unentangled" in cfg.models else ""
    text = (
        "## The model\n\n"
        f"Frozen ResNet18 → 512 features → Linear 512→{inputs} → tanh·π/2 → {spec.name} circuit "
        f"({spec.n_qubits} qubits, depth {cfg.q_depth}) → {outputs} expectation values → "
        f"Linear {outputs}→{cfg.n_classes}. Classical twin: {cfg.classical_head}; controls: the "
        f"same head on the circuit's encoding alone{unentangled}."
    )
    accuracy = f"## Test accuracy over seeds\n\n{accuracy_html(run)}"
    return [
        _slide(new_markdown_cell(text)),
        *(_figure(pngs[circuit], circuit) if circuit else []),
        _slide(new_markdown_cell(accuracy)),
    ]


def _finding_slides(finding: Finding, run: Findings, pngs: Mapping[str, str]) -> list[NotebookNode]:
    """The headline above every comparison's effect (:func:`plot_effects`, drawn for a
    projector); below it (↓) the key figure of the notebook, then every comparison's sentence."""
    where = f" <small>({finding.section})</small>" if finding.section else ""
    headline = finding.headline
    text = (
        f"## {html.escape(title(finding))}{where}\n\n"
        f'<p class="headline {headline.kind}"><span class="outcome">'
        f"{html.escape(headline.outcome)}</span> {html.escape(headline.sentence)}</p>"
    )
    if note := caveat(finding, run):
        text += f'\n<p class="caveat">{html.escape(note)}</p>'
    if not finding.verdicts:
        return [_slide(new_markdown_cell(text))]
    unit = finding.verdicts[0].comparison.unit
    effects = plot_effects(finding.verdicts, f"Effect of each model pair, paired over {unit}")
    slides = [_slide(new_markdown_cell(text)), *_figure(figure_base64(effects), "effects")]
    if finding.figure in pngs:
        caption = f"### In the notebook: {finding.figure}"
        slides += [_slide(new_markdown_cell(caption), "subslide")]
        slides += _figure(pngs[finding.figure], finding.figure)
    sentences = "".join(f"<li>{html.escape(v.sentence())}</li>" for v in finding.verdicts)
    every = f'### Every comparison\n\n<ul class="comparisons">{sentences}</ul>'
    return [*slides, _slide(new_markdown_cell(every), "subslide")]


def deck_notebook(run: Findings, sections: Mapping[str, NotebookNode]) -> NotebookNode:
    """The deck as a notebook of slides (reveal.js metadata), every figure embedded."""
    pngs = figure_pngs(sections)
    cells = [_title_slide(run.cfg), *_model_slides(run, pngs)]
    for finding in run.findings:
        cells += _finding_slides(finding, run, pngs)
    return new_notebook(cells=cells, metadata={"title": "Inside a hybrid network"})


def deck_html(notebook: NotebookNode) -> str:
    """The slides as one self-contained reveal.js page."""
    exporter = SlidesExporter(
        extra_loaders=[jinja2.DictLoader({"deck.html.j2": TEMPLATE})],
        template_file="deck.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    styles, script = reveal_assets()
    deck = {"title": notebook.metadata["title"], "styles": styles, "style": STYLE, "script": script}
    body, _ = exporter.from_notebook_node(notebook, resources={"deck": deck})
    return body


def build_deck(
    directory: Path, output: Path | None = None, *, allow_problems: bool = False
) -> Path:
    """Write ``DIR/deck.html`` (or ``output``) from the executed notebooks in ``directory``.

    Raises :class:`ReportProblemsError` when a notebook did not complete, unless
    ``allow_problems`` (the report, built first by the pipeline, checks the rest)."""
    sections = latest_sections(directory)
    problems = [Problem(s.problem, (s.name,)) for s in sections if s.problem]
    if problems and not allow_problems:
        raise ReportProblemsError(problems)
    readable = {s.name: s.notebook for s in sections if s.notebook is not None}
    run = read_findings(run_artifacts(directory, readable), readable)
    return save_text(deck_html(deck_notebook(run, readable)), output or directory / DECK_NAME)


def main(argv: list[str] | None = None) -> int:
    parser = page_parser(
        "python -m helpers.deck", __doc__.splitlines()[0], DECK_NAME,
        "build despite notebooks that did not complete",
    )  # fmt: skip
    parser.add_argument("directory", type=Path, help="the pipeline's --output-dir")
    args = parser.parse_args(argv)
    return page_command(
        lambda: build_deck(args.directory, args.output, allow_problems=args.allow_problems),
        "deck",
    )


if __name__ == "__main__":
    sys.exit(main())
