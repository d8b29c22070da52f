"""Statistical power of notebook 03's comparison over seeds against its cost settings.

For each setting (images scored, Integrated Gradients starting steps, deletion/insertion steps)
on a finished run with several seeds: every score's mean ± SE over seeds per model, the paired
differences hybrid - classical and hybrid - product with their SE over seeds × images (what the
verdicts test) and the smallest difference each detects with 80 % power (two-sided 5 %, before
Holm; the verdicts' equivalence margin is 0.05); the IG gains' differences also get an SE over
images alone (of the per-image difference averaged over the seeds that score it). Run on 32 px
models (cheap); whether the numbers carry over to 224 px with ImageNet weights is not tested.

    python benchmarks/power_saliency.py ARTIFACTS_DIR [--settings 40,8,15 24,8,15 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import add_output_option, machine, write_results
from scipy import stats

from helpers.analysis.saliency import saliency_study
from helpers.analysis.saliency.maps import RANDOM
from helpers.analysis.saliency.seeds import GAINS, METHOD, UNIT, SaliencyStudy
from helpers.analysis.stats import Comparison, paired_comparison
from helpers.run.session import setup

DEFAULT_SETTINGS = ("40,8,15", "32,8,15", "24,8,15")  # images at the current IG and curve steps
ALPHA, POWER = 0.05, 0.8  # the smallest difference detectable: two-sided 5 % test, 80 % power
PAIRS = (("hybrid", "classical"), ("hybrid", "product"))


def power(artifacts_dir: str, images: int, ig_steps: int, curve_steps: int) -> dict[str, object]:
    """Mean ± SE over seeds of every score and model, and of the paired differences."""
    session = setup({"artifacts_dir": artifacts_dir})
    chosen, _, _ = session.test_images(images)
    start = time.perf_counter()
    study = saliency_study(
        session.models_by_seed,
        chosen,
        session.cfg.seed,
        picture_methods=(),
        ig_steps=ig_steps,
        curve_steps=curve_steps,
    )
    over_images = {
        f"{name}, over images": {
            f"{a} - {b}": _image_mean_se(study, mode, sign, a, b) for a, b in PAIRS
        }
        for name, (mode, sign) in GAINS.items()
    }
    scores: dict[str, dict[str, list[float]]] = {}
    for name, by_kind in study.image_scores().items():
        line = {kind: _mean_se(np.nanmean(values, axis=1)) for kind, values in by_kind.items()}
        for a, b in PAIRS:
            if a in by_kind and b in by_kind:  # what the verdicts test: seeds x images
                compared = paired_comparison(by_kind[b], by_kind[a], unit=UNIT)
                line[f"{a} - {b}"] = [compared.difference, compared.difference_se]
                line[f"{a} - {b}, detectable"] = [_detectable(compared), compared.df]
        scores[name] = line
    return {
        "seconds": time.perf_counter() - start,
        "seeds": len(study.seeds),
        "images": len(chosen),
        "scores": {**scores, **over_images},
    }


def _image_mean_se(study: SaliencyStudy, mode: str, sign: int, a: str, b: str) -> list[float]:
    """Mean ± SE over images of the per-image IG gain difference ``a - b``, averaged over the
    seeds that score the image (images two or more seeds score)."""
    area, chance = study.scores[METHOD].area(mode), study.scores[RANDOM].area(mode)

    def gain(seed: int, kind: str) -> np.ndarray:
        return sign * (area[(seed, kind)] - chance[(seed, kind)])

    differences = np.array([gain(seed, a) - gain(seed, b) for seed in study.seeds])
    defined = np.isfinite(differences)
    kept = defined.sum(axis=0) >= 2  # images two or more seeds score
    per_image = np.nanmean(differences[:, kept], axis=0)
    return _mean_se(per_image)


def _detectable(compared: Comparison) -> float:
    """The smallest true difference the comparison detects with probability ``POWER`` in a
    two-sided test at ``ALPHA`` (before Holm): (t_{1-α/2} + t_{power}) × SE, at its df."""
    quantile = stats.t(compared.df).ppf
    return float((quantile(1 - ALPHA / 2) + quantile(POWER)) * compared.difference_se)


def _mean_se(values: np.ndarray) -> list[float]:
    """Mean and SE over the entries (seeds or images) whose value is defined."""
    defined = values[np.isfinite(values)]
    if len(defined) < 2:
        return [float("nan"), float("nan")]
    return [float(defined.mean()), float(defined.std(ddof=1) / np.sqrt(len(defined)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts_dir", help="a finished run's artifacts (several seeds)")
    parser.add_argument(
        "--settings", nargs="+", default=DEFAULT_SETTINGS, help="images,ig_steps,curve_steps"
    )
    add_output_option(parser, "power_saliency")
    args = parser.parse_args()
    results: dict[str, object] = {"machine": machine(), "artifacts_dir": args.artifacts_dir}
    for setting in args.settings:
        images, ig_steps, curve_steps = (int(part) for part in setting.split(","))
        found = power(args.artifacts_dir, images, ig_steps, curve_steps)
        results[setting] = found
        print(f"{images} images, IG {ig_steps} steps, curves {curve_steps} steps "
              f"({found['seconds']:.0f} s, {found['seeds']} seeds)")  # fmt: skip
        for name, line in found["scores"].items():
            cells = "  ".join(f"{k} {m:+.3f} ± {se:.3f}" for k, (m, se) in line.items())
            print(f"  {name}: {cells}")
    write_results(results, args.output)


if __name__ == "__main__":
    main()
