"""What every benchmark script shares: the ``--output`` option, machine facts, the JSON file."""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def add_output_option(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--output", type=Path, default=RESULTS / f"{name}.json")


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
    }


def write_results(results: dict[str, object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"written to {path}")
