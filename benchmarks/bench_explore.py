"""Benchmark the explorer's interactions: ``python benchmarks/bench_explore.py --artifacts-dir D``.

Opens the explorer (notebook 10) on the finished run in ``D`` and times every kind of
interaction, as the kernel answers it: from setting a widget's value to the new pictures and
tables being ready to send (the browser's drawing is not included). Each interaction is repeated
on different values (``--repeats``); a "new image" or "new method" needs its saliency computed
(the other methods' maps are computed in the background once an image is shown: switching at
once waits for them, switching after a look finds them), a "seen" one comes from memory.
Results are printed and written as JSON (default ``benchmarks/results/bench_explore.json``).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import matplotlib
import numpy as np
import torch
from _common import add_output_option, machine, write_results
from PIL import Image

from helpers.config import Config
from helpers.present.explore import Explorer, explore
from helpers.run.session import NotebookSession

LIMIT = 1.0  # seconds: the responsiveness target of every interaction after the first
THINK = 2.0  # seconds a user looks at a new image before switching the saliency method
PAUSE = "pause"  # an untimed step: the user looking


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _setter(explorer: Explorer, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(explorer.controls[name], "value", value)


def _upload(explorer: Explorer, seed: int) -> Callable[[], None]:
    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "png")
    content = buffer.getvalue()
    entry = {"name": f"photo{seed}.png", "type": "image/png", "size": len(content),
             "content": memoryview(content), "last_modified": datetime.now(UTC)}  # fmt: skip
    return _setter(explorer, "upload", (entry,))


def interactions(explorer: Explorer, k: int) -> list[tuple[str, Callable[[], None]]]:
    """Round ``k`` of every kind of interaction, on values that differ from round to round."""
    images = [option[1] for option in explorer.controls["image"].options]
    alphas = [option[1] for option in explorer.controls["alpha"].options]
    betas = [option[1] for option in explorer.controls["beta"].options]
    units = explorer.cfg.n_qubits
    new = "image: new test image (saliency computed)"
    return [
        (new, _setter(explorer, "image", images[2 * k + 1])),
        ("saliency method: smoothgrad, at once", _setter(explorer, "method", "smoothgrad")),
        ("saliency method: integrated gradients, at once",
         _setter(explorer, "method", "integrated_gradients")),
        ("saliency method: seen (from memory)", _setter(explorer, "method", "gradient")),
        (new, _setter(explorer, "image", images[2 * k + 2])),
        (PAUSE, lambda: time.sleep(THINK)),
        (f"saliency method: integrated gradients, {THINK:g} s later",
         _setter(explorer, "method", "integrated_gradients")),
        ("saliency method: seen (from memory)", _setter(explorer, "method", "gradient")),
        ("image: seen test image (from memory)", _setter(explorer, "image", images[2 * k + 1])),
        ("upload an image", _upload(explorer, k)),
        ("image: seen test image (from memory)", _setter(explorer, "image", images[2 * k + 2])),
        ("layout: model", _setter(explorer, "layout_model", "hybrid")),
        ("layout: layer", _setter(explorer, "layer", "q_out")),
        ("layout: colour by a unit", _setter(explorer, "colour", "unit")),
        ("layout: unit", _setter(explorer, "unit", (k + 1) % units)),
        ("layout: colour by class", _setter(explorer, "colour", "class")),
        ("layout: model", _setter(explorer, "layout_model", "classical")),
        ("landscape: alpha step", _setter(explorer, "alpha", alphas[k % len(alphas)])),
        ("landscape: beta step", _setter(explorer, "beta", betas[-1 - k % len(betas)])),
        ("dream: qubit", _setter(explorer, "dream_unit", (k + 1) % units)),
        ("dream: sign", _setter(explorer, "sign", -1 if k % 2 == 0 else 1)),
        ("dream: model", _setter(explorer, "dream_model", "classical" if k % 2 == 0 else "hybrid")),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts-dir", required=True, help="the finished run's artifacts")
    parser.add_argument("--repeats", type=int, default=5)
    add_output_option(parser, "bench_explore")
    args = parser.parse_args()
    torch.set_num_threads(1)
    matplotlib.use("agg")  # as in a notebook, whose inline backend draws with Agg
    cfg = Config.for_notebook({"artifacts_dir": args.artifacts_dir})
    start = time.perf_counter()
    explorer = explore(NotebookSession(cfg))
    opened = time.perf_counter() - start
    print(f"opening the explorer (models, artifacts, first views): {opened:.2f} s")
    if explorer.missing:
        print("absent:", *explorer.missing, sep="\n  ")
    times: dict[str, list[float]] = {}
    for k in range(args.repeats):
        for name, action in interactions(explorer, k):
            seconds = _timed(action)
            if name != PAUSE:
                times.setdefault(name, []).append(seconds)
    rows = [
        {"interaction": name, "n": len(values), "median_s": statistics.median(values),
         "max_s": max(values)}
        for name, values in times.items()
    ]  # fmt: skip
    print(f"{'interaction':50s} {'n':>3s} {'median':>8s} {'max':>8s}")
    for row in rows:
        flag = "" if row["max_s"] < LIMIT else f"  over {LIMIT:g} s"
        print(f"{row['interaction']:50s} {row['n']:3d} {row['median_s']:7.3f}s "
              f"{row['max_s']:7.3f}s{flag}")  # fmt: skip
    write_results(
        {"artifacts_dir": args.artifacts_dir, "images": len(explorer.indices),
         "open_seconds": opened, "interactions": rows, "machine": machine()},
        args.output,
    )  # fmt: skip


if __name__ == "__main__":
    main()
