"""The findings of a run as HTML: the accuracy table over seeds and models, and one line per
analysis (its Holm-corrected outcome and strongest comparison, with links to the section that
states it and to its key figure). The report opens with it; the slide deck reuses the table."""

from __future__ import annotations

import html

from helpers.analysis.stats import ALPHA
from helpers.declare import analyses
from helpers.present.tables import format_value
from helpers.run.findings import Finding, Findings

FINDINGS_ID = "findings"


def figure_id(name: str) -> str:
    """The HTML id of the report's figure ``name``."""
    return f"figure-{name}"


def accuracy_html(run: Findings) -> str:
    """Test accuracy: a row per model, a column per seed, then mean ± SE over seeds."""
    seeds = run.seeds
    head = "".join(f"<th>seed {seed}</th>" for seed in seeds)
    rows = []
    for row in run.accuracy:
        cells = "".join(
            f"<td>{row.per_seed[seed]:.3f}</td>" if seed in row.per_seed else "<td>–</td>"
            for seed in seeds
        )
        rows.append(
            f'<tr data-model="{html.escape(row.model)}"><th>{html.escape(row.model)}</th>{cells}'
            f"<td><strong>{format_value(row.mean, row.se)}</strong></td></tr>"
        )
    return (
        f'<table class="accuracy"><tr><th>test accuracy</th>{head}'
        f"<th>mean ± SE over {len(seeds)} seeds</th></tr>{''.join(rows)}</table>"
    )


def title(finding: Finding) -> str:
    """The analysis's declared title (:attr:`helpers.declare.Analysis.title`), else its name."""
    declared = {analysis.name: analysis.title for analysis in analyses()}
    return declared.get(finding.analysis) or finding.analysis.replace("_", " ").capitalize()


def caveat(finding: Finding, run: Findings) -> str:
    """The headline's caveat on conclusions that span notebooks: Holm corrects each notebook's
    tests alone, so the run's total is stated beside the notebook's."""
    tests = {f.analysis: (f.verdicts[0].family or (0, 0))[1] for f in run.findings if f.verdicts}
    total, notebooks = sum(tests.values()), sum(1 for n in tests.values() if n)
    own = tests.get(finding.analysis, 0)
    if not own or notebooks < 2:
        return ""
    return (
        f"Corrected within this notebook ({own} of the run's {total} tests in {notebooks} "
        "notebooks): a conclusion that combines notebooks is not covered by it."
    )


def _line(finding: Finding, run: Findings) -> str:
    links = []
    if finding.section:
        links.append(
            f'<a href="#{html.escape(finding.section)}">{html.escape(finding.section)}</a>'
        )
    if finding.figure:
        links.append(f'<a href="#{html.escape(figure_id(finding.figure))}">key figure</a>')
    where = f" ({' · '.join(links)})" if links else " (no executed notebook states these verdicts)"
    kind = finding.headline.kind
    note = caveat(finding, run)
    note = f' <span class="caveat">{html.escape(note)}</span>' if note else ""
    return (
        f'<li class="{kind}" data-analysis="{html.escape(finding.analysis)}">'
        f"<strong>{html.escape(title(finding))}</strong>{where}: "
        f"{html.escape(finding.headline.outcome)} {html.escape(finding.headline.sentence)}"
        f"{note}</li>"
    )


def findings_html(run: Findings) -> str:
    """The report's first screen: the accuracy table, then a line per analysis."""
    lines = "".join(_line(finding, run) for finding in run.findings)
    lines = lines or "<li>No analysis wrote a results.json.</li>"
    cfg = run.cfg
    notes = "".join(f'<p class="note">{html.escape(note)}</p>' for note in cfg.notes())
    return (
        f'<section id="{FINDINGS_ID}"><h2>Findings</h2>'
        f"<p>{html.escape(' vs '.join(cfg.classes))} ({html.escape(cfg.dataset)}); models trained "
        "once per seed and compared pair by pair, over seeds or, for a measure taken on every "
        "test image, over seeds × images (a crossed design: the verdict holds for new images "
        "too); each comparison tested for a difference and for equivalence within its stated "
        f"margin, each notebook's tests Holm-corrected as one family; α = {ALPHA:g}.</p>"
        f"{notes}{accuracy_html(run)}"
        f'<ul class="verdicts">{lines}</ul></section>'
    )
