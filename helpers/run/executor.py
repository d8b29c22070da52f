"""Run one notebook with papermill so that nothing already written is lost or misreported.

The executed copy is written to a hidden file beside the output and renamed over
``NN_name.ipynb`` only when every cell ran. A notebook that raises, whose kernel dies, or that
SIGINT / SIGTERM stops is kept as ``NN_name.failed.ipynb`` and the previous complete copy stays;
each executed notebook records its outcome in ``metadata["pipeline"]`` (``status``: complete,
failed, kernel died, interrupted; ``message``). Every kernel started here is shut down, its
connection file removed, however the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from helpers.io import atomic_write
from helpers.progress import PROGRESS_ENV, TERMINAL

KERNEL = "python3"
STATUS = "pipeline"  # the executed notebook's metadata key for its outcome
SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The kernel's own log shows errors only: its start-up warning about TCP transport (a local
# kernel on the loopback interface) says nothing about the run.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, like KeyboardInterrupt, so no library's
    ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(self.signal.name)

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """While the block runs, the first SIGINT or SIGTERM raises :class:`Interrupted`; later ones
    are ignored so that shutting the kernel down completes."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        for name in SIGNALS:
            signal.signal(name, signal.SIG_IGN)
        raise Interrupted(signum)

    try:
        previous = {name: signal.signal(name, stop) for name in SIGNALS}
    except ValueError:  # not the main thread: signals stay as they are
        previous = {}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


CONNECTIONS = "hqnn-kernels-"  # <tmp>/hqnn-kernels-<pid>/: the connection files of one run


def connection_folder(pid: int | None = None) -> Path:
    """Where the kernels of the pipeline process ``pid`` (default: this one) keep their
    connection files."""
    return Path(tempfile.gettempdir()) / f"{CONNECTIONS}{pid or os.getpid()}"


def remove_stale_connections() -> list[Path]:
    """Remove the connection folders of pipelines that are no longer running (one killed with
    SIGKILL cannot clean up after itself); return them."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{CONNECTIONS}*"):
        pid = folder.name.removeprefix(CONNECTIONS)
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class TrackedKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, remembered so a kernel interrupted while starting is shut
    down too (nbclient cleans up only kernels that finished starting); its connection file is
    in this run's :func:`connection_folder`."""

    started: ClassVar[list[AsyncKernelManager]] = []

    def __init__(self, **kwargs: Any) -> None:
        folder = connection_folder()
        folder.mkdir(exist_ok=True)
        kwargs.setdefault("connection_file", str(folder / f"kernel-{uuid.uuid4()}.json"))
        super().__init__(**kwargs)
        self.started.append(self)


def shut_down_kernels() -> None:
    """Stop every kernel :class:`TrackedKernelManager` started and remove its files (and this
    run's connection folder once it is empty)."""
    while TrackedKernelManager.started:
        manager = TrackedKernelManager.started.pop()
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)
        run_sync(manager.cleanup_resources)()
    with contextlib.suppress(OSError):
        connection_folder().rmdir()


@dataclasses.dataclass
class NotebookFailedError(Exception):
    """A notebook that did not complete: how it ended, the message, the kept partial copy."""

    status: str
    message: str
    kept: Path | None = None
    exit_code: int = 1

    def __str__(self) -> str:
        return self.message


ENGINE = "hqnn"  # papermill's nbclient engine whose cell bar names the running cell
LABEL_WIDTH = 60


def cell_labels(cells: list[Any]) -> dict[int, str]:
    """A short label per code cell: the section it is in (the last markdown heading above it)
    and its first line, e.g. ``Scoring the maps · scores = saliency.score_methods(...``."""
    labels, section = {}, ""
    for index, cell in enumerate(cells):
        lines = [line.strip() for line in "".join(cell["source"]).splitlines() if line.strip()]
        if cell["cell_type"] == "markdown":
            headings = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
            section = headings[-1] if headings else section
        elif cell["cell_type"] == "code":
            first = next((line for line in lines if not line.startswith("#")), "")
            label = f"{section} · {first}" if section else first
            labels[index] = label if len(label) <= LABEL_WIDTH else label[: LABEL_WIDTH - 1] + "…"
    return labels


def _progress_engine() -> None:
    """Register :data:`ENGINE`: papermill's nbclient engine, whose per-notebook bar (cells done /
    total, elapsed, estimate) also shows the running cell's :func:`cell_labels`."""
    from papermill.engines import NBClientEngine, papermill_engines

    class LabelledEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            labels = cell_labels(nb_man.nb.cells)
            start = nb_man.cell_start

            def cell_start(cell: Any, cell_index: int | None = None, **options: Any) -> None:
                start(cell, cell_index, **options)
                if nb_man.pbar is not None and cell_index in labels:
                    nb_man.pbar.set_postfix_str(labels[cell_index], refresh=True)

            nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE, LabelledEngine)


FAILED = ".failed.ipynb"  # NN_name.failed.ipynb: the latest run of NN_name did not complete
RUNNING = ".running.ipynb"  # .NN_name.running.ipynb: the copy being executed


def failed_path(executed: Path) -> Path:
    """``NN_name.failed.ipynb`` beside ``NN_name.ipynb``."""
    return executed.with_name(executed.stem + FAILED)


def running_path(executed: Path) -> Path:
    """The hidden ``.NN_name.running.ipynb`` papermill writes while ``NN_name`` runs."""
    return executed.with_name(f".{executed.stem}{RUNNING}")


def source_cell(executed: Path, index: int | None = None) -> tuple[int | None, str]:
    """The source notebook's index and first line of executed cell ``index`` (default: the cell
    running when the run stopped). Papermill's error banner and injected parameters are not in
    the source notebook."""
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None, ""
    cells = [c for c in cells if "papermill-error-cell-tag" not in c["metadata"].get("tags", [])]
    if index is None:  # papermill marks every cell done at the end; the last one started ran
        started = [
            i for i, c in enumerate(cells) if c["metadata"].get("papermill", {}).get("start_time")
        ]
        if not started:
            return None, ""
        index = started[-1]
    injected = sum("injected-parameters" in c["metadata"].get("tags", []) for c in cells[:index])
    source = "".join(cells[index]["source"]).strip().splitlines() or [""]
    return index - injected, source[0]


def _where(name: str, partial: Path, index: int | None = None) -> str:
    cell, first_line = source_cell(partial, index)
    return (
        f"{name} before its first cell" if cell is None else f"{name}, cell {cell} ({first_line!r})"
    )


def _keep(partial: Path, target: Path, status: str, message: str = "") -> Path | None:
    """Move the executed copy to ``target`` with its outcome in the metadata (atomically)."""
    if not partial.is_file():
        return None
    try:
        notebook = nbformat.read(partial, as_version=4)
    except (OSError, ValueError):  # unreadable: keep the bytes as they are
        partial.replace(target)
        return target
    notebook.metadata[STATUS] = {"status": status, "message": message}
    atomic_write(target, lambda handle: handle.write(nbformat.writes(notebook).encode()))
    partial.unlink()
    return target


def execute(notebook: Path, output_dir: Path, parameters: dict[str, Any], cwd: Path) -> Path:
    """Execute ``notebook`` into ``output_dir`` (see the module docstring); return the executed
    copy, or raise :class:`NotebookFailedError` (after keeping the partial copy)."""
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    # papermill warns about every injected parameter a notebook does not declare itself; that is
    # by design here (notebooks declare only their own), and Config validated every name.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    _progress_engine()
    executed = output_dir / notebook.name
    partial = running_path(executed)
    previous = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = TERMINAL  # the kernel inherits it: its loop bars come here
    try:
        try:
            papermill.execute_notebook(
                str(notebook),
                str(partial),
                parameters=parameters,
                kernel_name=KERNEL,
                engine_name=ENGINE,
                cwd=str(cwd),
                progress_bar={"desc": notebook.name, "unit": "cell", "leave": False},
                kernel_manager_class=TrackedKernelManager,
                extra_arguments=KERNEL_ARGUMENTS,
            )
        finally:
            shut_down_kernels()
            if previous is None:
                os.environ.pop(PROGRESS_ENV, None)
            else:
                os.environ[PROGRESS_ENV] = previous
    except PapermillExecutionError as exc:
        where = _where(notebook.name, partial, exc.cell_index)
        failure = NotebookFailedError("failed", f"{where} raised {exc.ename}: {exc.evalue}")
    except DeadKernelError:
        where = _where(notebook.name, partial)
        failure = NotebookFailedError("kernel died", f"the kernel died (out of memory?) in {where}")
    except Interrupted as exc:
        where = _where(notebook.name, partial)
        failure = NotebookFailedError(
            "interrupted", f"{exc} stopped {where}", exit_code=exc.exit_code
        )
    except OSError as exc:  # e.g. a full disk while papermill writes the running copy
        failure = NotebookFailedError("failed", _write_error(notebook.name, partial, exc))
    else:
        try:
            _keep(partial, executed, "complete")
        except OSError as exc:
            failure = NotebookFailedError("failed", _write_error(notebook.name, partial, exc))
        else:
            failed_path(executed).unlink(missing_ok=True)
            return executed
    if "No space left" in failure.message and "free on" not in failure.message:
        failure.message += f" ({free_space(output_dir)})"
    try:
        failure.kept = _keep(partial, failed_path(executed), failure.status, failure.message)
    except OSError as exc:  # keeping the copy needs room too: drop it, say so
        partial.unlink(missing_ok=True)
        failure.message += f"; its partial copy could not be kept ({exc.strerror or exc})"
    raise failure


def free_space(folder: Path) -> str:
    """``"1.2 MB free on <folder>"``, or why it is unknown."""
    try:
        return f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free on {folder}"
    except OSError as exc:
        return f"free space on {folder} unknown ({exc.strerror or exc})"


def _write_error(name: str, partial: Path, exc: OSError) -> str:
    """A failure to write a notebook's copy, in words, with the free space where it matters."""
    free = f", {free_space(partial.parent)}" if exc.errno == errno.ENOSPC else ""
    where = _where(name, partial).removesuffix(" before its first cell")
    return f"{where}: its executed copy could not be written ({exc.strerror or exc}{free})"
