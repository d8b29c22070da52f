"""The whole notebook series at Mari's real size (224 px), with random backbone weights.

The cost of every analysis does not depend on the weights, so ``weights none`` measures what
ImageNet weights would cost. Data: the ants/bees images of ``../shared/data/hymenoptera_data``
when present (Mari's second dataset, 398 images), else the project's synthetic images at 224 px.
Reports, per notebook: seconds, the kernel's peak resident memory, and the images sent through
the backbone (with and without a retained graph), from the backbone's forward log.

    python benchmarks/bench_series.py [--output F] [-p NAME VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _common import add_output_option, machine, write_results

from helpers.config import PROJECT_ROOT
from helpers.model.backbone import FORWARD_LOG_ENV

ANTS_BEES = PROJECT_ROOT.parent / "shared" / "data" / "hymenoptera_data"
# Mari et al.'s ants/bees settings (arXiv:1912.08278), at the real image size
MARI_ANTS_BEES = {
    "dataset": "imagefolder",
    "classes": '["ants","bees"]',
    "weights": "none",
    "image_size": "224",
    "resize_size": "0",
    "q_depth": "6",
    "lr": "0.0004",
    "batch_size": "4",
    "epochs": "30",
    "lr_step": "10",
    "lr_gamma": "0.1",
}


class KernelMemory(threading.Thread):
    """Polls the pipeline's kernel processes: the peak resident memory of each, keyed by the
    middle of its observed lifetime (which falls inside the notebook it ran)."""

    def __init__(self, parent: int) -> None:
        super().__init__(daemon=True)
        self.parent, self.running = parent, True
        self.seen: dict[float, tuple[float, int]] = {}  # start -> (last seen, peak bytes)

    @property
    def peaks(self) -> dict[float, int]:
        return {(start + last) / 2: peak for start, (last, peak) in self.seen.items()}

    def run(self) -> None:
        while self.running:
            try:
                children = psutil.Process(self.parent).children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    if "ipykernel" in " ".join(child.cmdline()):
                        started = child.create_time()
                        rss = child.memory_info().rss
                        peak = max(self.seen.get(started, (0.0, 0))[1], rss)
                        self.seen[started] = (time.time(), peak)
                except psutil.Error:
                    continue
            time.sleep(0.2)


def notebook_times(executed: Path) -> tuple[float, float]:
    """A executed notebook's start and end (epoch seconds) from papermill's metadata."""
    meta = json.loads(executed.read_text())["metadata"]["papermill"]

    def seconds(stamp: str) -> float:
        from datetime import datetime

        return datetime.fromisoformat(stamp).timestamp()

    return seconds(meta["start_time"]), seconds(meta["end_time"])


def forward_counts(log: Path, start: float, end: float) -> dict[str, int]:
    counts = {"images_inference": 0, "images_gradient": 0}
    if not log.is_file():
        return counts
    for line in log.read_text().splitlines():
        stamp, images, gradient = line.split()
        if start <= float(stamp) <= end:
            counts["images_gradient" if gradient == "1" else "images_inference"] += int(images)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_option(parser, "series_224px")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--only", nargs="+", default=[], help="notebook prefixes (pipeline's)")
    parser.add_argument("--run-dir", type=Path, help="keep the run here (default: a temp dir)")
    args = parser.parse_args()
    settings = dict(MARI_ANTS_BEES)
    if ANTS_BEES.is_dir():
        settings["data_dir"] = str(ANTS_BEES)
    else:  # the project's own images at the real size
        settings.update(dataset="synthetic", classes='["red","blue"]', weights="none")
    settings.update(dict(args.p))
    with tempfile.TemporaryDirectory(prefix="bench_series_") as temporary:
        folder = args.run_dir or Path(temporary)
        out, log = folder / "run", folder / "forwards.log"
        command = [sys.executable, "-m", "helpers.pipeline", "--output-dir", str(out)]
        command += [item for pair in settings.items() for item in ("-p", *pair)]
        command += ["-p", "cache_dir", str(folder / "cache")]
        command += ["--only", *args.only] if args.only else []
        started = time.time()
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**__import__("os").environ, FORWARD_LOG_ENV: str(log)}
        )
        memory = KernelMemory(process.pid)
        memory.start()
        code = process.wait()
        memory.running = False
        total = time.time() - started
        rows = []
        ran = [p for p in sorted(out.glob("[0-9][0-9]_*.ipynb")) if p.stat().st_mtime >= started]
        for executed in (p for p in ran if not p.name.endswith(".failed.ipynb")):
            start, end = notebook_times(executed)
            row = {"notebook": executed.stem, "seconds": round(end - start, 1)}
            # papermill starts one kernel per notebook; its lifetime's middle is in the notebook's
            peaks = [rss for middle, rss in memory.peaks.items() if start <= middle <= end]
            row["peak_rss_mb"] = round(max(peaks) / 2**20) if peaks else None
            row.update(forward_counts(log, start, end))
            rows.append(row)
    for row in rows:
        print(
            f"{row['notebook']:<24} {row['seconds']:>8.1f} s {row['peak_rss_mb'] or 0:>6} MB "
            f"{row['images_inference']:>8} + {row['images_gradient']:>7} (grad) images"
        )
    print(f"whole series: {total:.0f} s, exit code {code}")
    write_results(
        {"machine": machine(), "settings": settings, "exit_code": code, "seconds": total,
         "notebooks": rows},
        args.output,
    )  # fmt: skip


if __name__ == "__main__":
    main()
