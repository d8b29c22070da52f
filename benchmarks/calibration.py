"""Calibration of the verdict machinery on simulated data with a known truth (issue 25).

Every notebook's family is simulated with its shape (comparisons, seeds, images) as the series
runs it by default: fixed test images shared by every seed, an image × architecture effect of
SD 0.10 drawn once per experiment (so the images drawn carry a difference of their own), a
seed × architecture offset of SD 0.02 and cell noise 0.02. Under the population null the table
gives each procedure's family-wise false-detection rate (must be ≤ α = 0.05 for the new one);
with a planted effect, the new procedure's share of comparisons detected (power) and called
equivalent within the margin (an effect at the margin must be called equivalent ≤ α of the
time). "old" is the paired t-test over the seeds' means with Holm within the family (its power
is not shown: at its false-detection rate it means nothing); "new" is
:func:`helpers.analysis.stats.paired_comparison` on the seeds × images matrix (crossed design)
with its difference and equivalence tests corrected together (:mod:`helpers.analysis.family`).

    python benchmarks/calibration.py [--repeats 1000]
"""

from __future__ import annotations

import argparse
import time

from helpers.analysis.calibration import Design, rates

SEEDED = {"seed_sd": 0.02}
FAMILIES = {  # notebook: (comparisons, one comparison's design, its margin, effects planted)
    "02 accuracy (3 × 5 seeds × 200 images)": (3, Design(images=200, **SEEDED), 0.02),
    "03 saliency (9 × 5 × 20)": (9, Design(images=20, **SEEDED), 0.05),
    # the shared CIFAR runs' 03 differences vary more over seeds than this simulation's
    "03 saliency, seeds dominating (seed SD 0.05)": (9, Design(images=20, seed_sd=0.05), 0.05),
    # 04's family of 6 is simulated as its two halves of 3 (an upper bound on neither alone)
    "04 k-NN against the training images (3 × 5 × 500)": (3, Design(images=500, **SEEDED), 0.05),
    "04 silhouette (3 × 5 × 20 groups)": (3, Design(images=20, **SEEDED), 0.05),
    "05 whitening (6 × 5 × 20 groups)": (6, Design(images=20, **SEEDED), 0.05),
    "06 sharpness (3 × 5 seeds)": (3, Design(images=0, seed_sd=0.05, noise_sd=0.0), 0.05),
}
EFFECTS = (0.0, 1.0, 1.6)  # in units of the family's margin
# --grid: one comparison's null rate over designs the families above do not cover (seeds, the
# seed offset's share of the difference's variance, images), on random draws held out from the
# table's (the degrees-of-freedom rule was chosen on 02's row of the table)
GRID_SEEDS, GRID_SEED_SDS, GRID_IMAGES = (3, 5, 10), (0.0, 0.01, 0.02, 0.05, 0.1), (20, 200)
HELD_OUT = 10_000  # the grid's random seeds start here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1000, help="simulated families per cell")
    parser.add_argument("--only", nargs="*", default=(), help="families whose name starts so")
    parser.add_argument("--grid", action="store_true", help="the held-out grid of designs")
    args = parser.parse_args()
    if args.grid:
        grid(args.repeats)
        return
    print(f"{args.repeats} simulated families per row; α = 0.05\n")
    print(
        "| family (comparisons × seeds × images) | effect | old: any detection | "
        "new: any detection | new power | new: equivalent |"
    )
    print("|---|---|---|---|---|---|")
    began = time.perf_counter()
    for name, (comparisons, design, margin) in FAMILIES.items():
        if args.only and not name.startswith(tuple(args.only)):
            continue
        for size in EFFECTS:
            planted = Design(**{**design.__dict__, "effect": size * margin})
            found = rates(planted, comparisons, margin, args.repeats, seed=len(name))
            power = f"{found.new_detected:.3f}" if size else "–"
            effect = f"{size:g} Δ = {size * margin:g}" if size else "0"
            print(f"| {name} | {effect} | {found.old_any:.3f} | {found.new_any:.3f} | "
                  f"{power} | {found.new_equivalent:.3f} |", flush=True)  # fmt: skip
    print(f"\n{time.perf_counter() - began:.0f} s")


def grid(repeats: int) -> None:
    """One comparison's false-detection rate under the null for every design of the grid, with
    its binomial 95 % interval, and the largest."""
    print(f"{repeats} simulated comparisons per design (held-out draws); α = 0.05\n")
    print("| seeds | seed × architecture SD | images | false detections (95 % interval) |")
    print("|---|---|---|---|")
    worst, index = (0.0, ""), 0
    for seeds in GRID_SEEDS:
        for seed_sd in GRID_SEED_SDS:
            for images in GRID_IMAGES:
                design = Design(seeds=seeds, images=images, seed_sd=seed_sd)
                found = rates(design, 1, 0.05, repeats, seed=HELD_OUT + index)
                index += 1
                rate = found.new_any
                half = 1.96 * (rate * (1 - rate) / repeats) ** 0.5
                print(f"| {seeds} | {seed_sd:g} | {images} | {rate:.3f} "
                      f"({max(rate - half, 0):.3f}-{rate + half:.3f}) |", flush=True)  # fmt: skip
                worst = max(worst, (rate, f"{seeds} seeds, SD {seed_sd:g}, {images} images"))
    print(f"\nlargest: {worst[0]:.3f} at {worst[1]}")


if __name__ == "__main__":
    main()
