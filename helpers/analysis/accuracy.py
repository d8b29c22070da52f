"""Test accuracy of every trained model over seeds, and the paired comparisons between them.

The unit of replication is the training seed: every model was trained once per seed on the same
cached features, split and batch order for that seed, so models are compared seed by seed.
"""

from __future__ import annotations

from helpers.analysis.results import Results
from helpers.config import Config
from helpers.declare import Analysis
from helpers.model.checkpoints import read_metrics

SHARED = (
    "dataset", "classes", "data_dir", "weights", "image_size", "resize_size", "n_qubits",
    "epochs", "batch_size", "lr", "lr_step", "lr_gamma", "classical_head", "seed", "device",
    "memory_budget_mb", "val_fraction", "seeds", "models",
)  # fmt: skip
ANALYSES = (
    Analysis(
        name="classical_training",
        notebook="01_classical",
        title="The classical twin, trained once per seed",
        shared=(*SHARED, "cache_dir", "smoke"),
        trains=("classical",),
        needs=("classical",),
        results=False,
    ),
    Analysis(
        name="accuracy",
        notebook="02_hybrid_train",
        title="Test accuracy: the hybrid, its classical twin and its depth-0 control",
        shared=("q_depth", "q_delta", "backend"),
        trains=("hybrid", "product"),
        needs=("hybrid", "product"),
    ),
)


def per_seed(metrics: dict, name: str, seeds: list[int]) -> list[float]:
    """One metric of a model for each of ``seeds``, in that order."""
    rows = {row["seed"]: row for row in metrics["per_seed"]}
    return [rows[seed][name] for seed in seeds]


def test_accuracy_by_seed(cfg: Config) -> dict[str, dict[int, float]]:
    """Every trained model's test accuracy, by seed (from its ``metrics.json``)."""
    found = {}
    for kind in cfg.models:
        metrics = read_metrics(cfg, kind)
        if metrics is not None:
            found[kind] = {int(row["seed"]): row["test_accuracy"] for row in metrics["per_seed"]}
            if not found[kind]:
                raise KeyError(f"the {kind} metrics.json holds no seed's test accuracy")
    return found


def accuracy_results(cfg: Config) -> Results:
    """Validation and test accuracy of every trained model of ``cfg.models`` (mean ± SE over
    seeds) and the paired test-accuracy comparisons between the models (one Holm family).

    Args:
        cfg: The run's configuration: the models trained and their ``metrics.json``.

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"accuracy"``); models not
        trained yet are left out.

    Example:
        >>> results = accuracy_results(cfg)  # doctest: +SKIP
        >>> publish_results(results, cfg)  # doctest: +SKIP
    """
    results = Results(ANALYSES[1].name)
    trained = {kind: m for kind in cfg.models if (m := read_metrics(cfg, kind)) is not None}
    test = {}
    for kind, metrics in trained.items():
        for split in ("val", "test"):
            values = per_seed(metrics, f"{split}_accuracy", cfg.seeds)
            results.add(f"{split} accuracy", values, "seeds", model=kind, split=split)
        test[kind] = per_seed(metrics, "test_accuracy", cfg.seeds)
    results.compare_models("test accuracy", test, "seeds", "more accurate")
    return results
