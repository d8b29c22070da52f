"""Atomic file writes: a reader never sees a half-written file, a crash never loses the old one.

Files are created like ``open(path, "w")`` creates them (mode ``0o666`` minus the umask), so a
shared results folder stays readable. Cache entries are read back with :func:`load_cached`, which
discards an unreadable entry so that it is rebuilt. Processes that share a cache (the points of a
sweep) compute one entry at a time under :func:`exclusive`, and :func:`record_computed` logs what
each computed, so a sweep can count the work it shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import time
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import IO, Any

import torch
from filelock import FileLock

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # mode 0o666 as open() uses, so the umask (and any default ACL) applies; mkstemp forces 0o600
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically."""
    return atomic_write(path, lambda handle: torch.save(obj, handle))


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON (indented, keys sorted) atomically.

    Args:
        obj: A JSON-serialisable object; other values are written as ``str(value)``.
        path: The file to write; missing parent folders are made.

    Returns:
        ``path``, as a :class:`~pathlib.Path`.

    Example:
        >>> save_json(rows, cfg.artifacts_path / "saliency" / "scores.json")  # doctest: +SKIP
    """
    text = json.dumps(obj, indent=2, sort_keys=True, default=str).encode()
    return atomic_write(path, lambda handle: handle.write(text))


def save_text(text: str, path: str | os.PathLike) -> Path:
    """Write UTF-8 text atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data))


def error_summary(exc: BaseException) -> str:
    """An exception in one line: its type and the first sentence of its message."""
    lines = _ANSI.sub("", str(exc)).strip().splitlines()
    sentence = lines[0].split(". ")[0].rstrip(".") if lines else ""
    return f"{type(exc).__name__}: {sentence}" if sentence else type(exc).__name__


def load_cached(path: str | os.PathLike, keys: Collection[str]) -> dict[str, Any] | None:
    """A cache entry (a dict with ``keys``, saved by :func:`save_torch`), or None if there is none.

    An entry that cannot be read is deleted with a warning naming it and the reason, and None is
    returned, so the caller computes and writes it again.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(entry, dict) or not entry.keys() >= set(keys):
            raise ValueError(f"not a dict with the keys {sorted(keys)}")
    except MemoryError:
        raise  # the entry may be fine: never delete it for lack of memory
    except Exception as exc:
        warnings.warn(
            f"discarding the unreadable cache entry {path} ({error_summary(exc)}); "
            "it is computed again.",
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return None
    return entry


@contextlib.contextmanager
def exclusive(path: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of the entry ``path`` (a hidden ``.NAME.lock`` beside it) for the block,
    across processes: one process computes an entry while the others wait, then read it.

    The operating system releases the lock of a process that dies (``flock``), so a point killed
    while it extracts features never blocks the others. On a cluster, the cache folder must be on
    a file system whose locks every node sees.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock")):
        yield


COMPUTED_LOG = "computed.jsonl"  # <cache_dir>/computed.jsonl: one line per entry computed


def record_computed(folder: str | os.PathLike, what: str, **details: Any) -> None:
    """Append one line to ``<folder>/computed.jsonl``: ``what`` was computed (e.g. the features
    of a split, a head trained or reused), when, by which process, with ``details`` (e.g.
    ``run``, the run's artifacts folder, which a sweep filters on)."""
    line = {"what": what, "time": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
    data = (json.dumps({**line, **details}, default=str) + "\n").encode()
    path = Path(folder) / COMPUTED_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        os.write(fd, data)  # one write of one line: appends from processes do not interleave
    finally:
        os.close(fd)


def read_computed(folder: str | os.PathLike, since: float = 0.0) -> list[dict[str, Any]]:
    """The lines :func:`record_computed` wrote to ``<folder>/computed.jsonl`` at or after
    ``since`` (a ``time.time()``), oldest first; none when there is no log. A line cut short
    (a file system without atomic appends) is skipped."""
    path = Path(folder) / COMPUTED_LOG
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            line = json.loads(text)
            if isinstance(line, dict) and line.get("time", -1) >= since:
                lines.append(line)
    return lines
