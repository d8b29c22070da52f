"""The smoke series for every circuit family at 3 and 6 qubits (and the test's user circuit).

The suite runs the series for the user circuit and one family
(``tests/run/test_circuit_series.py``); this script runs the rest, which does not fit the
suite's time: every family of :data:`helpers.quantum.circuits.FAMILIES` at each width, with all
four models (the unentangled control included) and, at more than 5 qubits, a fake device large
enough for notebook 08.
Reports, per point: passed or the pipeline's stop line, and seconds.

    python benchmarks/family_series.py [--qubits 3 6] [--families mari reuploading ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import add_output_option, machine, write_results

from helpers.config import PROJECT_ROOT
from helpers.quantum.circuits import FAMILIES
from helpers.quantum.devices import SIZED_DEVICES
from helpers.run.pipeline import command_line

ALL_MODELS = ["hybrid", "classical", "product", "unentangled"]
USER_CIRCUIT = "tests/user_circuit.py:build"  # 3 qubits


def series_parameters(out: Path, circuit: str, n_qubits: int) -> dict[str, object]:
    """The smoke series' parameters for ``circuit`` on ``n_qubits``: all four models and the
    smallest fake device with enough qubits for notebook 08."""
    device = next(name for name, size in SIZED_DEVICES.items() if size >= n_qubits)
    return {
        "circuit": circuit, "n_qubits": n_qubits, "models": ALL_MODELS, "noise_device": device,
        "cache_dir": str(out / "cache"),
    }  # fmt: skip


def run_point(circuit: str, n_qubits: int, folder: Path) -> dict[str, object]:
    """Run one point; its outcome and seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        command_line(folder, series_parameters(folder, circuit, n_qubits), smoke=True),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    seconds = time.perf_counter() - start
    stopped = [line for line in result.stderr.splitlines() if line.startswith("[pipeline]")]
    outcome = "passed" if result.returncode == 0 else (stopped or ["failed"])[-1]
    print(f"{circuit:>28} {n_qubits:>2} qubits: {outcome} in {seconds:.0f} s", flush=True)
    return {"circuit": circuit, "n_qubits": n_qubits, "outcome": outcome, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    add_output_option(parser, "family_series")
    args = parser.parse_args()
    points = [(family, n) for family in args.families for n in args.qubits]
    points.append((USER_CIRCUIT, 3))
    with tempfile.TemporaryDirectory() as folder:
        folders = [Path(folder) / f"{i:02d}" for i in range(len(points))]
        rows = [run_point(*point, at) for point, at in zip(points, folders, strict=True)]
    write_results({"machine": machine(), "points": rows}, args.output)
    if any(row["outcome"] != "passed" for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
