"""The trained hybrid head with sampled shots, a fake device's noise and error mitigation."""

import numpy as np
import pytest
import torch

from helpers.analysis import hardware, noise
from helpers.model.backbone import cached_features
from helpers.model.checkpoints import load_trained_head
from helpers.model.train import evaluate
from helpers.quantum import QuantumLayer


def test_unknown_fake_devices_are_named_with_the_valid_ones():
    with pytest.raises(ValueError, match="FakeManilaV2"):
        noise.fake_device("FakeNowhere")
    assert noise.fake_device("FakeManilaV2").num_qubits == 5
    assert noise.fake_device("FakeManilaV2", 5).num_qubits == 5


def test_a_device_smaller_than_the_circuit_is_refused():
    with pytest.raises(ValueError, match=r"FakeArmonkV2.*1 qubits.*n_qubits=4"):
        noise.fake_device("FakeArmonkV2", 4)


def test_transpiled_circuit_on_the_device_layout_gives_the_exact_values():
    device = noise.fake_device("FakeManilaV2")
    weights = 0.7 * torch.randn(12, generator=torch.Generator().manual_seed(0))
    angles = torch.rand(6, 4) * 2 - 1
    exact = QuantumLayer(4, 3, initial_weights=weights)(angles)
    transpiled = QuantumLayer(4, 3, backend="aer", initial_weights=weights, target=device)
    assert set(transpiled.neural_network.circuit.count_ops()) <= {"rz", "sx", "x", "cx"}
    torch.testing.assert_close(transpiled(angles), exact, atol=1e-5, rtol=0)


def test_noisy_target_schedules_idle_qubits_so_their_relaxation_applies():
    from qiskit_aer.noise import NoiseModel

    from helpers.quantum.layer import z_observables
    from helpers.quantum.sampled import SampledEstimator

    device = noise.fake_device("FakeManilaV2")
    model = NoiseModel.from_backend(device)
    layer = QuantumLayer(4, 3, backend="aer", noise_model=model, target=device)
    circuit = layer.neural_network.circuit
    assert circuit.count_ops()["delay"] > 0
    without = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name != "delay":
            without.append(instruction)
    observables = [o.apply_layout(circuit.layout) for o in z_observables(4)]
    values = np.random.default_rng(0).uniform(-1, 1, (3, circuit.num_parameters))
    exact = SampledEstimator(shots=None, noise_model=model)
    idle, busy = (
        exact.run([(c, observables, values[:, None, :])]).result()[0].data.evs
        for c in (circuit, without)
    )
    # the exact (density-matrix) path relaxes the idle qubits: the delays change the values
    assert np.abs(idle - busy).max() > 1e-3


def test_shot_study_separates_shots_noise_and_mitigation(trained_smoke_cfg, monkeypatch):
    cfg = trained_smoke_cfg
    head, _ = load_trained_head(cfg, "hybrid")
    features = cached_features(cfg)
    inputs, labels = features.val[:48], features.val_labels[:48]
    device = noise.fake_device("FakeManilaV2")
    built = []
    build = noise.with_quantum_backend
    monkeypatch.setattr(
        noise, "with_quantum_backend", lambda *a, **k: built.append(a) or build(*a, **k)
    )
    rows = noise.shot_sweep(head, inputs, labels, [16, 4096], 2, device, seed=0)
    # one noiseless and one noisy copy, every row a new run (reset) on its estimator
    assert len(built) == 2
    with pytest.raises(TypeError, match="not a SampledEstimator"):
        noise._sampled_estimator(build(head, None, 0))
    settings = noise.SETTINGS
    sampled = sum(setting.sampled for setting in settings.values())
    assert len(rows) == 1 + (len(settings) - sampled) + sampled * 2 * 2
    assert rows[0]["setting"] == "exact" and rows[0]["z_error"] == 0
    assert rows[0]["accuracy"] == pytest.approx(evaluate(head, inputs, labels)[1])
    summary = {(row["setting"], row["shots"]): row for row in noise.mean_over_repeats(rows)}
    assert summary[("device noise", None)]["repeats"] == 1
    assert summary[("+ M3", 4096)]["repeats"] == 2
    accuracies = [r["accuracy"] for r in rows if r["setting"] == "shots only" and r["shots"] == 16]
    assert summary[("shots only", 16)]["accuracy"] == pytest.approx(np.mean(accuracies))
    error = {key: row["z_error"] for key, row in summary.items()}
    # shot noise shrinks with shots, ~ sqrt((1 - <Z>^2) / shots) * sqrt(2 / pi) per value
    assert error[("shots only", 4096)] < 0.02 < error[("shots only", 16)]
    # the device's noise stays at any shot count; M3 removes its readout part, ZNE more
    assert error[("device noise + shots", 4096)] > error[("shots only", 4096)] + 0.01
    assert error[("device noise", None)] > 0.02
    assert error[("+ M3", 4096)] < error[("device noise + shots", 4096)]
    assert error[("+ M3 + ZNE", 4096)] < error[("+ M3", 4096)]


def _rows(exact, noisy, error=0.1, counts=(64,)):
    common = {"loss": 0.0, "accuracy_se": 0.05, "z_error_se": 0.01}
    rows = [{"setting": "exact", "shots": None, "repeat": 0, "accuracy": exact, "z_error": 0.0}]
    rows += [
        {"setting": "fake", "shots": count, "repeat": r, "accuracy": a, "z_error": error}
        for count in counts
        for r, a in enumerate(noisy)
    ]
    return [{**common, **row} for row in rows]


def test_shot_results_compare_the_accuracy_each_model_loses_paired_by_seed():
    sweeps = {
        "hybrid": {0: _rows(0.9, [0.8, 0.7]), 1: _rows(0.8, [0.7, 0.7]), 2: _rows(0.7, [0.6, 0.5])},
        "product": {
            0: _rows(0.9, [0.9, 0.9]),
            1: _rows(0.8, [0.8, 0.7]),
            2: _rows(0.6, [0.6, 0.6]),
        },
    }
    results = noise.noise_results(sweeps)
    lost = results.family.comparisons[f"{noise.FAMILY_QUESTION} (fake, 64 shots)"]
    hybrid_lost, product_lost = [0.15, 0.1, 0.15], [0.0, 0.05, 0.0]
    assert lost.names == ("product", "hybrid") and lost.n == 3 and lost.unit == "seeds"
    assert lost.difference == pytest.approx(np.mean(np.subtract(hybrid_lost, product_lost)))
    row = results.number("test accuracy", model="hybrid", setting="fake", shots=64)
    assert row["mean"] == pytest.approx(np.mean([0.75, 0.7, 0.55])) and row["n"] == 3
    assert results.number("<Z_j> error", model="product", setting="fake", shots=64)[
        "mean"
    ] == pytest.approx(0.1)
    assert "hybrid test accuracy, fake, 64 shots" in results.exploratory
    assert results.family.size == 1
    assert all(row["unit"] == "seeds" for row in results.numbers)


def test_the_family_is_one_comparison_per_setting_at_the_most_shots():
    def seed(exact, lost):  # this seed's accuracy lost to every setting
        rows = _rows(exact, [exact - lost], counts=(16, 64, 1024))
        device = {"setting": "device noise", "shots": None, "accuracy": exact - lost}
        return [*rows, {**rows[0], **device, "z_error": 0.1}]

    losses = {"hybrid": [0.1, 0.2, 0.4], "product": [0.1, 0.1, 0.1]}
    sweeps = {m: {s: seed(0.9, lost) for s, lost in enumerate(losses[m])} for m in losses}
    results = noise.noise_results(sweeps)
    question = noise.FAMILY_QUESTION
    family = {f"{question} (fake, 1024 shots)", f"{question} (device noise, no shots)"}
    assert set(results.family.comparisons) == family and results.family.size == 2
    smaller = {f"{question} (fake, 16 shots)", f"{question} (fake, 64 shots)"}
    assert smaller <= set(results.exploratory)


def _summary(exact, by_shots, se=0.02):
    rows = [{"setting": "exact", "shots": None, "accuracy": exact, "accuracy_se": se}]
    rows += [
        {"setting": setting, "shots": shots, "accuracy": accuracy, "accuracy_se": se}
        for setting, values in by_shots.items()
        for shots, accuracy in values.items()
    ]
    return rows


def test_shot_budget_is_the_fewest_shots_within_one_se_of_exact():
    summaries = [
        _summary(0.80, {"a": {64: 0.70, 256: 0.78, 1024: 0.80}, "b": {64: 0.6, 1024: 0.7}}),
        _summary(0.82, {"a": {64: 0.72, 256: 0.82, 1024: 0.81}, "b": {64: 0.6, 1024: 0.7}}),
    ]
    # exact 0.81 ± 0.02: "a" reaches it at 256 shots (0.80), not at 64 (0.71); "b" never
    assert hardware.shot_budget(summaries) == {"a": 256, "b": None}
    again_out = {"c": {64: 0.80, 256: 0.70, 1024: 0.81, 4096: 0.80}, "d": {64: 0.81, 256: 0.7}}
    summaries = [_summary(0.81, again_out), _summary(0.81, again_out)]
    # "c" is within at 64 but falls outside at 256: only from 1024 on does it stay within
    assert hardware.shot_budget(summaries) == {"c": 1024, "d": None}


def test_hardware_budget_counts_circuits_and_shots():
    assert hardware.hardware_budget(200, 1024) == {"circuits": 200, "shots": 204_800}
    zne = hardware.hardware_budget(200, 1024, ("zne",))
    assert zne == {"circuits": 400, "shots": 409_600}  # one circuit per noise factor
    m3 = hardware.hardware_budget(200, 1024, ("m3",), n_qubits=4, calibration_shots=10_000)
    assert m3 == {"circuits": 208, "shots": 204_800 + 20_000}  # 8 balanced calibrations
    plan = hardware.hardware_plan({"+ M3": None, "shots only": 256}, [64, 4096], 200)
    assert plan["+ M3"]["reached"] is False and plan["+ M3"]["shots_per_image"] == 4096
    assert plan["shots only"] == {"shots_per_image": 256, "reached": True, "circuits": 200,
                                  "shots": 51_200}  # fmt: skip
