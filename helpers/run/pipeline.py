"""Run the notebooks in order with papermill: ``python -m helpers.pipeline [--smoke] ...``.

Every notebook gets the same parameters (papermill injects them all; a notebook's own
``parameters`` cell declares only those it uses, the rest come from the run's configuration).
Executed notebooks land in ``--output-dir``; artifacts and figures in ``<output-dir>/artifacts``
unless ``-p artifacts_dir ...`` says otherwise; then ``<output-dir>/report.html`` (see
:mod:`helpers.run.report`) unless ``--no-report``.
Exits non-zero naming the notebook and cell when one fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.config import PROJECT_ROOT, SMOKE_OVERRIDES, Config

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
KERNEL = "python3"


def notebooks(only: Sequence[str] = ()) -> list[Path]:
    """The numbered notebooks in order, optionally only those whose names start with ``only``."""
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    return [nb for nb in found if not only or any(nb.name.startswith(p) for p in only)]


def parse_value(text: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, booleans, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_parameters(
    smoke: bool, overrides: Sequence[tuple[str, str]], output_dir: Path
) -> dict[str, Any]:
    """Smoke settings (if asked), then ``-p`` overrides; ``artifacts_dir`` under the output."""
    parameters: dict[str, Any] = dict(SMOKE_OVERRIDES) if smoke else {}
    parameters["artifacts_dir"] = str((output_dir / "artifacts").resolve())
    for name, value in overrides:
        if name not in Config.field_names():
            raise SystemExit(
                f"unknown parameter {name!r}; valid: {', '.join(Config.field_names())}"
            )
        parameters[name] = parse_value(value)
    Config(**parameters)  # validate before starting any kernel
    return parameters


def preflight(parameters: dict[str, Any]) -> None:
    """Fail within seconds, naming everything missing, when data or weights cannot be had."""
    from helpers.model.backbone import WeightsUnavailableError, load_backbone
    from helpers.model.data import DataUnavailableError, load_splits

    cfg = Config(**parameters)
    problems = []
    for check in (lambda: load_splits(cfg), lambda: load_backbone(cfg.weights_source, cfg.seed)):
        try:
            check()
        except (DataUnavailableError, WeightsUnavailableError) as exc:
            problems.append(str(exc))
    if problems:
        raise ResourcesUnavailableError("\n".join(f"- {problem}" for problem in problems))


class ResourcesUnavailableError(RuntimeError):
    """Data or weights the run needs are missing and cannot be downloaded."""


class NotebookExecutionError(RuntimeError):
    """A notebook raised; the message names it, the cell and the error."""

    def __init__(
        self, notebook: str, executed: Path, cell: int, first_line: str, error: str
    ) -> None:
        super().__init__(
            f"{notebook} failed in cell {cell} ({first_line!r}): {error}\n"
            f"executed copy with the traceback: {executed}"
        )
        self.notebook, self.cell = notebook, cell


def _source_cell(executed: Path, executed_index: int) -> tuple[int, str]:
    """Index of a cell of the executed copy in the source notebook, and its first line.

    Papermill counts cells before it inserts its error banner, and after its injected
    parameters cell; neither is in the source notebook.
    """
    cells = [
        cell
        for cell in json.loads(executed.read_text())["cells"]
        if "papermill-error-cell-tag" not in cell.get("metadata", {}).get("tags", [])
    ]
    injected = sum(
        "injected-parameters" in cell.get("metadata", {}).get("tags", [])
        for cell in cells[:executed_index]
    )
    source = "".join(cells[executed_index]["source"]).strip().splitlines() or [""]
    return executed_index - injected, source[0]


def run(
    parameters: dict[str, Any], output_dir: Path, only: Sequence[str] = ()
) -> list[tuple[str, float]]:
    """Execute the notebooks; return (name, seconds) of each. Raises on the first failure."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # papermill warns about every injected parameter a notebook does not declare itself; here that
    # is by design (see the module docstring), and Config has validated every name already.
    logging.getLogger("papermill").setLevel(logging.ERROR)

    output_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    for notebook in notebooks(only):
        start = time.perf_counter()
        executed = output_dir / notebook.name
        print(f"[pipeline] running {notebook.name}", flush=True)
        try:
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=str(NOTEBOOK_DIR),
                progress_bar=False,
            )
        except PapermillExecutionError as exc:
            cell, first_line = _source_cell(executed, exc.cell_index)
            raise NotebookExecutionError(
                notebook.name, executed, cell, first_line, f"{exc.ename}: {exc.evalue}"
            ) from exc
        timings.append((notebook.name, time.perf_counter() - start))
        print(f"[pipeline] {notebook.name} done in {timings[-1][1]:.1f} s", flush=True)
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="offline demo: synthetic data, random weights, 32 px, one epoch",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=PROJECT_ROOT / "outputs",
        help="where executed notebooks, figures and artifacts go",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a notebook parameter (repeatable)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="run only notebooks whose names start with these prefixes",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip the HTML report (DIR/report.html) built after the notebooks",
    )
    args = parser.parse_args(argv)

    parameters = build_parameters(args.smoke, args.parameter, args.output_dir)
    if not notebooks(args.only):
        print(f"[pipeline] no notebooks match {args.only} in {NOTEBOOK_DIR}", file=sys.stderr)
        return 2
    try:
        preflight(parameters)
    except (ResourcesUnavailableError, ValueError) as exc:
        print(f"[pipeline] cannot start:\n{exc}", file=sys.stderr)
        return 2
    try:
        timings = run(parameters, args.output_dir, args.only)
    except NotebookExecutionError as exc:
        print(f"[pipeline] {exc}", file=sys.stderr)
        return 1
    total = sum(seconds for _, seconds in timings)
    print(f"[pipeline] {len(timings)} notebooks in {total:.1f} s; outputs in {args.output_dir}")
    if not args.no_report:
        from helpers.run.report import build_report

        print(f"[pipeline] report: {build_report(args.output_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
