"""Test accuracy of every trained model over seeds, and the paired comparisons between them.

Every model was trained once per seed on the same cached features, split and batch order for
that seed, and every seed's models classify the same test images: accuracies are compared on
each image's correctness over seeds × images (a crossed design,
:func:`helpers.analysis.stats.paired_comparison`), so a verdict holds for new seeds and new
images alike, with an equivalence margin of ``accuracy_margin``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from helpers.analysis.landscape.invariant import angle_periods
from helpers.analysis.results import Results
from helpers.config import Config
from helpers.declare import FRACTION, MODEL_NAMES, QUANTUM_MODELS, Analysis, Parameter
from helpers.model.backbone import FEATURE_DIM
from helpers.model.checkpoints import load_trained_heads, read_metrics
from helpers.model.heads import DressedQuantumHead, build_head
from helpers.model.train import trained_before
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import CircuitSpec


def check_circuit(cfg: Config) -> None:
    """Raise (preflight) if the configured circuit cannot be built, or if the chosen backend
    cannot run it or one of its controls (the fast simulator names the gate and the fallback).

    Args:
        cfg: The run's configuration.

    Example:
        >>> check_circuit(Config(circuit="reuploading", n_qubits=3))
    """
    for kind in QUANTUM_MODELS:
        if kind in cfg.models:
            head = build_head(kind, cfg)
            with torch.no_grad():
                head(torch.zeros(1, FEATURE_DIM))


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
        title="Test accuracy: the hybrid, its classical twin and its product control",
        parameters=(
            Parameter(
                "accuracy_margin",
                0.02,
                FRACTION,
                help="equivalence margin of test accuracy: differences within ±this are "
                "equivalent (2 percentage points)",
            ),
        ),
        shared=("circuit", "q_depth", "q_delta", "backend"),
        check=check_circuit,
        trains=("hybrid", "product", "unentangled"),
        needs=("hybrid", "product"),
    ),
)


def per_seed(metrics: dict, name: str, seeds: list[int]) -> list[float]:
    """One metric of a model for each of ``seeds``, in that order."""
    rows = {row["seed"]: row for row in metrics["per_seed"]}
    return [rows[seed][name] for seed in seeds]


def test_accuracy_by_seed(cfg: Config) -> dict[str, dict[int, float]]:
    """Every trained model's test accuracy, by seed (from its ``metrics.json``): the run's
    ``models``, and any other declared model a notebook trained for this very run (notebook
    09's unentangled control; its checkpoint's training fingerprint must match ``cfg``)."""
    found = {}
    extra = [k for k in MODEL_NAMES if k not in cfg.models and trained_before(cfg, k) is not None]
    for kind in [*cfg.models, *extra]:
        metrics = read_metrics(cfg, kind)
        if metrics is not None:
            found[kind] = {int(row["seed"]): row["test_accuracy"] for row in metrics["per_seed"]}
            if not found[kind]:
                raise KeyError(f"the {kind} metrics.json holds no seed's test accuracy")
    return found


@torch.no_grad()
def test_correctness(
    cfg: Config, kind: str, features: torch.Tensor, labels: torch.Tensor
) -> np.ndarray:
    """Whether each seed's trained ``kind`` head classifies each test image correctly.

    Args:
        cfg: The run's configuration (the checkpoint must match it).
        kind: The model kind.
        features: Backbone features ``(N, 512)`` of the test images.
        labels: Their labels ``(N,)``.

    Returns:
        A ``(seeds, N)`` array of 1.0 (correct) and 0.0, rows in ``cfg.seeds`` order.

    Example:
        >>> labels = features.test_labels  # doctest: +SKIP
        >>> correct = test_correctness(cfg, "hybrid", features.test, labels)  # doctest: +SKIP
        >>> correct.mean()  # the accuracy over seeds and images  # doctest: +SKIP
    """
    heads = load_trained_heads(cfg, kind)
    rows = [(heads[seed](features).argmax(1) == labels).double().numpy() for seed in cfg.seeds]
    return np.stack(rows)


def accuracy_results(cfg: Config, features: torch.Tensor, labels: torch.Tensor) -> Results:
    """Validation and test accuracy of every trained model of ``cfg.models`` (mean ± SE over
    seeds) and the paired test-accuracy comparisons between the models over seeds × test images
    (one Holm family, equivalence within ``cfg.accuracy_margin``).

    Args:
        cfg: The run's configuration: the models trained and their ``metrics.json``.
        features: Backbone features ``(N, 512)`` of the test images.
        labels: Their labels ``(N,)``.

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"accuracy"``); models not
        trained yet are left out.

    Example:
        >>> results = accuracy_results(cfg, features.test, features.test_labels)  # doctest: +SKIP
        >>> publish_results(results, cfg)  # doctest: +SKIP
    """
    results = Results(ANALYSES[1].name)
    trained = {kind: m for kind in cfg.models if (m := read_metrics(cfg, kind)) is not None}
    correct = {}
    for kind, metrics in trained.items():
        for split in ("val", "test"):
            values = per_seed(metrics, f"{split}_accuracy", cfg.seeds)
            results.add(f"{split} accuracy", values, "seeds", model=kind, split=split)
        correct[kind] = test_correctness(cfg, kind, features, labels)
        recorded = np.asarray(per_seed(metrics, "test_accuracy", cfg.seeds))
        if not np.allclose(correct[kind].mean(axis=1), recorded, atol=1e-6):
            raise ValueError(
                f"the {kind} heads' accuracy on these features is not the one its metrics.json "
                "records: pass the test features of this run (features.test)"
            )
    margin = cfg.accuracy_margin
    results.compare_models(
        "test accuracy", correct, "seeds × images", "more accurate", margin=margin
    )
    return results


DISTANCE = "distance from the product control"  # RMS over test images and outputs; Mari: depth 0
SAME_FUNCTION = 1e-3  # below this RMS distance, the hybrid computes its control's function


@torch.no_grad()
def control_distance(
    head: DressedQuantumHead, features: torch.Tensor, control: CircuitSpec
) -> dict[str, float]:
    """How far a trained dressed head's circuit is from its depth-0 control in function space,
    on the circuit inputs these features give (the test images' own).

    Args:
        head: A trained dressed head (the hybrid).
        features: Backbone features ``(N, 512)`` of the test images.
        control: The product model's circuit (``heads.model_circuit("product", cfg)``: built at
            depth 0, so a re-uploading circuit's control encodes each input once).

    Returns:
        ``trained``: the RMS over images and qubits of ⟨Z_j⟩ minus the control's output on the
        same inputs (−sin(x_j) for Mari's circuit); ``zero weights``: the same for the circuit
        with every weight at 0 (a CNOT ladder of order 4 at 3-4 qubits makes depths 4 and 8
        equal the control there); ``angles``: the RMS of the trained circuit weights, radians,
        each taken in (−π, π] so that a shift by the period changes nothing.

    Example:
        >>> control = model_circuit("product", cfg)
        >>> control_distance(heads[0], features.test, control)["trained"]  # doctest: +SKIP
    """
    angles = head.encode(head.pre_net(features))
    layer = head.q_layer
    control = QuantumLayer(circuit=control)(angles)
    zeroed = copy.deepcopy(layer)
    zeroed.weight.zero_()
    # each angle in (−P/2, P/2], P its period in the outputs (2π for RY): period-invariant
    try:
        periods = angle_periods(layer).double()
    except ValueError:  # a weight whose gates have no period: no wrapped RMS
        periods = torch.full_like(layer.weight.detach().double(), math.nan)
    weights = torch.remainder(layer.weight.detach().double() + periods / 2, periods) - periods / 2
    rms = weights.pow(2).mean().sqrt() if weights.numel() else torch.tensor(0.0)
    return {
        "trained": float((layer(angles) - control).pow(2).mean().sqrt()),
        "zero weights": float((zeroed(angles) - control).pow(2).mean().sqrt()),
        "angles": float(rms),
    }


def add_control_distance(
    results: Results,
    heads: dict[int, DressedQuantumHead],
    features: torch.Tensor,
    control: CircuitSpec,
) -> list[dict[str, float]]:
    """State every seed's :func:`control_distance` of the hybrid in ``results`` (mean ± SE over
    seeds, descriptive numbers: no verdict).

    Args:
        results: The accuracy analysis's results, which gain three numbers.
        heads: The hybrid's trained heads, by seed.
        features: Backbone features ``(N, 512)`` of the test images.
        control: The product model's circuit (see :func:`control_distance`).

    Returns:
        The per-seed values, in the order of ``heads``.

    Example:
        >>> control = model_circuit("product", cfg)
        >>> found = add_control_distance(accuracy, heads, features.test, control)  # doctest: +SKIP
    """
    per_seed = [control_distance(head, features, control) for head in heads.values()]
    for key, unit in (("trained", "⟨Z_j⟩ RMS"), ("zero weights", "⟨Z_j⟩ RMS"), ("angles", "rad")):
        name = DISTANCE if key == "trained" else f"{DISTANCE}, {key}"
        name = "circuit weights, RMS" if key == "angles" else name
        results.add(name, [row[key] for row in per_seed], "seeds", model="hybrid", measure=unit)
    return per_seed
