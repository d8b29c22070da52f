"""The verdict machinery on simulated data with a known truth: how often a family detects a
difference that is not there (its family-wise error rate), how often it detects one that is (its
power), and how often it calls models equivalent, beside the old per-seed paired t-test.

The simulation is built like the series' own data: every seed's models see the same fixed test
images; each image has a difficulty both architectures share and an image × architecture effect
(the architectures disagree about some images), drawn once per simulated experiment, so the
images drawn carry a difference of their own even when the population's is zero; each trained
model adds a seed × architecture offset and each cell its own noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from helpers.analysis.family import Family, holm
from helpers.analysis.stats import ALPHA, paired_comparison


@dataclass(frozen=True)
class Design:
    """A simulated comparison: ``seeds`` × ``images`` values per model (one value per seed when
    ``images`` is 0: a per-seed measure); SDs of an image's difficulty (shared), its image ×
    architecture effect, a seed × architecture offset and the per-cell noise; ``effect`` is the
    population difference b − a (0: the null holds)."""

    seeds: int = 5
    images: int = 40
    difficulty_sd: float = 0.2
    image_sd: float = 0.10
    seed_sd: float = 0.0
    noise_sd: float = 0.02
    effect: float = 0.0


def simulate(design: Design, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One experiment's ``(seeds, images)`` measures of models a and b (``(seeds,)`` for a
    per-seed design)."""
    if design.images == 0:
        a = rng.normal(0.0, design.seed_sd + design.noise_sd, design.seeds)
        b = design.effect + rng.normal(0.0, design.seed_sd + design.noise_sd, design.seeds)
        return a, b
    shape = (design.seeds, design.images)
    difficulty = rng.normal(0.0, design.difficulty_sd, design.images)
    disagreement = rng.normal(0.0, design.image_sd, design.images)  # b's own view of each image
    a = difficulty + rng.normal(0.0, design.seed_sd, (design.seeds, 1))
    b = (
        difficulty
        + design.effect
        + disagreement
        + rng.normal(0.0, design.seed_sd, (design.seeds, 1))
    )
    return a + rng.normal(0.0, design.noise_sd, shape), b + rng.normal(0.0, design.noise_sd, shape)


def _old_p(a: np.ndarray, b: np.ndarray) -> float:
    """The old test: a paired t-test over the seeds' means (fixed images; p = 1 if no variance)."""
    differences = (b - a).mean(axis=1) if b.ndim == 2 else b - a
    if np.ptp(differences) == 0:
        return 1.0
    return float(scipy.stats.ttest_1samp(differences, 0.0).pvalue)


@dataclass(frozen=True)
class Rates:
    """Over ``repeats`` simulated families: the share of families with any comparison called
    different (old and new procedure: under the null, the family-wise error rate), the share
    of comparisons called different (power, with a planted effect) and equivalent (new)."""

    repeats: int
    old_any: float
    new_any: float
    old_detected: float
    new_detected: float
    new_equivalent: float


def rates(design: Design, comparisons: int, margin: float, repeats: int, seed: int = 0) -> Rates:
    """Run ``repeats`` families of ``comparisons`` independent comparisons of ``design``,
    Holm-corrected as the notebooks correct them, with equivalence margin ``margin``.

    Args:
        design: The simulated data of each comparison.
        comparisons: The family's size.
        margin: The equivalence margin Δ.
        repeats: The number of simulated families.
        seed: The random generator's seed.

    Returns:
        The :class:`Rates` of the old and the new procedure.

    Example:
        >>> rates(Design(), comparisons=3, margin=0.05, repeats=20).repeats
        20
    """
    rng = np.random.default_rng(seed)
    old_any = new_any = old_detected = new_detected = new_equivalent = 0
    for _ in range(repeats):
        family, old = Family(), []
        for k in range(comparisons):
            a, b = simulate(design, rng)
            family.add(str(k), paired_comparison(a, b, unit="seeds × images", margin=margin))
            old.append(_old_p(a, b))
        outcomes = [d.outcome for d in family.decisions().values()]
        old_hits = int((holm(old) < ALPHA).sum())
        new_hits = outcomes.count("different")
        old_any += old_hits > 0
        new_any += new_hits > 0
        old_detected += old_hits
        new_detected += new_hits
        new_equivalent += outcomes.count("equivalent")
    total = repeats * comparisons
    return Rates(
        repeats, old_any / repeats, new_any / repeats, old_detected / total,
        new_detected / total, new_equivalent / total,
    )  # fmt: skip
