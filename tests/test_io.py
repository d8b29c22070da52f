"""Atomic writes: the old file survives a failed write."""

import os
import re
import stat

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
