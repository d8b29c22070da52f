"""Shared fixtures: small configurations, temporary folders, the optional ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import helpers  # noqa: F401  (makes torchvision importable before any test imports it)
from helpers.config import PROJECT_ROOT, Config, smoke_overrides

SHARED = Path(os.environ.get("SHARED_DIR", PROJECT_ROOT.parent / "shared"))


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def smoke_cfg(tmp_path: Path) -> Config:
    """The smoke configuration, writing only below ``tmp_path``."""
    return Config(
        **{
            **smoke_overrides(),
            "artifacts_dir": str(tmp_path / "artifacts"),
            "cache_dir": str(tmp_path / "cache"),
        }
    )


def shared_path(*parts: str) -> Path:
    """A path below ../shared, or skip the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the offline shared data lives beside the repository)")
    return path


@pytest.fixture(scope="session")
def trained_smoke_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The smoke configuration with both heads trained once per test session (read-only)."""
    from helpers.model.train import train

    root = tmp_path_factory.mktemp("trained_smoke")
    cfg = Config(
        **{
            **smoke_overrides(),
            "artifacts_dir": str(root / "artifacts"),
            "cache_dir": str(root / "cache"),
        }
    )
    torch.set_num_threads(1)
    for kind in cfg.models:
        train(cfg, kind)
    return cfg
