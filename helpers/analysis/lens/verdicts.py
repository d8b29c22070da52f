"""Notebook 09's declaration and verdicts: the quantum lens over seeds.

Units of replication: trained models (seeds) for the measures of a head (the multi-body share
of its decision); seeds × test images (a crossed design) for the measures taken on each image
(accuracy after the ablation, Meyer-Wallach Q). The Holm family asks of the hybrid alone
(its controls are additive and unentangled by construction for every built-in family, so
comparing them with it would test the hybrid against 0 twice; their values are stated as
checks): is its decision's multi-body share below ``share_margin``, does removing its
multi-body terms change its accuracy, and did training's circuit weights or its pre-net move
the entanglement of its states. The uniform-measure ablation, the loss, the shares of the
outputs, Q by class and capacity are exploratory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from helpers.analysis.lens.capacity import GradientVariance
from helpers.analysis.lens.capacity_study import Capacity
from helpers.analysis.lens.study import SETTINGS, HeadLens
from helpers.analysis.results import Results
from helpers.analysis.stats import paired_comparison
from helpers.declare import FRACTION, POSITIVE, Analysis, Parameter, Rule, Tab

DEPTHS = Rule(
    lambda values: bool(values) and min(values) >= 0 and len(set(values)) == len(values),
    "a list of distinct depths >= 0",
)

ANALYSIS = Analysis(
    name="lens",
    notebook="09_quantum_lens",
    title="The quantum lens: what does the trained circuit compute, and does it use entanglement?",
    parameters=(
        Parameter(
            "lens_images", 500, POSITIVE, smoke=64, help="balanced test images 09 looks through"
        ),
        Parameter(
            "share_margin",
            0.05,
            FRACTION,
            help="equivalence margin of 09's multi-body share (a fraction of the variance)",
        ),
        Parameter(
            "entanglement_margin",
            0.05,
            FRACTION,
            help="equivalence margin of 09's Meyer-Wallach Q (in [0, 1])",
        ),
        Parameter(
            "gradient_depths",
            [1, 2, 4, 6, 8],
            DEPTHS,
            smoke=[1, 2],
            help="circuit depths of 09's barren-plateau check",
        ),
        Parameter(
            "gradient_draws", 200, POSITIVE, smoke=32, help="random weight draws per depth (09)"
        ),
    ),
    shared=("accuracy_margin",),
    key_figure="09_multi_body_share",
    tab=Tab("Quantum lens", "helpers.present.lens_tab:LensTab"),
    needs=("hybrid",),
)


Study = Mapping[int, Mapping[str, HeadLens]]


def _per_seed(study: Study, read: Callable[[HeadLens], object]) -> dict[str, list]:
    kinds = next(iter(study.values())).keys()
    return {kind: [read(seeds[kind]) for seeds in study.values()] for kind in kinds}


def _by_image(study: Study, kind: str, read: Callable[[HeadLens], np.ndarray]) -> np.ndarray:
    return np.stack([read(seeds[kind]) for seeds in study.values()])  # (seeds, images)


def multi_body_power_share(power: np.ndarray) -> float:
    """The multi-body share of the outputs' variance under uniform inputs: the power of orders
    ≥ 2 over that of orders ≥ 1, summed over the outputs (NaN for constant outputs)."""
    varying = np.clip(power[:, 1:], 0, None).sum()
    return float(np.clip(power[:, 2:], 0, None).sum() / varying) if varying > 0 else np.nan


def _numbers(results: Results, study: Study, labels: np.ndarray, classes: list[str]) -> None:
    """Every model's numbers (the controls' are checks: 0 by construction)."""
    per_seed = {
        "multi-body share of the decision": lambda lens: lens.decision,
        "multi-body share of the decision at initialisation": lambda lens: lens.initial_decision,
        "multi-body power share, uniform inputs": lambda lens: multi_body_power_share(
            lens.power.power
        ),
        "multi-body power share, uniform inputs, at initialisation": lambda lens: (
            multi_body_power_share(lens.initial_power.power)
        ),
        "largest circuit-weight change (rad)": lambda lens: lens.weight_change,
        "largest logit change, Fourier series swapped in": lambda lens: lens.check,
        "saturated inputs": lambda lens: lens.saturated.mean(),
    }
    for name, read in per_seed.items():
        for kind, values in _per_seed(study, read).items():
            results.add(name, values, "seeds", model=kind)
    for kind in next(iter(study.values())):
        for setting in SETTINGS:
            shares = _per_seed(study, lambda lens, s=setting: lens.output_share[s])[kind]
            results.add("mean multi-body share of an output", shares, "seeds", model=kind,
                        setting=setting)  # fmt: skip
            q = _by_image(study, kind, lambda lens, s=setting: lens.states[s].meyer_wallach)
            results.add("Meyer-Wallach Q", q.mean(1), "seeds", model=kind, setting=setting)
        q = _by_image(study, kind, lambda lens: lens.states["trained"].meyer_wallach)
        for c, name in enumerate(classes):
            results.add("Meyer-Wallach Q by class", q[:, labels == c].mean(1), "seeds",
                        model=kind, **{"class": name})  # fmt: skip
        full = _by_image(study, kind, lambda lens: lens.scores["correct_full"])
        for surrogate in ("fitted", "uniform"):
            ablated = _by_image(study, kind, lambda lens, s=surrogate: lens.scores[f"correct_{s}"])
            results.add("accuracy change without multi-body terms", (ablated - full).mean(1),
                        "seeds", model=kind, surrogate=surrogate)  # fmt: skip
    splits = [seeds["hybrid"].control_split for seeds in study.values() if "hybrid" in seeds]
    for part in splits[0] if splits else {}:
        results.add("RMS distance from the product control", [s[part] for s in splits], "seeds",
                    model="hybrid", part=part)  # fmt: skip


def lens_results(
    study: Study,
    labels: np.ndarray,
    classes: list[str],
    share_margin: float,
    accuracy_margin: float,
    entanglement_margin: float,
) -> Results:
    """The lens's numbers and verdicts over seeds (capacity: :func:`add_capacity`).

    Args:
        study: ``{seed: {kind: HeadLens}}`` (:func:`~helpers.analysis.lens.study.lens_study`).
        labels: The study images' labels ``(N,)``.
        classes: The class names.
        share_margin: Equivalence margin of the multi-body share.
        accuracy_margin: Equivalence margin of the accuracy change by the ablation.
        entanglement_margin: Equivalence margin of Meyer-Wallach Q.

    Returns:
        The analysis's :class:`~helpers.analysis.results.Results` (``"lens"``).

    Example:
        >>> results = lens_results(study, y, classes, 0.05, 0.02, 0.05)  # doctest: +SKIP
    """
    results = Results(ANALYSIS.name)
    labels = np.asarray(labels)
    _numbers(results, study, labels, classes)
    if "hybrid" in next(iter(study.values())):
        _hybrid_verdicts(results, study, labels, classes, share_margin, accuracy_margin,
                         entanglement_margin)  # fmt: skip
    return results


def _hybrid_verdicts(
    results: Results,
    study: Study,
    labels: np.ndarray,
    classes: list[str],
    share_margin: float,
    accuracy_margin: float,
    entanglement_margin: float,
) -> None:
    """The hybrid's family (see the module docstring) and its exploratory comparisons."""
    share = np.array(_per_seed(study, lambda lens: lens.decision)["hybrid"])
    results.compare(
        "multi-body share of the hybrid's decision, against none",
        paired_comparison(np.zeros_like(share), share, unit="seeds", names=("none", "hybrid"),
                          margin=share_margin),
    )  # fmt: skip
    scores = {
        name: _by_image(study, "hybrid", lambda lens, n=name: lens.scores[n])
        for name in ("correct_full", "correct_fitted", "correct_uniform", "loss_full",
                     "loss_fitted")
    }  # fmt: skip
    results.compare(
        "test accuracy of the hybrid, multi-body terms removed (fitted additive surrogate)",
        paired_comparison(scores["correct_full"], scores["correct_fitted"], unit="seeds × images",
                          names=("whole", "additive"), margin=accuracy_margin),
    )  # fmt: skip
    q = {
        setting: _by_image(study, "hybrid", lambda lens, s=setting: lens.states[s].meyer_wallach)
        for setting in SETTINGS
    }
    for name, before in (("circuit weights", "initial circuit"), ("pre-net", "initial inputs")):
        results.compare(
            f"Meyer-Wallach Q of the hybrid, trained vs initial {name}",
            paired_comparison(q[before], q["trained"], unit="seeds × images",
                              names=(f"initial {name}", "trained"), margin=entanglement_margin),
        )  # fmt: skip
    results.explore(
        "test accuracy of the hybrid, multi-body terms removed (uniform-measure ANOVA part)",
        paired_comparison(scores["correct_full"], scores["correct_uniform"],
                          unit="seeds × images", names=("whole", "uniform additive")),
    )  # fmt: skip
    results.explore(
        "test loss of the hybrid, multi-body terms removed (fitted additive surrogate)",
        paired_comparison(scores["loss_full"], scores["loss_fitted"], unit="seeds × images",
                          names=("whole", "additive")),
    )  # fmt: skip
    outputs = {
        setting: _per_seed(study, lambda lens, s=setting: lens.output_share[s])["hybrid"]
        for setting in ("initial circuit", "trained")
    }
    results.explore(
        "mean multi-body share of the hybrid's outputs, trained vs initial circuit weights",
        paired_comparison(outputs["initial circuit"], outputs["trained"], unit="seeds",
                          names=("initial circuit", "trained")),
    )  # fmt: skip
    by_class = [q["trained"][:, labels == c].mean(1) for c in range(len(classes))]
    for c in range(1, len(classes)):
        results.explore(
            f"Meyer-Wallach Q of the hybrid, {classes[c]} vs {classes[0]} images (over seeds; "
            "the images fixed)",
            paired_comparison(by_class[0], by_class[c], unit="seeds",
                              names=(classes[0], classes[c])),
        )  # fmt: skip


def add_capacity(
    results: Results, capacity: Capacity, at: int, gradients: Mapping[str, GradientVariance]
) -> None:
    """The effective dimensions at one data size (exploratory comparisons between models over
    seeds, in dimensions: a head's d counts the directions n data resolve, whatever its P) beside
    each Fisher's rank, and the gradient variances, added to ``results``.

    Args:
        results: The lens's results (:func:`lens_results`).
        capacity: :func:`~helpers.analysis.lens.capacity_study.effective_dimensions`.
        at: The index of the data size compared (the training set's).
        gradients: :func:`~helpers.analysis.lens.capacity_study.gradient_study` (a point
            without weights has NaN: n/a).

    Returns:
        None; ``results`` gains the numbers and comparisons.

    Example:
        >>> add_capacity(results, capacity, 6, gradients)  # doctest: +SKIP
    """
    size = float(capacity.data_sizes[at])
    chosen = {kind: values[:, at] for kind, values in capacity.curves.items()}
    for kind, values in chosen.items():
        parameters = capacity.parameters[kind]
        results.add("effective dimension", values, "seeds", model=kind, data_size=size,
                    parameters=parameters)  # fmt: skip
        results.add("Fisher rank", capacity.ranks[kind], "seeds", model=kind,
                    parameters=parameters)  # fmt: skip
    results.compare_models("effective dimension", chosen, "seeds", exploratory=True)
    for name, found in gradients.items():
        axis = "width" if name == "width" else "depth"
        for point, variance, error in zip(found.depths, found.variances, found.ses, strict=True):
            results.add_value(f"gradient variance, {name} weights" if axis == "depth" else
                              "gradient variance against width, uniform weights", variance,
                              error, found.samples, "weight draws", **{axis: point})  # fmt: skip
