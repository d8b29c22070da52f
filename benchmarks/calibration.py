"""Calibration of the verdict machinery on simulated data with a known truth (issue 25).

Every notebook's family is simulated with its shape (comparisons, seeds, images) as the series
runs it by default: fixed test images shared by every seed, an image × architecture effect of
SD 0.10 drawn once per experiment (so the images drawn carry a difference of their own), seed
noise 0.02 per cell. Under the population null the table gives each procedure's family-wise
false-detection rate (must be ≤ α = 0.05 for the new one); with a planted effect, the share of
comparisons detected (power) and, for the new procedure, the share called equivalent within the
margin. "old" is the paired t-test over the seeds' means with Holm within the family; "new" is
:func:`helpers.analysis.stats.paired_comparison` on the seeds × images matrix (crossed design)
with its difference and equivalence tests Holm-corrected together.

    python benchmarks/calibration.py [--repeats 1000]
"""

from __future__ import annotations

import argparse
import time

from helpers.analysis.calibration import Design, rates

FAMILIES = {  # notebook: (comparisons, seeds × images of each comparison, margin)
    "02 accuracy (3 pairs)": (3, Design(images=200), 0.05),
    "03 saliency (3 gains × 3 pairs)": (9, Design(images=40), 0.05),
    "04 separability (2 scores × 3 pairs)": (6, Design(images=500), 0.05),
    "05 whitening (2 statistics × 3 pairs, 20 image groups)": (6, Design(images=20), 0.05),
    "06 sharpness (3 pairs, per seed)": (3, Design(images=0, seed_sd=0.05, noise_sd=0.0), 0.05),
}
EFFECTS = (0.0, 0.05, 0.08)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1000, help="simulated families per cell")
    args = parser.parse_args()
    print(f"{args.repeats} simulated families per row; α = 0.05; margin Δ = 0.05\n")
    print(
        "| family | effect | old: any detection | new: any detection | old power | "
        "new power | new: equivalent |"
    )
    print("|---|---|---|---|---|---|---|")
    began = time.perf_counter()
    for name, (comparisons, design, margin) in FAMILIES.items():
        for effect in EFFECTS:
            planted = Design(**{**design.__dict__, "effect": effect})
            found = rates(planted, comparisons, margin, args.repeats, seed=len(name))
            power = f"{found.old_detected:.3f} | {found.new_detected:.3f}" if effect else "– | –"
            print(
                f"| {name} | {effect:g} | {found.old_any:.3f} | {found.new_any:.3f} | "
                f"{power} | {found.new_equivalent:.3f} |",
                flush=True,
            )
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
