"""results.json: every stated number with its SE, n and unit; verdicts as one Holm family."""

import json

import numpy as np
import pytest
import torch

from helpers.analysis.accuracy import (
    DISTANCE,
    accuracy_results,
    add_control_distance,
    control_distance,
)
from helpers.analysis.family import holm
from helpers.analysis.results import MODEL_PAIRS, Results
from helpers.analysis.stats import paired_comparison
from helpers.config import Config
from helpers.model.backbone import cached_features
from helpers.model.heads import build_head, model_circuit
from helpers.present.training import describe_control_distance
from helpers.quantum import QuantumLayer


def test_numbers_and_comparisons_are_written_with_their_unit_and_correction(tmp_path):
    results = Results("demo")
    results.add("accuracy", [0.6, 0.7, np.nan, 0.8], "seeds", model="hybrid")
    row = results.number("accuracy", model="hybrid")
    assert (row["mean"], row["n"], row["unit"]) == (pytest.approx(0.7), 3, "seeds")
    assert row["se"] == pytest.approx(np.std([0.6, 0.7, 0.8], ddof=1) / np.sqrt(3))
    values = {"classical": [0.5, 0.6, 0.55], "hybrid": [0.6, 0.7, 0.66], "product": [0.5, 0.6, 0.5]}
    results.compare_models("accuracy", values, "seeds")
    results.explore("loss, hybrid vs classical", paired_comparison([1, 2], [2, 4], unit="seeds"))
    present = [(a, b) for a, b in MODEL_PAIRS if {a, b} <= set(values)]  # unentangled absent
    assert list(results.family.comparisons) == [f"accuracy, {b} vs {a}" for a, b in present]
    path = results.save(Config(artifacts_dir=str(tmp_path)))
    assert path == tmp_path / "demo" / "results.json"
    stored = json.loads(path.read_text())
    assert stored["family_size"] == 3 and len(stored["exploratory"]) == 1
    p = [c["p_value"] for c in stored["comparisons"]]
    np.testing.assert_allclose([c["holm_p"] for c in stored["comparisons"]], holm(p))
    first = stored["comparisons"][0]
    assert (first["name_a"], first["name_b"], first["unit"], first["n"]) == (
        "classical",
        "hybrid",
        "seeds",
        3,
    )
    assert first["difference"] == pytest.approx(
        np.mean(np.subtract(values["hybrid"], values["classical"]))
    )
    with pytest.raises(KeyError, match="no number 'loss'"):
        results.number("loss")


def test_accuracy_results_compare_the_trained_models_over_seeds_and_images(trained_smoke_cfg):
    features = cached_features(trained_smoke_cfg)
    results = accuracy_results(trained_smoke_cfg, features.test, features.test_labels)
    seeds = trained_smoke_cfg.seeds
    hybrid = results.number("test accuracy", model="hybrid")
    assert (hybrid["n"], hybrid["unit"]) == (len(seeds), "seeds")
    comparison = results.family.comparisons["test accuracy, hybrid vs classical"]
    assert (comparison.unit, comparison.n, comparison.n_images) == (
        "seeds × images",
        len(seeds),
        len(features.test_labels),
    )
    assert comparison.margin == trained_smoke_cfg.accuracy_margin
    metrics = {
        kind: json.loads((trained_smoke_cfg.artifacts_path / kind / "metrics.json").read_text())
        for kind in ("classical", "hybrid")
    }
    per_seed = {k: [row["test_accuracy"] for row in m["per_seed"]] for k, m in metrics.items()}
    assert comparison.difference == pytest.approx(
        np.mean(np.subtract(per_seed["hybrid"], per_seed["classical"]))
    )
    assert results.family.size == 3 and len(results.family.comparisons) == 3
    with pytest.raises(ValueError, match="pass the test features of this run"):
        accuracy_results(trained_smoke_cfg, features.val, features.val_labels)


@pytest.mark.parametrize(
    ("depth", "trained_zero", "zeroed_zero"), [(0, True, True), (4, False, True), (5, False, False)]
)
def test_the_hybrids_distance_from_its_depth0_control_in_function_space(
    depth, trained_zero, zeroed_zero
):
    """At 4 qubits a CNOT ladder layer has order 4: depth 4 with zero weights is the control."""
    torch.manual_seed(0)
    head = build_head("hybrid", Config(q_depth=depth))
    control = model_circuit("product", Config(q_depth=depth))
    found = control_distance(head, torch.randn(40, 512), control)
    assert (found["trained"] < 1e-6) == trained_zero
    assert (found["zero weights"] < 1e-6) == zeroed_zero
    assert (found["angles"] == 0.0) == (depth == 0)
    results = Results("demo")
    add_control_distance(results, {0: head, 1: head}, torch.randn(40, 512), control)
    assert results.number(DISTANCE, model="hybrid")["n"] == 2
    sentence = describe_control_distance([found, found], depth)
    assert ("computes its control's function" in sentence) == trained_zero
    assert ("the untrained circuit equals its control" in sentence) == (
        zeroed_zero and not trained_zero
    )


def test_the_circuit_angles_are_measured_modulo_their_period():
    torch.manual_seed(0)
    head = build_head("hybrid", Config(q_depth=5))
    features = torch.randn(20, 512)
    control = model_circuit("product", Config(q_depth=5))
    before = control_distance(head, features, control)
    with torch.no_grad():
        head.q_layer.weight.add_(2 * torch.pi)  # the same function
    after = control_distance(head, features, control)
    assert after == pytest.approx(before, abs=1e-5)


def test_a_reuploading_hybrid_is_measured_against_the_product_model_at_depth_0():
    """The control encodes each input once (−sin(x_j)), as the product model does, not
    q_depth times as the hybrid's circuit stripped of its gates would."""
    cfg = Config(circuit="reuploading", q_depth=3)
    head = build_head("hybrid", cfg)
    with torch.no_grad():
        head.q_layer.weight.zero_()
    found = control_distance(head, torch.randn(40, 512), model_circuit("product", cfg))
    assert found["zero weights"] > 0.05  # −sin(3x) entangled by CNOTs is not −sin(x)
    angles = head.encode(head.pre_net(torch.randn(40, 512)))
    control = QuantumLayer(circuit=model_circuit("product", cfg))(angles)
    torch.testing.assert_close(control, -torch.sin(angles), atol=1e-6, rtol=0)
