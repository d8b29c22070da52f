"""Run a grid of series runs on Ray: ``python -m helpers.sweep --grid NAME VALUE... [options]``.

Each point of the grid (:mod:`helpers.run.sweep_grid`) is one ``python -m helpers.pipeline`` run
into ``<output-dir>/<point>/``, executed by a Ray task. Ray starts locally by itself with
``--workers`` points at a time (default: one per core); ``--address`` joins a running cluster.
Points share the backbone-feature and trained-head caches of ``cache_dir``
(:func:`helpers.model.backbone.cached_features`, :mod:`helpers.model.head_cache`), so a feature
extraction or a head shared by several points is computed once.

A point that fails (its series stops, or the Ray worker running it dies) is run once more, then
reported with its error while the others go on. Each point's ``point.json`` says whether it is
complete; a sweep started again on the same folder runs only the points that are not complete
with the same parameters. Finally ``sweep.json`` and ``sweep.html`` (:mod:`helpers.run.sweep_page`)
gather every point's results. Exit status: 0 when every point completed, 1 when some failed,
2 when the grid is invalid (nothing started), 130/143 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from helpers.config import PROJECT_ROOT, Config, ConfigError
from helpers.io import error_summary, read_computed
from helpers.run.executor import SIGNALS, Interrupted
from helpers.run.pipeline import command_line, notebooks
from helpers.run.preflight import run_parameters
from helpers.run.sweep_grid import Grid, as_overrides, grid_from_arguments, grid_problems
from helpers.run.sweep_page import SWEEP_JSON, SWEEP_PAGE, write_sweep
from helpers.run.sweep_point import PointRun, run_point, stop_series, stopped_reason

RETRIES = 1  # a failed point runs once more
PROGRESS_SECONDS = 30.0  # a progress line at least this often
WAIT_SECONDS = 0.5  # how often the sweep looks for finished points and signals
POINT_MEMORY_MB = 2048  # a point's processes beyond its batch budget (memory_budget_mb)


class SweepError(ValueError):
    """A sweep that cannot start; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass
class Options:
    """How the points run: which notebooks, smoke settings, report pages, and on what."""

    smoke: bool = False
    only: tuple[str, ...] = ()
    report: bool = True
    workers: int | None = None
    address: str | None = None
    cpus_per_point: int = 1
    gpus_per_point: float | None = None  # None: 1 when the point's device is a GPU, else 0

    def pipeline_arguments(self) -> list[str]:
        only = ["--only", *self.only] if self.only else []
        return [*only, *([] if self.report else ["--no-report"])]


def _resources(cfg: Config, options: Options, gpus_there: bool) -> dict[str, float]:
    """A point's Ray resources from its configuration: CPUs, a GPU when it runs on one
    (``cuda``, or ``auto`` where the cluster has GPUs), memory (its batch budget and the
    processes around it)."""
    gpus = options.gpus_per_point
    if gpus is None:
        wants = cfg.device.startswith("cuda") or (cfg.device == "auto" and gpus_there)
        gpus = 1.0 if wants else 0.0
    memory = (cfg.memory_budget_mb + POINT_MEMORY_MB) * 2**20
    return {"num_cpus": options.cpus_per_point, "num_gpus": gpus, "memory": memory}


def prepare(grid: Grid, output_dir: Path, options: Options) -> list[PointRun]:
    """Every point's run, after checking the whole grid (raises :class:`SweepError`, naming
    every problem, before anything starts)."""
    chosen = [notebook.name for notebook in notebooks(options.only)]
    if not chosen:
        raise SweepError([f"no notebooks match --only {' '.join(options.only)}"])
    problems = grid_problems(grid, options.smoke, output_dir, chosen)
    if problems:
        raise SweepError(problems)
    runs = []
    for point in grid.points():
        folder = output_dir / point.folder
        parameters = grid.parameters(point)
        cfg = Config(**run_parameters(options.smoke, as_overrides(parameters), folder))
        command = [*command_line(folder, parameters, smoke=options.smoke)]
        command += options.pipeline_arguments()
        run = {"parameters": parameters, "smoke": options.smoke, "only": options.only,
               "report": options.report}  # fmt: skip
        runs.append(PointRun(point, folder, command, json.loads(json.dumps(run)), cfg))
    return runs


def _unschedulable(runs: list[PointRun], options: Options) -> list[str]:
    """The points no node of the Ray cluster can hold (CPUs, GPUs, memory), one line each:
    Ray would keep them pending for ever."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    gpus_there = any(node.get("GPU", 0) > 0 for node in nodes)
    problems = []
    for run in runs:
        asked = _resources(run.cfg, options, gpus_there)
        needs = {"CPU": asked["num_cpus"], "GPU": asked["num_gpus"], "memory": asked["memory"]}
        if not any(all(node.get(k, 0) >= v for k, v in needs.items() if v) for node in nodes):
            largest = {k: max((node.get(k, 0) for node in nodes), default=0) for k in needs}
            problems.append(
                f"point {run.point.name} asks Ray for {needs['CPU']:g} CPU, {needs['GPU']:g} GPU "
                f"and {needs['memory'] / 2**30:.1f} GiB, more than any node has (at most "
                f"{largest['CPU']:g} CPU, {largest['GPU']:g} GPU, "
                f"{largest['memory'] / 2**30:.1f} GiB): lower --cpus-per-point, "
                "--gpus-per-point or memory_budget_mb."
            )
    return problems


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


@contextlib.contextmanager
def _signals_noted() -> Iterator[list[int]]:
    """While the block runs, SIGINT and SIGTERM are noted in the yielded list instead of
    raising inside Ray's waiting (which must return first); the sweep checks it between waits."""
    noted: list[int] = []
    try:
        previous = {s: signal.signal(s, lambda n, _f: noted.append(n)) for s in SIGNALS}
    except ValueError:  # not the main thread: signals stay as they are
        previous = {}
    try:
        yield noted
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


class Scheduler:
    """Runs the points on Ray, a few at a time, retrying each once, and says how it goes."""

    def __init__(self, runs: list[PointRun], options: Options, slots: int) -> None:
        self.runs, self.options, self.slots = runs, options, slots
        self.queue = [run for run in runs if not run.is_complete()]
        self.total, self.kept = len(runs), len(runs) - len(self.queue)
        self.running: dict[Any, PointRun] = {}
        self.finished: list[PointRun] = []
        self.start = time.time()
        self.last_line = 0.0

    def say(self, text: str) -> None:
        print(f"[sweep] {text}", flush=True)

    def status_line(self) -> None:
        done = self.kept + sum(r.attempts[-1]["outcome"] == "complete" for r in self.finished)
        failed = len(self.finished) - (done - self.kept)
        elapsed = time.time() - self.start
        left = len(self.queue) + len(self.running)
        seconds = [run.attempts[-1]["seconds"] for run in self.finished]
        parallel = max(1, min(self.slots, left))
        estimate = (
            f", about {_minutes(sum(seconds) / len(seconds) * left / parallel)} left"
            if seconds and left
            else ""
        )
        running = "; ".join(run.point.name for run in self.running.values()) or "none"
        self.say(
            f"{done}/{self.total} complete, {failed} failed · running: {running} · "
            f"{_minutes(elapsed)} elapsed{estimate}"
        )
        self.last_line = time.time()

    def _submit(self, remote: Any, gpus_there: bool) -> None:
        while self.queue and len(self.running) < self.slots:
            run = self.queue.pop(0)
            resources = _resources(run.cfg, self.options, gpus_there)
            task = remote.options(**resources).remote(
                run.command, str(run.folder), self.options.cpus_per_point
            )
            run.submitted = time.time()
            self.running[task] = run
            self.say(f"started {run.point.name} (attempt {len(run.attempts) + 1})")

    def _outcome(self, task: Any, run: PointRun) -> dict[str, Any]:
        import ray

        try:
            result = ray.get(task)
        except ray.exceptions.RayError as exc:
            died = isinstance(exc, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError)
            if died:
                stop_series(run.folder)  # what outlived its worker, before any retry starts
            error = "the Ray worker running it died" if died else error_summary(exc)
            return {"outcome": "failed", "error": error, "seconds": time.time() - run.submitted}
        if result["returncode"] == 0:
            return {**result, "outcome": "complete"}
        return {
            **result,
            "outcome": "failed",
            "error": stopped_reason(run.folder, result["returncode"]),
        }

    def _finish(self, task: Any) -> None:
        run = self.running.pop(task)
        attempt = self._outcome(task, run)
        run.attempts.append(attempt)
        if attempt["outcome"] == "complete":
            run.write("complete")
            self.finished.append(run)
            self.say(f"{run.point.name} complete in {_minutes(attempt['seconds'])}")
        elif len(run.attempts) <= RETRIES:
            self.queue.insert(0, run)
            self.say(f"{run.point.name} failed ({attempt['error']}); running it again")
        else:
            run.write("failed")
            self.finished.append(run)
            self.say(f"{run.point.name} failed again ({attempt['error']}); the others go on")

    def run(self) -> None:
        """Run every point not complete yet; on SIGINT/SIGTERM stop the running ones, mark
        them interrupted and raise :class:`Interrupted`."""
        import ray

        remote = ray.remote(max_retries=0)(run_point)
        gpus_there = ray.cluster_resources().get("GPU", 0) > 0
        self.say(
            f"{self.total} points, {self.kept} complete already (kept), {len(self.queue)} to run"
        )
        try:
            with _signals_noted() as stop:
                while self.queue or self.running:
                    self._submit(remote, gpus_there)
                    done, _ = ray.wait(list(self.running), num_returns=1, timeout=WAIT_SECONDS)
                    for task in done:
                        self._finish(task)
                    if stop:
                        raise Interrupted(stop[0])
                    if done or time.time() - self.last_line >= PROGRESS_SECONDS:
                        self.status_line()
        except Interrupted:
            for task, run in self.running.items():
                ray.cancel(task, force=True)
                stop_series(run.folder)
                run.attempts.append({"outcome": "interrupted", "error": "the sweep was stopped",
                                     "seconds": time.time() - run.submitted})  # fmt: skip
                run.write("interrupted")
            raise


def _start_ray(options: Options) -> int:
    """Join ``options.address``'s cluster, or start Ray here with a core per point's CPUs;
    return how many points run at once (``--workers``, else what the CPUs hold)."""
    import ray

    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    if options.address:
        ray.init(address=options.address, **quiet)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return options.workers or max(1, cpus // options.cpus_per_point)
    workers = options.workers or max(1, (os.cpu_count() or 1) // options.cpus_per_point)
    ray.init(num_cpus=workers * options.cpus_per_point, object_store_memory=2**27, **quiet)
    return workers


def _computed(runs: list[PointRun], output_dir: Path, since: float) -> list[dict[str, Any]]:
    """What this sweep's points computed since it started, from every cache they use."""
    caches = {run.cfg.cache_path for run in runs}
    lines = [line for cache in caches for line in read_computed(cache, since=since)]
    return [line for line in lines if str(line.get("run", "")).startswith(str(output_dir))]


def sweep(
    grid: Grid | dict[str, Sequence[Any]],
    output_dir: str | Path,
    parameters: dict[str, Any] | None = None,
    options: Options | None = None,
) -> Path:
    """Run every point of ``grid`` (see the module docstring) and write ``sweep.html``.

    Args:
        grid: A :class:`Grid`, or the swept values by parameter name.
        output_dir: The sweep's folder: one sub-folder per point, ``sweep.json``, ``sweep.html``.
        parameters: Fixed parameters of every point (with a dict ``grid``).
        options: Notebooks, smoke settings, workers, cluster address (:class:`Options`).

    Returns:
        The path of ``sweep.html``.

    Example:
        >>> sweep({"q_depth": [0, 2, 4]}, "outputs/depth", options=Options(only=("01", "02")))
        ... # doctest: +SKIP
    """
    grid = grid if isinstance(grid, Grid) else Grid(dict(grid), dict(parameters or {}))
    options = options or Options()
    output_dir = Path(output_dir).resolve()
    runs = prepare(grid, output_dir, options)
    started = time.time()
    slots = _start_ray(options)
    import ray

    problems = _unschedulable(runs, options)
    if problems:
        ray.shutdown()
        raise SweepError(problems)
    try:
        Scheduler(runs, options, slots).run()
    finally:
        ray.shutdown()
        page = output_dir / SWEEP_PAGE
        try:
            write_sweep(output_dir, grid, [run.current_record() for run in runs],
                        _computed(runs, output_dir, started))  # fmt: skip
        except Exception as exc:  # the points' own folders are written; say why the pages are not
            print(f"[sweep] the sweep pages could not be written: {error_summary(exc)}")
    return page


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--grid", nargs="+", action="append", default=[],
                        metavar=("NAME", "VALUE"), help="sweep a parameter over values (repeat "
                        "for a grid); values as with -p, e.g. --grid q_depth 0 2 4")  # fmt: skip
    parser.add_argument("--grid-file", type=Path, help="a YAML or JSON grid (see the README)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a parameter of every point")  # fmt: skip
    parser.add_argument("--output-dir", type=Path, default=PROJECT_ROOT / "outputs" / "sweep",
                        help="the sweep's folder (a sub-folder per point)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="smoke settings for every point")
    parser.add_argument("--only", nargs="+", default=[], metavar="PREFIX",
                        help="the notebooks each point runs (default: all)")  # fmt: skip
    parser.add_argument("--no-report", action="store_true", help="no report and deck per point")
    parser.add_argument("--workers", type=int, help="points at a time (default: one per core)")
    parser.add_argument("--address", help="join this Ray cluster (e.g. auto, or HOST:6379)")
    parser.add_argument("--cpus-per-point", type=int, default=1, help="Ray CPUs per point")
    parser.add_argument("--gpus-per-point", type=float, default=None,
                        help="Ray GPUs per point (default: 1 if its device is cuda)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    options = Options(
        smoke=args.smoke, only=tuple(args.only), report=not args.no_report, workers=args.workers,
        address=args.address, cpus_per_point=args.cpus_per_point,
        gpus_per_point=args.gpus_per_point,
    )  # fmt: skip
    try:
        grid = grid_from_arguments(args.grid, args.parameter, args.grid_file)
        if not grid.swept:
            raise SweepError(["nothing to sweep: give --grid NAME VALUE... or --grid-file"])
        page = sweep(grid, args.output_dir, options=options)
    except (ConfigError, SweepError) as exc:
        print("[sweep] cannot start:", file=sys.stderr)
        for problem in exc.problems:
            print(f"- {problem}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"[sweep] stopped by {exc}; start it again to run what is missing", file=sys.stderr)
        return exc.exit_code
    print(f"[sweep] results: {page}")
    try:
        points = json.loads((page.parent / SWEEP_JSON).read_text())["points"]
    except (OSError, ValueError):  # the pages could not be written (said above)
        return 1
    return 0 if all(point and point["status"] == "complete" for point in points) else 1
