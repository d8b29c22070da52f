"""Atomic writes: the old file survives a failed write."""

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
