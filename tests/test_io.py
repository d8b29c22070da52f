"""Atomic writes: the old file survives a failed write."""

import os
import re
import stat
import subprocess
import sys

import pytest
import torch

from helpers import io


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    io.save_torch({"epoch": 1}, path)

    def crash(obj, handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(io.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        io.save_torch({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)], ids=["022", "002"])
@pytest.mark.parametrize("save", [io.save_torch, io.save_json])
def test_written_files_get_the_mode_open_gives_under_the_umask(tmp_path, save, umask, mode):
    previous = os.umask(umask)
    try:
        path = save({"epoch": 1}, tmp_path / "artifact")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_load_cached_returns_the_entry_or_none_when_absent(tmp_path):
    path = tmp_path / "entry.pt"
    assert io.load_cached(path, ("x",)) is None
    io.save_torch({"x": torch.ones(2)}, path)
    assert torch.equal(io.load_cached(path, ("x",))["x"], torch.ones(2))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "EOFError"),
        (b"not a torch file", "Error"),
        (None, r"not a dict with the keys \['x'\]"),
    ],
)
def test_load_cached_discards_an_unreadable_entry_with_a_warning(tmp_path, content, reason):
    path = tmp_path / "entry.pt"
    if content is None:
        io.save_torch({"y": 1}, path)
    else:
        path.write_bytes(content)
    with pytest.warns(UserWarning, match=rf"{re.escape(str(path))} \(.*{reason}.*computed again"):
        assert io.load_cached(path, ("x",)) is None
    assert not path.exists()


LOCKED = """
import sys, time
from helpers.io import exclusive, record_computed
folder = sys.argv[1]
with exclusive(folder + "/entry.pt"):
    record_computed(folder, "enter")
    time.sleep(0.5)
    record_computed(folder, "leave")
"""


def test_one_process_at_a_time_holds_an_entry_and_the_log_keeps_every_line(tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", LOCKED, str(tmp_path)]) for _ in range(3)]
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0]
    with (tmp_path / io.COMPUTED_LOG).open("a") as log:
        log.write('{"what": "features", "ti')  # a line cut short is skipped
    lines = io.read_computed(tmp_path)
    assert [line["what"] for line in lines] == ["enter", "leave"] * 3  # never interleaved
    pids = [line["pid"] for line in lines]
    assert pids[0::2] == pids[1::2] and len(set(pids)) == 3
    assert io.read_computed(tmp_path, since=lines[2]["time"]) == lines[2:]
