"""One point of a sweep: its series run inside a Ray worker, its record, its outcome.

:func:`run_point` runs in the worker: one ``python -m helpers.pipeline`` process into the point's
folder, its output in ``pipeline.log``, killed with the worker if the worker dies (Linux). The
sweep writes the point's ``point.json`` (:class:`PointRun`) when it completes, fails for good or
is interrupted; a sweep started again skips the points whose record says complete with the same
parameters.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers.config import PROJECT_ROOT, Config
from helpers.io import save_json
from helpers.run.sweep_grid import Point

POINT_FILE = "point.json"  # <point>/point.json: the point's outcome, written by the sweep
ATTEMPT_FILE = ".attempt.json"  # <point>/.attempt.json: the running attempt's processes
LOG_FILE = "pipeline.log"  # <point>/pipeline.log: the point's series output, every attempt
STOP_LINES = ("[pipeline] stopped", "[pipeline] cannot start", "- ")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _die_with_parent() -> None:
    """In the point's process: get SIGKILL when the Ray worker that started it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_point(command: list[str], folder: str, threads: int) -> dict[str, Any]:
    """Inside a Ray worker: run one point's series (``command``) with its output in
    ``<folder>/pipeline.log`` and ``threads`` threads per library; its exit status and time."""
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}
    start = time.time()
    with (directory / LOG_FILE).open("ab") as log:
        log.write(f"\n[sweep] attempt started {time.ctime(start)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, stopped as one (stop_series)
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        attempt = {"host": socket.gethostname(), "worker_pid": os.getpid(), "pid": process.pid}
        save_json(attempt, directory / ATTEMPT_FILE)
        returncode = process.wait()
    return {"returncode": returncode, "started": start, "seconds": time.time() - start, **attempt}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def point_record(folder: Path) -> dict[str, Any] | None:
    """A point's ``point.json``, or None when it has none (never finished, or unreadable)."""
    return _read_json(folder / POINT_FILE)


def stopped_reason(folder: Path, returncode: int) -> str:
    """Why a point's series stopped: the pipeline's last ``stopped``/``cannot start`` lines."""
    try:
        lines = (folder / LOG_FILE).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    begun = [i for i, line in enumerate(lines) if line.startswith("[sweep] attempt")]
    said = [line for line in lines[max(begun, default=0) :] if line.startswith(STOP_LINES)]
    if returncode < 0:
        return f"its series was killed by {signal.Signals(-returncode).name}"
    return " ".join(said[-4:]) or f"its series exited with status {returncode} (see {LOG_FILE})"


def stop_series(folder: Path) -> None:
    """Stop the process group of an attempt's series whose Ray worker died or was cancelled
    (on this machine only; the series dies with its worker on Linux, this covers the rest)."""
    attempt = _read_json(folder / ATTEMPT_FILE)
    if attempt and attempt.get("host") == socket.gethostname():
        with contextlib.suppress(OSError, ValueError, KeyError):
            os.killpg(int(attempt["pid"]), signal.SIGKILL)  # its group: the series' own pid


@dataclasses.dataclass
class PointRun:
    """A point being swept: where it runs, its command and Ray resources, its attempts."""

    point: Point
    folder: Path
    command: list[str]
    run: dict[str, Any]  # what makes a point's record this sweep's: parameters, notebooks, ...
    cfg: Config
    attempts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    submitted: float = 0.0

    def current_record(self) -> dict[str, Any] | None:
        """The folder's ``point.json`` if it records this point as this sweep runs it (the
        same parameters, notebooks and settings), else None: another sweep's record is stale."""
        record = point_record(self.folder)
        return record if record and record.get("run") == self.run else None

    def is_complete(self) -> bool:
        """Whether the folder already holds this point, complete, as this sweep runs it."""
        record = self.current_record()
        return bool(record) and record["status"] == "complete"

    def write(self, status: str) -> dict[str, Any]:
        """Write the point's ``point.json`` (``complete``, ``failed`` or ``interrupted``)."""
        record = {
            "name": self.point.name,
            "values": self.point.values,
            "folder": self.folder.name,
            "status": status,
            "run": self.run,
            "attempts": self.attempts,
            "seconds": sum(attempt["seconds"] for attempt in self.attempts),
            "error": self.attempts[-1].get("error") if status != "complete" else None,
        }
        save_json(record, self.folder / POINT_FILE)
        (self.folder / ATTEMPT_FILE).unlink(missing_ok=True)
        return record
