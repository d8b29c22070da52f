"""A q_depth sweep on the shared CIFAR-10 cats vs dogs (32 px): wall time with 1 and 2 workers.

``python benchmarks/bench_sweep.py [--depths 0 1 ... 8] [--workers 1 2] [--only 01 02 09]``
runs ``python -m helpers.sweep`` over ``q_depth`` on ``../shared`` (the CIFAR-10 subset and the
32 px ResNet18; five seeds, the default models, no per-point report) once per workers value,
each from an empty cache so that each pays its own feature extraction. Reports, per workers
value: wall time, points complete, feature extractions, heads trained and reused (from
``<cache_dir>/computed.jsonl``), and the seconds of every point; keeps the last sweep's
``sweep.json`` and ``sweep.html`` in ``benchmarks/results/sweep_depth/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import RESULTS, add_output_option, machine, write_results

from helpers.config import PROJECT_ROOT
from helpers.io import read_computed

SHARED = PROJECT_ROOT.parent / "shared"
SETTINGS = {
    "dataset": "imagefolder",
    "classes": '["cat", "dog"]',
    "data_dir": str(SHARED / "data" / "cifar10_subset"),
    "weights": str(SHARED / "models" / "resnet18_cifar10subset_32px.pt"),
    "image_size": "32",
    "resize_size": "32",
}


def run_sweep(depths: list[int], workers: int, only: list[str], folder: Path) -> dict:
    """One sweep over ``depths`` with ``workers`` points at a time into ``folder``."""
    cache = folder / "cache"
    fixed = [item for name, value in {**SETTINGS, "cache_dir": str(cache)}.items()
             for item in ("-p", name, value)]  # fmt: skip
    command = [
        sys.executable, "-m", "helpers.sweep", "--output-dir", str(folder / "sweep"),
        "--workers", str(workers), "--no-report", "--only", *only,
        "--grid", "q_depth", *map(str, depths), *fixed,
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(result.stdout[-2000:], result.stderr[-2000:], flush=True)
    summary = json.loads((folder / "sweep" / "sweep.json").read_text())
    counts = Counter(line["what"] for line in read_computed(cache))
    points = [p for p in summary["points"] if p]
    return {
        "workers": workers,
        "returncode": result.returncode,
        "wall_seconds": seconds,
        "points_complete": sum(p["status"] == "complete" for p in points),
        "feature_extractions": counts["features"],
        "heads_trained": counts["heads trained"],
        "heads_reused": counts["heads reused"],
        "point_seconds": {p["name"]: p["seconds"] for p in points},
        "findings": summary["findings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=list(range(9)))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", default=["01", "02", "09"])
    add_output_option(parser, "bench_sweep")
    args = parser.parse_args()
    if not (SHARED / "data" / "cifar10_subset").is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the shared CIFAR-10 subset")
    rows = []
    kept = RESULTS / "sweep_depth"
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as folder:
            rows.append(run_sweep(args.depths, workers, args.only, Path(folder)))
            print(f"{workers} worker(s): {rows[-1]['wall_seconds']:.0f} s", flush=True)
            shutil.rmtree(kept, ignore_errors=True)
            kept.mkdir(parents=True)
            for name in ("sweep.json", "sweep.html"):
                shutil.copy(Path(folder) / "sweep" / name, kept / name)
    write_results({"machine": machine(), "depths": args.depths, "runs": rows}, args.output)


if __name__ == "__main__":
    main()
