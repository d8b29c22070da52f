"""The trained hybrid head as hardware would run it: sampled shots, device noise, mitigation
(Mari et al. ran theirs on IBM and Rigetti processors with 1,024 shots).

Every ⟨Z_j⟩ of an image is estimated from the same ``shots`` measured bit-strings
(:class:`~helpers.quantum.SampledEstimator`: qiskit-aer computes the exact outcome distribution
of the measured qubits, readout error included, and the counts are drawn from it as
``Multinomial(shots, p)`` with a seeded generator, the distribution of ``shots`` independent
measured bit-strings). Device noise is the noise model of one of qiskit-ibm-runtime's fake
devices (calibration snapshots of real IBM processors: gate errors, relaxation and readout
error) on the circuit transpiled to that device's gates and layout and scheduled, so that idle
qubits relax (T1/T2) in their delays as well. The settings separate the two: shots without noise;
device noise with exact expectation values (density matrix, readout confusion applied to the
exact probabilities); device noise with shots; then readout mitigation (M3, calibrated on Aer) of
those counts and zero-noise extrapolation on top (every gate folded to the noise factors 1, 3 and
5, the folded circuits rescheduled, Richardson extrapolation to zero noise;
:mod:`helpers.quantum.folding`). :func:`zne_noise_factors` measures the factors each circuit's
folding achieves; a circuit with no noisy gate to fold gets no ZNE (there is nothing to scale).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from qiskit.providers import BackendV2

from helpers.analysis.results import Results
from helpers.analysis.stats import NO_MARGIN, paired_comparison
from helpers.config import Config
from helpers.declare import FRACTION, POSITIVE, POSITIVE_LIST, POSITIVE_NUMBER, Analysis, Parameter
from helpers.model.heads import DressedQuantumHead, model_circuit
from helpers.quantum import QuantumLayer
from helpers.quantum.devices import fake_device, measured_noise_factors, noise_model
from helpers.quantum.folding import noisy_gates
from helpers.quantum.sampled import ZNE_FACTORS, SampledEstimator

EXACT = "exact"
FAMILY_QUESTION = "hybrid vs product control, accuracy lost to noise"


def check_device(cfg: Config) -> None:
    """Raise if ``cfg.noise_device`` is no fake device with enough qubits, if ``noise_images``
    gives no standard error over images, or if seeds × repeats give no spread of single runs
    for the shot budget, or if an observable is not diagonal (preflight)."""
    if cfg.noise_images < 2:
        raise ValueError(
            f"noise_images={cfg.noise_images}: the accuracy's standard error over images needs "
            "at least 2; give noise_images >= 2."
        )
    if cfg.shot_repeats * len(cfg.seeds) < 2:
        raise ValueError(
            f"shot_repeats={cfg.shot_repeats} with {len(cfg.seeds)} seed: the shot budget needs "
            "the spread of two or more single runs; give shot_repeats >= 2."
        )
    fake_device(cfg.noise_device, cfg.n_qubits)
    labels = [x for o in model_circuit("hybrid", cfg).observables for x in o.paulis.to_labels()]
    if any(set(label) - {"I", "Z"} for label in labels):  # the controls share the observables
        raise ValueError(f"circuit={cfg.circuit!r}: {labels} have X or Y terms; 08 samples one "
                         "Z-basis measurement: it needs observables of I and Z only.")  # fmt: skip


ANALYSIS = Analysis(
    name="noise",
    notebook="08_noise_and_shots",
    title="Shots and device noise: what does hardware change?",
    parameters=(
        Parameter(
            "shots", [64, 256, 1024, 8192], POSITIVE_LIST, smoke=[64, 1024], help="shots per image"
        ),
        Parameter(
            "shot_repeats",
            5,
            POSITIVE,
            smoke=2,
            help="repeats of each (sampling seeds seed, seed + 1, ...)",
        ),
        Parameter(
            "noise_device", "FakeManilaV2", help="the fake IBM device whose noise is simulated"
        ),
        Parameter("noise_images", 500, POSITIVE, smoke=64, help="test images evaluated"),
        Parameter(
            "budget_z_error",
            0.05,
            POSITIVE_NUMBER,
            help="shot budget: a single run's mean |⟨Z_j⟩ − exact ⟨Z_j⟩| at most this",
        ),
        Parameter(
            "budget_probability",
            0.95,
            FRACTION,
            help="shot budget: the probability a single run is within its tolerances",
        ),
    ),
    shared=("accuracy_margin",),
    key_figure="08_accuracy_vs_shots",
    needs=("hybrid",),
    check=check_device,
)


@dataclasses.dataclass(frozen=True)
class Setting:
    """How the circuit is evaluated: with the device's noise or not, sampled or exact, and the
    mitigations applied."""

    noisy: bool
    sampled: bool
    mitigation: tuple[str, ...] = ()


SETTINGS = {
    "shots only": Setting(noisy=False, sampled=True),
    "device noise": Setting(noisy=True, sampled=False),
    "device noise + shots": Setting(noisy=True, sampled=True),
    "+ M3": Setting(noisy=True, sampled=True, mitigation=("m3",)),
    "+ M3 + ZNE": Setting(noisy=True, sampled=True, mitigation=("m3", "zne")),
}


def with_quantum_backend(
    head: DressedQuantumHead,
    shots: int | None,
    seed: int,
    target: BackendV2 | None = None,
    mitigation: Sequence[str] = (),
) -> DressedQuantumHead:
    """A copy of a trained hybrid head whose circuit runs on qiskit-aer: ``shots`` bit-strings
    per image (None: exact) and, if a ``target`` device is given, the circuit transpiled and
    scheduled for it under its noise model (``NoiseModel.from_backend``, idle qubits relaxing in
    their delays), with the ``mitigation`` chosen.

    Args:
        head: A trained hybrid head (left unchanged).
        shots: Bit-strings measured per image; None for exact expectation values.
        seed: The sampling seed.
        target: The fake device whose noise is simulated; None for a noiseless simulator.
        mitigation: Any of ``"m3"`` (readout) and ``"zne"`` (zero-noise extrapolation).

    Returns:
        The copy, in eval mode; its ``q_layer`` holds the transpiled circuit.

    Example:
        >>> device = fake_device("FakeManilaV2", 4)  # doctest: +SKIP
        >>> noisy = with_quantum_backend(head, shots=1024, seed=0, target=device)  # doctest: +SKIP
    """
    noisy = copy.deepcopy(head)
    noisy.q_layer = QuantumLayer(
        q_depth=head.q_layer.q_depth,
        circuit=head.q_layer.spec,
        backend="aer",
        shots=shots,
        seed=seed,
        noise_model=None if target is None else noise_model(target),
        mitigation=mitigation,
        initial_weights=head.q_layer.weight.detach(),
        target=target,
    )
    return noisy.eval()


@torch.no_grad()
def _evaluate(
    head: DressedQuantumHead,
    features: torch.Tensor,
    labels: torch.Tensor,
    exact: torch.Tensor | None = None,
) -> tuple[dict[str, float], torch.Tensor]:
    """Accuracy (± SE over images), loss and the error of ⟨Z_j⟩ against ``exact`` (mean over
    qubits of |Δ⟨Z_j⟩| per image, ± SE over images; 0 without ``exact``); and the ⟨Z_j⟩."""
    q_out = head.q_layer(head.encode(head.pre_net(features)))
    logits = head.post_net(q_out)
    correct = (logits.argmax(1) == labels).double()
    reference = q_out if exact is None else exact
    error = (q_out.double() - reference.double()).abs().mean(dim=1)
    n = len(labels)
    return {
        "accuracy": correct.mean().item(),
        "accuracy_se": (correct.std() / n**0.5).item() if n > 1 else 0.0,
        "loss": torch.nn.functional.cross_entropy(logits, labels).item(),
        "z_error": error.mean().item(),
        "z_error_se": (error.std() / n**0.5).item() if n > 1 else 0.0,
    }, q_out


def shot_sweep(
    head: DressedQuantumHead,
    features: torch.Tensor,
    labels: torch.Tensor,
    shots: Sequence[int],
    repeats: int,
    target: BackendV2,
    seed: int = 0,
    settings: Mapping[str, Setting] = SETTINGS,
) -> list[dict[str, object]]:
    """One row per setting, shot count and repeat (sampling seed ``seed + repeat``): accuracy
    and its SE over images, loss, and the error of ⟨Z_j⟩ against the exact evaluation (the first
    row). A setting without shots is deterministic: one row. The settings of one repeat share
    the sampling seed, so the mitigations correct the very counts of the unmitigated row. A ZNE
    setting is left out (no rows) for a circuit with no gate the device's noise model puts an
    error on: folding would scale nothing and the "extrapolation" would only amplify shot noise.

    One noiseless and one noisy copy of the head are built; every row starts a new run on its
    estimator (:meth:`~helpers.quantum.SampledEstimator.reset`: shots, seed, mitigation, M3
    recalibrated), which remembers the exact outcome probabilities of these images, so the
    circuits are simulated once per copy and noise factor, not once per row.

    Args:
        head: A trained hybrid (or depth-0 control) head.
        features: Test features ``(N, 512)``.
        labels: Their class indices ``(N,)``.
        shots: The shot counts per image to try.
        repeats: Sampling seeds per shot count.
        target: The fake device whose noise the noisy settings simulate.
        seed: The first sampling seed.
        settings: The settings to evaluate, by name.

    Returns:
        The rows: ``setting``, ``shots`` (None without), ``repeat``, ``accuracy``,
        ``accuracy_se``, ``loss``, ``z_error``, ``z_error_se``.

    Example:
        >>> rows = shot_sweep(head, inputs, labels, [64, 1024], 5, device, seed=0)  # doctest: +SKIP
    """
    scores, exact = _evaluate(head, features, labels)
    rows: list[dict[str, object]] = [{"setting": EXACT, "shots": None, "repeat": 0, **scores}]
    copies: dict[bool, DressedQuantumHead] = {}
    for name, setting in settings.items():
        if setting.noisy not in copies:  # shots=1: a SampledEstimator, reset for every row
            device = target if setting.noisy else None
            copies[setting.noisy] = with_quantum_backend(head, 1, seed, device)
        noisy_head = copies[setting.noisy]
        estimator = _sampled_estimator(noisy_head)
        circuit = noisy_head.q_layer.neural_network.circuit
        if "zne" in setting.mitigation and not noisy_gates(circuit, estimator.noise_model):
            continue
        runs = [(int(count), r) for count in shots for r in range(repeats)]
        for count, repeat in runs if setting.sampled else [(None, 0)]:
            estimator.reset(shots=count, seed=seed + repeat, mitigation=setting.mitigation)
            scores, _ = _evaluate(noisy_head, features, labels, exact)
            rows.append({"setting": name, "shots": count, "repeat": repeat, **scores})
    return rows


def _sampled_estimator(head: DressedQuantumHead) -> SampledEstimator:
    """The :class:`~helpers.quantum.SampledEstimator` a :func:`with_quantum_backend` head's
    circuit runs on."""
    backend = getattr(head.q_layer, "backend", None)
    estimator = getattr(backend, "estimator", None)
    if not isinstance(estimator, SampledEstimator):
        raise TypeError(
            f"the head's circuit runs on {type(estimator).__name__}, not a SampledEstimator; "
            "build it with with_quantum_backend(head, shots, ...)."
        )
    return estimator


def zne_noise_factors(
    head: DressedQuantumHead, features: torch.Tensor, target: BackendV2
) -> dict[int, float]:
    """The noise factor each ZNE folding reaches on the head's circuit, transpiled and
    scheduled for ``target``, on these images
    (:func:`~helpers.quantum.devices.measured_noise_factors`: the device's gate and idle noise).

    Args:
        head: A trained hybrid (or depth-0 control) head.
        features: Test features ``(N, 512)``.
        target: The fake device.

    Returns:
        The measured factor by nominal factor (:data:`~helpers.quantum.sampled.ZNE_FACTORS`);
        NaN where no value decays (a circuit with no noisy gate to fold).

    Example:
        >>> zne_noise_factors(head, inputs[:32], device)  # doctest: +SKIP
        {1: 1.0, 3: 3.04, 5: 5.18}
    """
    weights = head.q_layer.weight.detach()
    model = noise_model(target)  # QuantumLayer schedules the circuit under a noise model
    layer = QuantumLayer(circuit=head.q_layer.spec, backend="aer", noise_model=model,
                         initial_weights=weights, target=target)  # fmt: skip
    qnn = layer.neural_network
    with torch.no_grad():
        angles = head.encode(head.pre_net(features)).double()
        ideal = head.q_layer(angles).numpy()
    rows = np.hstack([angles.numpy(), np.tile(weights.double().numpy(), (len(angles), 1))])
    values = {(*qnn.input_params, *qnn.weight_params): rows[:, None, :]}
    return measured_noise_factors(qnn.circuit, qnn.observables, values, ideal, target)


def mean_over_repeats(rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Per setting and shot count: accuracy and ⟨Z_j⟩ error, their mean over repeats, the
    standard deviation over repeats (sampling seeds) and the SE over images (mean over
    repeats).

    Args:
        rows: :func:`shot_sweep` rows.

    Returns:
        One row per (setting, shots): ``repeats`` and, for ``accuracy`` and ``z_error``, the
        mean, ``_std`` and ``_se``.

    Example:
        >>> rows = [{"setting": "shots only", "shots": 64, "accuracy": a, "accuracy_se": 0.02,
        ...          "z_error": 0.1, "z_error_se": 0.01} for a in (0.8, 0.9)]
        >>> round(mean_over_repeats(rows)[0]["accuracy"], 3)
        0.85
    """
    groups: dict[tuple[str, object], list[Mapping[str, object]]] = {}
    for row in rows:
        groups.setdefault((str(row["setting"]), row["shots"]), []).append(row)
    averaged = []
    for (setting, count), group in groups.items():
        line: dict[str, object] = {"setting": setting, "shots": count, "repeats": len(group)}
        for metric in ("accuracy", "z_error"):
            values = [float(row[metric]) for row in group]
            line[metric] = float(np.mean(values))
            line[f"{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            line[f"{metric}_se"] = float(np.mean([float(row[f"{metric}_se"]) for row in group]))
        averaged.append(line)
    return averaged


def noise_results(
    sweeps: Mapping[str, Mapping[int, list[dict[str, object]]]],
    margin: float = NO_MARGIN,
    noise_factors: Mapping[str, Mapping[int, Mapping[int, float]]] | None = None,
) -> Results:
    """:func:`shot_sweep` of every seed's head of each circuit model (``sweeps[model][seed]``:
    the hybrid and its depth-0 control): each setting's accuracy and ⟨Z_j⟩ error (averaged over
    its repeats within a seed) as mean ± SE over seeds. The family, one comparison per setting
    at the largest shot count tried (and device noise evaluated exactly): the accuracy it loses
    against the exact evaluation, hybrid vs control, paired by seed (does the circuit beyond
    depth 0 lose more to noise?), for the settings both models were evaluated in (a circuit
    with nothing to fold has no ZNE rows). Exploratory: the same at the smaller shot counts,
    each setting against exact, and what each mitigation changes in the ⟨Z_j⟩ error, per model.

    Args:
        sweeps: :func:`shot_sweep` rows, ``[model][seed]``.
        margin: The equivalence margin of accuracy (the accuracy comparisons' ±Δ).
        noise_factors: :func:`zne_noise_factors` ``[model][seed]``, stated as mean ± SE over
            seeds per nominal factor (None: not stated).

    Returns:
        The analysis' :class:`~helpers.analysis.results.Results` (``"noise"``).

    Example:
        >>> results = noise_results(sweeps, margin=0.02)  # doctest: +SKIP
    """
    results = Results(ANALYSIS.name)
    lost: dict[str, dict[tuple[str, object], list[float]]] = {}
    for model, by_seed in sweeps.items():
        table: dict[tuple[str, object], dict[str, list[float]]] = {}
        for rows in by_seed.values():
            for row in mean_over_repeats(rows):
                cell = table.setdefault((str(row["setting"]), row["shots"]), {})
                for metric in ("accuracy", "z_error"):
                    cell.setdefault(metric, []).append(float(row[metric]))
        exact = table.pop((EXACT, None))["accuracy"]
        results.add("test accuracy", exact, "seeds", model=model, setting=EXACT, shots="no")
        lost[model] = {}
        for (setting, shots), cell in table.items():
            label = "no" if shots is None else shots
            results.add("test accuracy", cell["accuracy"], "seeds", model=model, setting=setting,
                        shots=label)  # fmt: skip
            results.add("<Z_j> error", cell["z_error"], "seeds", model=model, setting=setting,
                        shots=label)  # fmt: skip
            comparison = paired_comparison(
                exact, cell["accuracy"], unit="seeds", names=(EXACT, setting), margin=margin
            )
            results.explore(f"{model} test accuracy, {setting}, {label} shots", comparison)
            lost[model][(setting, label)] = list(np.subtract(exact, cell["accuracy"]))
            before = table.get(("device noise + shots", shots))
            if setting.startswith("+") and before is not None:
                comparison = paired_comparison(
                    before["z_error"], cell["z_error"], unit="seeds",
                    names=("device noise + shots", setting),
                )  # fmt: skip
                results.explore(f"{model} <Z_j> error, {setting}, {label} shots", comparison,
                                "larger")  # fmt: skip
    for model, by_seed in (noise_factors or {}).items():
        for factor in ZNE_FACTORS[1:]:
            values = [factors[factor] for factors in by_seed.values()]
            results.add("ZNE effective noise factor", values, "seeds", model=model,
                        nominal=factor)  # fmt: skip
    if {"hybrid", "product"} <= set(lost):
        largest = max((shots for _, shots in lost["hybrid"] if shots != "no"), default=None)
        for key, hybrid in lost["hybrid"].items():
            if key not in lost["product"]:  # a setting the control was not evaluated in
                continue
            comparison = paired_comparison(
                lost["product"][key], hybrid, unit="seeds", names=("product", "hybrid"),
                margin=margin,
            )  # fmt: skip
            setting, shots = key
            add = results.compare if shots in (largest, "no") else results.explore
            add(f"{FAMILY_QUESTION} ({setting}, {shots} shots)", comparison, "loses more")
    return results
