"""Test accuracy of every trained model over seeds, and the paired comparisons between them.

The unit of replication is the training seed: every model was trained once per seed on the same
cached features, split and batch order for that seed, so models are compared seed by seed.
"""

from __future__ import annotations

from helpers.analysis.results import Results
from helpers.config import Config
from helpers.model.checkpoints import read_metrics


def per_seed(metrics: dict, name: str, seeds: list[int]) -> list[float]:
    """One metric of a model for each of ``seeds``, in that order."""
    rows = {row["seed"]: row for row in metrics["per_seed"]}
    return [rows[seed][name] for seed in seeds]


def accuracy_results(cfg: Config) -> Results:
    """Validation and test accuracy of every trained model of ``cfg.models`` (mean ± SE over
    seeds) and the paired test-accuracy comparisons between the models (one Holm family)."""
    results = Results("accuracy")
    trained = {kind: m for kind in cfg.models if (m := read_metrics(cfg, kind)) is not None}
    test = {}
    for kind, metrics in trained.items():
        for split in ("val", "test"):
            values = per_seed(metrics, f"{split}_accuracy", cfg.seeds)
            results.add(f"{split} accuracy", values, "seeds", model=kind, split=split)
        test[kind] = per_seed(metrics, "test_accuracy", cfg.seeds)
    results.compare_models("test accuracy", test, "seeds", "more accurate")
    return results
