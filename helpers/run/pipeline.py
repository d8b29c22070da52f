"""Run the notebooks in order with papermill: ``python -m helpers.pipeline [--smoke] ...``.

Every notebook gets the same parameters (papermill injects them all; a notebook's own
``parameters`` cell declares only those it uses, the rest come from the run's configuration).
Executed notebooks land in ``--output-dir``; artifacts and figures in ``<output-dir>/artifacts``
unless ``-p artifacts_dir ...`` says otherwise; then ``<output-dir>/report.html`` (see
:mod:`helpers.run.report`) and the slide deck ``<output-dir>/deck.html`` (see
:mod:`helpers.run.deck`) unless ``--no-report``.

Checks every parameter and resource before the first notebook starts (exit 2, one line per
problem). A notebook that fails or is interrupted is kept as ``NN_name.failed.ipynb`` and the
run stops there, naming the notebook and cell (exit 1; 130 for SIGINT, 143 for SIGTERM); see
:mod:`helpers.run.executor`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.config import PROJECT_ROOT, Config, ConfigError
from helpers.declare import analyses, of_notebook
from helpers.run.deck import DECK_NAME, build_deck
from helpers.run.executor import (
    Interrupted,
    NotebookFailedError,
    execute,
    free_space,
    interruptible,
    remove_stale_connections,
)
from helpers.run.preflight import (
    changed_since_training,
    recorded_run,
    resource_problems,
    run_parameters,
)
from helpers.run.report import REPORT_NAME, build_report
from helpers.run.sections import ReportProblemsError

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


def notebooks(only: Sequence[str] = (), folder: Path | None = None) -> list[Path]:
    """The declared notebooks of the series (:func:`helpers.declare.analyses`) in order, or,
    given another ``folder``, its numbered notebooks; only those whose names start with one of
    ``only``, if given."""
    if folder is None or folder.resolve() == NOTEBOOK_DIR.resolve():
        found = [NOTEBOOK_DIR / f"{analysis.notebook}.ipynb" for analysis in analyses()]
    else:
        found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    return [nb for nb in found if not only or any(nb.name.startswith(p) for p in only)]


def execute_series(
    parameters: dict[str, Any], output_dir: Path, chosen: Sequence[Path]
) -> list[tuple[str, float]]:
    """Execute the notebooks in order; return (name, seconds) of each. Raises
    :class:`NotebookFailedError` on the first one that does not complete."""
    output_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    for notebook in chosen:
        start = time.perf_counter()
        print(f"[pipeline] running {notebook.name}", flush=True)
        execute(notebook, output_dir, parameters, cwd=notebook.parent)
        timings.append((notebook.name, time.perf_counter() - start))
        print(f"[pipeline] {notebook.name} done in {timings[-1][1]:.1f} s", flush=True)
    return timings


def command_line(
    output_dir: Path, parameters: Mapping[str, Any], *, smoke: bool = False
) -> list[str]:
    """The command that runs the series into ``output_dir`` with ``parameters`` (lists and
    other non-strings as JSON), in a new Python process of this interpreter.

    Args:
        output_dir: The run's output folder.
        parameters: Parameter values by name.
        smoke: Whether to add ``--smoke``.

    Returns:
        The argument list (``subprocess.run`` it from the repository root).

    Example:
        >>> command_line(Path("out"), {"seeds": [0, 1]}, smoke=True)[-4:]
        ['-p', 'seeds', '[0, 1]', '--smoke']
    """
    command = [sys.executable, "-m", "helpers.pipeline", "--output-dir", str(output_dir)]
    for name, value in parameters.items():
        command += ["-p", name, value if isinstance(value, str) else json.dumps(value)]
    return [*command, "--smoke"] if smoke else command


def _runs_with(notebook: Path, models: list[str]) -> bool:
    analysis = of_notebook(notebook.name)
    return analysis is None or analysis.runs_with(models)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
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
        help="set a notebook parameter (repeatable); relative paths are resolved against the "
        "repository root",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="run only notebooks whose names start with these prefixes",
    )
    parser.add_argument(
        "--notebook-dir",
        type=Path,
        default=None,
        help="run the numbered notebooks of another folder (default: the project's notebooks/)",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip the HTML report and slide deck (DIR/report.html, DIR/deck.html) built after "
        "the notebooks",
    )
    return parser.parse_args(argv)


def _cannot_start(problems: Sequence[str]) -> int:
    print("[pipeline] cannot start:", file=sys.stderr)
    for problem in problems:
        print(f"- {problem}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    chosen = notebooks(args.only, args.notebook_dir)
    if not chosen:
        folder = args.notebook_dir or NOTEBOOK_DIR
        return _cannot_start([f"no notebooks match {args.only} in {folder}"])
    try:
        recorded = recorded_run(args.output_dir, args.parameter) if args.only else {}
        parameters = run_parameters(args.smoke, args.parameter, args.output_dir, recorded)
    except ConfigError as exc:
        return _cannot_start(exc.problems)
    cfg = Config(**parameters)
    if "models" in parameters or cfg.q_depth == 0:  # q_depth 0 drops product: said below
        parameters["models"] = cfg.models
    for note in cfg.notes():
        print(f"[pipeline] note: {note}")
    models = cfg.models
    for notebook in [nb for nb in chosen if not _runs_with(nb, models)]:
        needs = " or ".join(of_notebook(notebook.name).needs)
        print(f"[pipeline] skipping {notebook.name}: it needs the {needs} model (models={models})")
        chosen.remove(notebook)
    names = [notebook.name for notebook in chosen]
    problems = changed_since_training(parameters, recorded, names)
    problems += resource_problems(Config(**parameters), args.output_dir, names)
    if problems:
        return _cannot_start(problems)
    remove_stale_connections()  # a run killed with SIGKILL left its kernels' files behind
    with interruptible():
        try:
            timings = execute_series(parameters, args.output_dir, chosen)
        except NotebookFailedError as exc:
            kept = f"; its partial run is in {exc.kept}" if exc.kept else ""
            _pages_kept(args.output_dir)
            print(
                f"[pipeline] stopped: {exc}{kept}; earlier outputs are untouched", file=sys.stderr
            )
            return exc.exit_code
        except Interrupted as exc:
            _pages_kept(args.output_dir)
            print(f"[pipeline] stopped by {exc} between notebooks", file=sys.stderr)
            return exc.exit_code
        total = sum(seconds for _, seconds in timings)
        print(f"[pipeline] {len(timings)} notebooks in {total:.1f} s; outputs in {args.output_dir}")
        return 0 if args.no_report else _report(args.output_dir)


def _pages_kept(output_dir: Path) -> None:
    """Say which earlier report and deck stay (they are replaced only by complete new ones)."""
    kept = [output_dir / page for page in (REPORT_NAME, DECK_NAME)]
    kept = [page for page in kept if page.is_file()]
    if kept:
        names = " and ".join(str(page) for page in kept)
        print(
            f"[pipeline] the last complete {names} stay as they were: they do not show this run",
            file=sys.stderr,
        )


def _report(output_dir: Path) -> int:
    try:
        print(f"[pipeline] report: {build_report(output_dir)}")
        print(f"[pipeline] slides: {build_deck(output_dir)}")
    except OSError as exc:  # e.g. a full disk: the earlier pages stay (atomic writes)
        _pages_kept(output_dir)
        print(
            f"[pipeline] stopped: the report and deck could not be written ({exc.strerror or exc}"
            f", {free_space(output_dir)})",
            file=sys.stderr,
        )
        return 1
    except ReportProblemsError as exc:
        print(
            f"[pipeline] report not built: {output_dir} is not one complete run:", file=sys.stderr
        )
        for problem in exc.problems:
            print(f"- {problem}", file=sys.stderr)
        _pages_kept(output_dir)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
