"""The trained hybrid head under finite shots and device noise (Mari et al. ran theirs on IBM
and Rigetti processors with 1,024 shots).

Finite shots use qiskit-aer's ``EstimatorV2`` with precision 1/sqrt(shots). Device noise uses the
noise model of one of qiskit-ibm-runtime's fake devices (calibration snapshots of real IBM
processors), with the circuit transpiled to that device's native gates and qubit layout, so the
noise acts on the gates the device would run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch
from qiskit.providers import BackendV2

from helpers.analysis.results import Results
from helpers.analysis.stats import paired_comparison
from helpers.model.heads import DressedQuantumHead
from helpers.model.train import evaluate
from helpers.quantum import QuantumLayer


def fake_device(name: str) -> BackendV2:
    """A fake IBM device by class name, e.g. ``FakeManilaV2``; the error lists the valid names."""
    from qiskit_ibm_runtime import fake_provider

    available = sorted(
        name
        for name, value in vars(fake_provider).items()
        if name.startswith("Fake") and isinstance(value, type) and issubclass(value, BackendV2)
    )
    if name not in available:
        raise ValueError(
            f"noise_device={name!r} is not a qiskit-ibm-runtime fake device; use one of "
            f"{', '.join(available)}."
        )
    return getattr(fake_provider, name)()


def with_quantum_backend(
    head: DressedQuantumHead, shots: int | None, seed: int, target: BackendV2 | None = None
) -> DressedQuantumHead:
    """A copy of a trained hybrid head whose circuit runs on qiskit-aer with ``shots`` and, if a
    ``target`` device is given, that device's noise model on the transpiled circuit."""
    from qiskit_aer.noise import NoiseModel

    noisy = copy.deepcopy(head)
    noisy.q_layer = QuantumLayer(
        head.q_layer.n_qubits,
        head.q_layer.q_depth,
        backend="aer",
        shots=shots,
        seed=seed,
        noise_model=None if target is None else NoiseModel.from_backend(target),
        initial_weights=head.q_layer.weight.detach(),
        target=target,
    )
    return noisy.eval()


def shot_study(
    head: DressedQuantumHead,
    features: torch.Tensor,
    labels: torch.Tensor,
    shots: list[int],
    repeats: int,
    target: BackendV2,
    seed: int = 0,
) -> list[dict[str, object]]:
    """Accuracy and loss for every shot count, ``repeats`` times each (different seeds),
    noiseless and with the ``target`` device's noise; plus the exact (infinite-shot) reference."""
    exact_loss, exact_accuracy, _ = evaluate(head, features, labels)
    rows: list[dict[str, object]] = [
        {
            "noise": "exact",
            "shots": None,
            "repeat": 0,
            "accuracy": exact_accuracy,
            "loss": exact_loss,
        }
    ]
    for noise, noise_device in (("noiseless", None), (target.name, target)):
        for count in shots:
            for repeat in range(repeats):
                noisy = with_quantum_backend(head, int(count), seed + repeat, noise_device)
                loss, accuracy, _ = evaluate(noisy, features, labels)
                rows.append(
                    {
                        "noise": noise,
                        "shots": int(count),
                        "repeat": repeat,
                        "accuracy": accuracy,
                        "loss": loss,
                    }
                )
    return rows


def summarise(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Mean and spread (standard deviation over repeats) per noise setting and shot count."""
    groups: dict[tuple[str, object], list[float]] = {}
    for row in rows:
        groups.setdefault((str(row["noise"]), row["shots"]), []).append(float(row["accuracy"]))
    return [
        {
            "noise": noise,
            "shots": count,
            "repeats": len(values),
            "accuracy": float(np.mean(values)),
            "accuracy_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        }
        for (noise, count), values in groups.items()
    ]


def shot_results(studies: Mapping[str, Mapping[int, list[dict[str, object]]]]) -> Results:
    """:func:`shot_study` of every seed's head of each circuit model (``studies[model][seed]``:
    the hybrid and its depth-0 control): each setting's accuracy (averaged over its repeats
    within a seed) as mean ± SE over seeds. The family: the accuracy each setting loses against
    the exact evaluation, hybrid vs control, paired by seed (does the circuit beyond depth 0
    lose more to shots and device noise?). Each setting against exact, per model: exploratory."""
    results = Results("noise")
    lost: dict[str, dict[tuple[str, object], list[float]]] = {}
    for model, by_seed in studies.items():
        accuracy: dict[tuple[str, object], list[float]] = {}
        for rows in by_seed.values():
            for row in summarise(rows):
                accuracy.setdefault((str(row["noise"]), row["shots"]), []).append(row["accuracy"])
        exact = accuracy.pop(("exact", None))
        results.add("test accuracy", exact, "seeds", model=model, noise="exact", shots="exact")
        lost[model] = {}
        for (noise, shots), values in accuracy.items():
            results.add("test accuracy", values, "seeds", model=model, noise=noise, shots=shots)
            comparison = paired_comparison(exact, values, unit="seeds", names=("exact", noise))
            results.explore(f"{model} test accuracy with {shots} shots, {noise}", comparison)
            lost[model][(noise, shots)] = list(np.subtract(exact, values))
    if {"hybrid", "product"} <= set(lost):
        for (noise, shots), hybrid in lost["hybrid"].items():
            control = lost["product"][(noise, shots)]
            comparison = paired_comparison(
                control, hybrid, unit="seeds", names=("product", "hybrid")
            )
            results.compare(f"accuracy lost to {shots} shots, {noise}", comparison, "loses more")
    return results
