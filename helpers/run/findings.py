"""A run's findings, read from its files: every ``<artifacts_dir>/<analysis>/results.json``, the
test accuracy of every model and seed (``metrics.json``), and where the executed notebooks state
each analysis's verdicts and show its key figure.

Nothing here knows the notebooks: an analysis's section is the notebook whose output is tagged
with its name (:func:`helpers.present.tables.publish_results`), and its key figure is the one
its declaration names (:attr:`helpers.declare.Analysis.key_figure`) when that section drew it,
else the figure nearest before the verdicts. The report's summary and the slide deck both read
the run through :func:`read_findings`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from helpers.analysis.accuracy import test_accuracy_by_seed
from helpers.analysis.results import RESULTS_FILE
from helpers.config import Config
from helpers.declare import analyses
from helpers.estimates import mean_and_error
from helpers.present.findings import Headline, Verdict, headline, verdicts


@dataclass(frozen=True)
class Finding:
    """One analysis: its verdicts and headline, the notebook that states them (``section``,
    None if no executed notebook does) and the name of its key figure (None without one)."""

    analysis: str
    verdicts: list[Verdict]
    headline: Headline
    section: str | None
    figure: str | None


@dataclass(frozen=True)
class ModelAccuracy:
    """A model's test accuracy: per seed, and the mean ± SE over seeds (from ``metrics.json``)."""

    model: str
    per_seed: dict[int, float]
    mean: float
    se: float


@dataclass(frozen=True)
class Findings:
    """What a run found: the accuracy table, then one :class:`Finding` per analysis."""

    cfg: Config
    accuracy: list[ModelAccuracy]
    findings: list[Finding]

    @property
    def seeds(self) -> list[int]:
        return sorted({seed for row in self.accuracy for seed in row.per_seed})


def _outputs(notebook: NotebookNode) -> Iterator[tuple[int, dict]]:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            yield index, output


def stated_in(notebook: NotebookNode, analysis: str) -> int | None:
    """The index of the cell that published ``analysis``'s verdicts, None if none did."""
    for index, output in _outputs(notebook):
        if output.get("metadata", {}).get("analysis") == analysis:
            return index
    return None


def figures(notebook: NotebookNode) -> list[tuple[int, str]]:
    """The named figures a notebook showed (:func:`helpers.present.style.publish`), with their
    cell indices, in order."""
    return [
        (index, output["metadata"]["figure"])
        for index, output in _outputs(notebook)
        if output.get("metadata", {}).get("figure")
    ]


def key_figure(analysis: str, notebook: NotebookNode, cell: int) -> str | None:
    """The analysis's key figure in its section: the declared one if drawn (none if it declares
    none), else the last figure shown up to ``cell`` (where the verdicts are), else the first
    after it."""
    shown = figures(notebook)
    names = [name for _, name in shown]
    declared = {a.name: a for a in analyses()}.get(analysis)
    if declared is not None and (declared.key_figure is None or declared.key_figure in names):
        return declared.key_figure  # None: the analysis declares no figure (a table shows it)
    before = [name for index, name in shown if index <= cell]
    return (before or names or [None])[-1 if before else 0]


def finding(path: Path, sections: Mapping[str, NotebookNode]) -> Finding:
    """The :class:`Finding` of ``<analysis>/results.json``, located in the first of ``sections``
    (executed notebooks by name) that states its verdicts."""
    try:
        found = verdicts(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is not a readable results file ({type(exc).__name__}: {exc}): rerun the "
            f"notebook that writes the {path.parent.name} results"
        ) from exc
    analysis = path.parent.name
    for name, notebook in sections.items():
        cell = stated_in(notebook, analysis)
        if cell is not None:
            figure = key_figure(analysis, notebook, cell)
            return Finding(analysis, found, headline(found), name, figure)
    return Finding(analysis, found, headline(found), None, None)


def accuracy_table(cfg: Config) -> list[ModelAccuracy]:
    """Test accuracy per seed and mean ± SE over seeds of every trained model of the run."""
    rows = []
    for kind, per_seed in test_accuracy_by_seed(cfg).items():
        mean, error = mean_and_error(list(per_seed.values()))
        rows.append(ModelAccuracy(kind, per_seed, mean, error))
    return rows


def read_findings(artifacts_dir: str | Path, sections: Mapping[str, NotebookNode]) -> Findings:
    """The findings of the run whose artifacts are in ``artifacts_dir``, located in ``sections``
    (executed notebooks by name, in order), in the order of the sections stating them."""
    cfg = Config.for_notebook({"artifacts_dir": str(artifacts_dir)})
    found = [
        finding(path, sections) for path in sorted(cfg.artifacts_path.glob(f"*/{RESULTS_FILE}"))
    ]
    order = {name: index for index, name in enumerate(sections)}
    found.sort(key=lambda f: (order.get(f.section, len(order)), f.analysis))
    return Findings(cfg, accuracy_table(cfg), found)
