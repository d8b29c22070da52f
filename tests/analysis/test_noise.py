"""The trained hybrid head with finite shots and a fake device's noise."""

import numpy as np
import pytest
import torch

from helpers.analysis import noise
from helpers.model.backbone import cached_features
from helpers.model.checkpoints import load_trained_head
from helpers.model.train import evaluate
from helpers.quantum import QuantumLayer


def test_unknown_fake_devices_are_named_with_the_valid_ones():
    with pytest.raises(ValueError, match="FakeManilaV2"):
        noise.fake_device("FakeNowhere")
    assert noise.fake_device("FakeManilaV2").num_qubits == 5


def test_transpiled_circuit_on_the_device_layout_gives_the_exact_values():
    device = noise.fake_device("FakeManilaV2")
    weights = 0.7 * torch.randn(12, generator=torch.Generator().manual_seed(0))
    angles = torch.rand(6, 4) * 2 - 1
    exact = QuantumLayer(4, 3, initial_weights=weights)(angles)
    transpiled = QuantumLayer(4, 3, backend="aer", initial_weights=weights, target=device)
    assert set(transpiled.neural_network.circuit.count_ops()) <= {"rz", "sx", "x", "cx"}
    torch.testing.assert_close(transpiled(angles), exact, atol=1e-5, rtol=0)


def test_shots_and_noise_change_accuracy_as_expected(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    head, _ = load_trained_head(cfg, "hybrid")
    features = cached_features(cfg)
    inputs, labels = features.val[:48], features.val_labels[:48]
    device = noise.fake_device("FakeManilaV2")
    many = noise.with_quantum_backend(head, shots=20_000, seed=1)
    exact_out = head.q_layer(head.encode(head.pre_net(inputs)))
    shot_out = many.q_layer(many.encode(many.pre_net(inputs)))
    assert (shot_out - exact_out).abs().mean() < 0.02  # ~ 1/sqrt(20000) per value
    noisy = noise.with_quantum_backend(head, shots=20_000, seed=1, target=device)
    noisy_out = noisy.q_layer(noisy.encode(noisy.pre_net(inputs)))
    assert (noisy_out - exact_out).abs().mean() > 0.02  # device noise shrinks <Z_j>
    assert noisy_out.abs().mean() < exact_out.abs().mean()
    rows = noise.shot_study(head, inputs, labels, [16, 256], 2, device, seed=0)
    assert len(rows) == 1 + 2 * 2 * 2
    assert rows[0]["accuracy"] == pytest.approx(evaluate(head, inputs, labels)[1])
    summary = {(row["noise"], row["shots"]): row for row in noise.summarise(rows)}
    assert summary[("exact", None)]["repeats"] == 1
    assert summary[("fake_manila", 256)]["repeats"] == 2
    accuracies = [r["accuracy"] for r in rows if r["noise"] == "noiseless" and r["shots"] == 16]
    assert summary[("noiseless", 16)]["accuracy"] == pytest.approx(sum(accuracies) / 2)


def _rows(exact, noisy):
    rows = [{"noise": "exact", "shots": None, "repeat": 0, "accuracy": exact, "loss": 0.0}]
    rows += [
        {"noise": "fake", "shots": 64, "repeat": r, "accuracy": a, "loss": 0.0}
        for r, a in enumerate(noisy)
    ]
    return rows


def test_shot_results_compare_the_accuracy_each_model_loses_paired_by_seed():
    studies = {
        "hybrid": {0: _rows(0.9, [0.8, 0.7]), 1: _rows(0.8, [0.7, 0.7]), 2: _rows(0.7, [0.6, 0.5])},
        "product": {
            0: _rows(0.9, [0.9, 0.9]),
            1: _rows(0.8, [0.8, 0.7]),
            2: _rows(0.6, [0.6, 0.6]),
        },
    }
    results = noise.shot_results(studies)
    lost = results.family.comparisons["accuracy lost to 64 shots, fake"]
    hybrid_lost, product_lost = [0.15, 0.1, 0.15], [0.0, 0.05, 0.0]
    assert lost.names == ("product", "hybrid") and lost.n == 3 and lost.unit == "seeds"
    assert lost.difference == pytest.approx(np.mean(np.subtract(hybrid_lost, product_lost)))
    row = results.number("test accuracy", model="hybrid", noise="fake", shots=64)
    assert row["mean"] == pytest.approx(np.mean([0.75, 0.7, 0.55])) and row["n"] == 3
    assert "hybrid test accuracy with 64 shots, fake" in results.exploratory
    assert results.family.size == 1
