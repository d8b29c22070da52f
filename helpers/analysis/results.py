"""What an analysis notebook states, on disk: ``<artifacts_dir>/<analysis>/results.json``.

Every number a notebook states goes in with its standard error, n and unit of replication
(seeds, images, directions), and every verdict is a paired comparison in the notebook's one
family, its difference and equivalence tests corrected together with Holm's method
(comparisons outside it are kept as exploratory), with its outcome and the interval that agrees
with it, so a script can compare runs and the generated conclusions read from the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.analysis.family import Decision, Family, exploratory_decision
from helpers.analysis.stats import NO_MARGIN, Compared, mean_and_error, paired_comparison
from helpers.config import Config
from helpers.declare import MODEL_PAIRS, writer
from helpers.io import save_json

RESULTS_FILE = "results.json"
# 2: every comparison carries its ``comparative`` (the words for "b higher"), so a script can
# rebuild every sentence the notebook printed from the file alone.
# 3: every comparison carries its test (``method``, ``df``), its equivalence ``margin`` and
# ``equivalence_p``, its ``outcome`` and the ``low``/``high`` interval at ``confidence`` that
# agrees with the outcome; ``family_size`` counts every comparison and ``family_tests`` the
# hypotheses Holm corrects.
SCHEMA_VERSION = 3


class Results:
    """The numbers and comparisons of one analysis (see the module docstring)."""

    def __init__(self, analysis: str) -> None:
        self.analysis = analysis
        self.numbers: list[dict[str, Any]] = []
        self.family = Family()
        self.exploratory: dict[str, Compared] = {}
        self.comparatives: dict[str, str] = {}

    def add(self, name: str, values: Sequence[float], unit: str, **labels: Any) -> float:
        """A number stated as the mean of ``values`` (one per unit), with its SE and n."""
        finite = np.asarray(values, dtype=float)
        mean, error = mean_and_error(finite)
        return self.add_value(name, mean, error, int(np.isfinite(finite).sum()), unit, **labels)

    def add_value(
        self, name: str, mean: float, error: float, n: int, unit: str, **labels: Any
    ) -> float:
        """A number computed elsewhere (e.g. with a bootstrap error over ``n`` images)."""
        self.numbers.append(
            {"name": name, **labels, "mean": mean, "se": error, "n": n, "unit": unit}
        )
        return mean

    def compare(self, name: str, comparison: Compared, comparative: str = "higher") -> Compared:
        """A verdict of the notebook's family (Holm-corrected with the others)."""
        self.comparatives[name] = comparative
        return self.family.add(name, comparison)

    def explore(self, name: str, comparison: Compared, comparative: str = "higher") -> Compared:
        """A comparison reported as exploratory (no correction, labelled as such)."""
        self.comparatives[name] = comparative
        self.exploratory[name] = comparison
        return comparison

    def compare_models(
        self,
        metric: str,
        values: dict[str, Sequence[float]],
        unit: str,
        comparative: str = "higher",
        exploratory: bool = False,
        margin: float = NO_MARGIN,
    ) -> None:
        """Paired comparisons of ``metric`` for every pair of :data:`MODEL_PAIRS` whose models
        are both in ``values``: one value per seed, or a ``(seeds, images)`` matrix of a
        per-image measure (:func:`~helpers.analysis.stats.paired_comparison`), aligned across
        models; ``margin`` is the equivalence margin in the measure's units."""
        add = self.explore if exploratory else self.compare
        for a, b in MODEL_PAIRS:
            if a in values and b in values:
                comparison = paired_comparison(
                    values[a], values[b], unit=unit, names=(a, b), margin=margin
                )
                add(f"{metric}, {b} vs {a}", comparison, comparative)

    def number(self, name: str, **labels: Any) -> dict[str, Any]:
        """The stated number called ``name`` with these labels."""
        for row in self.numbers:
            if row["name"] == name and all(row.get(k) == v for k, v in labels.items()):
                return row
        raise KeyError(f"no number {name!r} with {labels} in the {self.analysis} results")

    def decisions(self) -> dict[str, Decision]:
        """Every comparison's :class:`~helpers.analysis.stats.Decision`: the family's after
        Holm's correction, then the exploratory ones uncorrected."""
        found = self.family.decisions()
        return found | {name: exploratory_decision(c) for name, c in self.exploratory.items()}

    def to_dict(self) -> dict[str, Any]:
        decisions = self.decisions()

        def row(name: str, comparison: Compared, exploratory: bool) -> dict[str, Any]:
            decision = decisions[name]
            tests = {"p_value": comparison.p_value, "equivalence_p": comparison.equivalence_p}
            holm = (
                {}
                if exploratory
                else {"holm_p": decision.p, "holm_equivalence_p": decision.equivalence_p}
            )
            return {
                "name": name,
                **comparison.to_dict(),
                **tests,
                **holm,
                "outcome": decision.outcome,
                "within_margin": decision.within_margin,
                "interval_low": decision.low,
                "interval_high": decision.high,
                "interval_confidence": decision.confidence,
                "exploratory": exploratory,
                "comparative": self.comparatives[name],
            }

        return {
            "schema": SCHEMA_VERSION,
            "analysis": self.analysis,
            "numbers": self.numbers,
            "family_size": self.family.size,
            "family_tests": self.family.tests,
            "comparisons": [row(n, c, False) for n, c in self.family.comparisons.items()],
            "exploratory": [row(n, c, True) for n, c in self.exploratory.items()],
        }  # fmt: skip

    def save(self, cfg: Config) -> Path:
        """Write ``<artifacts_dir>/<analysis>/results.json`` (NaN where a value is undefined)."""
        return save_json(self.to_dict(), results_path(cfg, self.analysis))


def explore_path(cfg: Config) -> Path:
    """``<artifacts_dir>/explore``: what the analyses persist for the explorer."""
    return cfg.artifacts_path / "explore"


def absent(cfg: Config, path: Path) -> str:
    """Why ``path`` (an artifact of the run) is absent, naming the notebook that writes it."""
    analysis = writer(path.relative_to(cfg.artifacts_path).as_posix())
    where = f"run {analysis.notebook} on this run" if analysis else "no declared notebook does"
    return f"{path} is absent: {where} to write it."


def results_path(cfg: Config, analysis: str) -> Path:
    """``<artifacts_dir>/<analysis>/results.json``."""
    return cfg.artifacts_path / analysis / RESULTS_FILE
