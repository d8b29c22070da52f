"""A run's executed notebooks, and what keeps them from being one complete run; the report's and
the deck's shared command line.

Every notebook's copy from the latest run is read (the ``.failed`` one where it exists); a copy
that failed, stopped part-way, cannot be read, or a partial copy a killed run left behind, is a
:class:`Problem` naming the notebooks it concerns. The report and the deck refuse to be built
over problems (:class:`ReportProblemsError`) unless they are allowed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from helpers.config import RUN_CONFIG, Config
from helpers.run.executor import FAILED, RUNNING

NOT_IN_SOURCE = {"injected-parameters", "papermill-error-cell-tag"}  # cells papermill adds
CLEAN_EXITS = {("SystemExit", ""), ("SystemExit", "0")}  # error outputs papermill lets pass


@dataclass(frozen=True)
class Problem:
    """One thing that keeps the notebooks from being one complete run, and the notebooks it
    concerns (their names, e.g. ``03_saliency``)."""

    text: str
    notebooks: tuple[str, ...]

    def __str__(self) -> str:
        return self.text


class ReportProblemsError(RuntimeError):
    """The notebooks have problems (``problems``, one line each) and none were allowed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Section:
    """A notebook's copy from the latest run: ``notebook`` is None when the file is unreadable,
    ``problem`` says why the copy is not a complete run (None when it is)."""

    name: str
    path: Path
    notebook: nbformat.NotebookNode | None
    problem: str | None


def executed_notebooks(directory: Path) -> list[Path]:
    """The completed notebooks (``NN_name.ipynb``) of a run, in order; never ``.failed`` copies."""
    found = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(
            f"no executed notebooks (NN_*.ipynb) in {directory}: run "
            f"`python -m helpers.pipeline --output-dir {directory}` first."
        )
    return [path for path in found if not path.name.endswith(FAILED)]


def latest_sections(directory: Path) -> list[Section]:
    """Every notebook's copy from its latest run, in order: the ``.failed`` one where it exists."""
    latest = {path.name: path for path in executed_notebooks(directory)}
    for path in directory.glob(f"[0-9][0-9]_*{FAILED}"):
        latest[path.name.removesuffix(FAILED) + ".ipynb"] = path
    return [_load(latest[name]) for name in sorted(latest)]


def killed(partial: Path) -> Problem:
    """A partial copy the pipeline left behind: it was killed (e.g. SIGKILL) mid-notebook."""
    name = partial.name.removeprefix(".").removesuffix(RUNNING)
    return Problem(
        f"{partial}: a run was killed while {name} executed; {name}.ipynb, if any, is from an "
        "earlier run",
        (name,),
    )


def _first_line(text: object) -> str:
    return (str(text).strip().splitlines() or [""])[0]


def _load(path: Path) -> Section:
    """Read a notebook and say what, if anything, keeps it from being a complete run."""
    name = path.name.removesuffix(FAILED).removesuffix(".ipynb")
    notebook = None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # truncated JSON, not a notebook, undecodable: name the file
        error = exc.__cause__ or exc
        reason = f"not a readable notebook ({type(error).__name__}: {_first_line(error)})"
    else:
        reason = _unfinished(notebook)
    if path.name.endswith(FAILED):
        earlier = path.with_name(f"{name}.ipynb")
        before = "is from an earlier run" if earlier.exists() else "does not exist"
        reason = f"the latest run did not complete ({reason}); {earlier.name} {before}"
    return Section(name, path, notebook, reason and f"{path}: {reason}")


def tags(cell: dict[str, Any]) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _unfinished(notebook: nbformat.NotebookNode) -> str | None:
    """Why a notebook did not run to its end, or None: the pipeline's verdict, error outputs,
    papermill's exception flag, then (unless the pipeline says complete) unexecuted cells."""
    verdict = notebook.metadata.get("pipeline", {})
    status = verdict.get("status")
    if status not in (None, "complete"):
        message = _first_line(verdict.get("message", ""))
        return f"{status}: {message}" if message else str(status)
    cells = [cell for cell in notebook.cells if not NOT_IN_SOURCE.intersection(tags(cell))]
    code = [
        (f"cell {index} ({_first_line(cell.source)!r})", cell)
        for index, cell in enumerate(cells)
        if cell.cell_type == "code"
    ]
    for label, cell in code:
        for output in cell.get("outputs", []):
            error = (output.get("ename", ""), _first_line(output.get("evalue", "")))
            if output.get("output_type") == "error" and error not in CLEAN_EXITS:
                return f"failed in {label}: {': '.join(error)}"
    if notebook.metadata.get("papermill", {}).get("exception"):
        return "failed (papermill recorded an exception)"
    if status == "complete":
        return None
    for label, cell in code:
        ran = cell.get("metadata", {}).get("papermill", {}).get("status")
        if ran not in (None, "completed") or (cell.source.strip() and cell.execution_count is None):
            why = f"papermill status {ran!r}" if ran else "no execution count"
            return f"partial: {label} was not executed ({why})"
    return None


def run_artifacts(directory: Path, notebooks: Mapping[str, nbformat.NotebookNode]) -> Path:
    """The artifacts of the run in ``directory``: ``DIR/artifacts`` when it holds a run (also
    when the output folder was copied or moved), else the folder the notebooks recorded, else
    the default."""
    beside = directory / "artifacts"
    if (beside / RUN_CONFIG).is_file():
        return beside
    for notebook in notebooks.values():
        recorded = notebook.metadata.get("papermill", {}).get("parameters", {})
        if "artifacts_dir" in recorded:
            return Path(recorded["artifacts_dir"])
    return Config().artifacts_path


def page_parser(prog: str, description: str, name: str, allow: str) -> argparse.ArgumentParser:
    """The report's and deck's arguments: ``--output`` (default ``DIR/<name>``) and
    ``--allow-problems`` (``allow`` says what it lets through); the caller adds the folder."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--output", type=Path, default=None, help=f"default: DIR/{name}")
    parser.add_argument("--allow-problems", action="store_true", help=allow)
    return parser


def page_command(
    build: Callable[[], Path],
    kind: str,
    allowed: str = "",
    describe: Callable[[Path], str] = str,
) -> int:
    """Build a page, print where it went (``describe``) and return the exit code: 2 when its
    inputs are missing or unreadable, 1 when the notebooks have problems (``allowed``: what
    ``--allow-problems`` would do with them), else 0."""
    try:
        path = build()
    except (FileNotFoundError, ModuleNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except ReportProblemsError as exc:
        print(exc, file=sys.stderr)
        print(
            f"{kind} not built; add --allow-problems to build it anyway{allowed}", file=sys.stderr
        )
        return 1
    print(f"{kind}: {describe(path)}")
    return 0
