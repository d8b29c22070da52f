"""The lens's study and verdicts over seeds: numbers that are the study's own, controls at zero,
and the comparisons each unit of replication calls for."""

import copy

import numpy as np
import pytest
import torch

from helpers.analysis.lens.capacity import GradientVariance
from helpers.analysis.lens.capacity_study import capacity_head, effective_dimensions
from helpers.analysis.lens.study import lens_of_head
from helpers.analysis.lens.verdicts import add_capacity, lens_results
from helpers.model.heads import DressedQuantumHead, classical_head
from helpers.quantum.circuits import mari

CLASSES = ["a", "b"]


def _dressed(depth: int, seed: int, weight_scale: float) -> DressedQuantumHead:
    torch.manual_seed(seed)
    head = DressedQuantumHead(3, depth).eval()
    with torch.no_grad():
        head.q_layer.weight.normal_(0.0, weight_scale)
    return head


@pytest.fixture(scope="module")
def study():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(60, 512, generator=generator)
    fit_features = torch.randn(200, 512, generator=generator)
    labels = torch.arange(60) % 2
    lenses = {}
    for seed in range(3):
        hybrid, product = _dressed(3, seed, 1.0), _dressed(0, seed, 0.0)
        start = copy.deepcopy(hybrid)
        with torch.no_grad():
            start.q_layer.weight.mul_(0.01)
        lenses[seed] = {
            "hybrid": lens_of_head(hybrid, start, features, labels, fit_features, mari(3, 0)),
            "product": lens_of_head(
                product, copy.deepcopy(product), features, labels, fit_features
            ),
        }
    return lenses, labels.numpy(), fit_features


def test_the_numbers_are_the_studys_own_and_the_control_is_additive(study):
    lenses, labels, _ = study
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    hybrid = [lenses[s]["hybrid"] for s in lenses]
    stated = results.number("multi-body share of the decision", model="hybrid")
    assert stated["mean"] == pytest.approx(np.mean([lens.decision for lens in hybrid]))
    assert stated["n"] == 3 and stated["unit"] == "seeds"
    assert results.number("multi-body share of the decision", model="product")["mean"] < 1e-12
    q_b = results.number("Meyer-Wallach Q by class", model="hybrid", **{"class": "b"})["mean"]
    expected = np.mean(
        [lens.states["trained"].meyer_wallach[labels == 1].mean() for lens in hybrid]
    )
    assert q_b == pytest.approx(expected)
    for setting in ("trained", "initial circuit", "initial inputs", "initial"):
        q = results.number("Meyer-Wallach Q", model="product", setting=setting)["mean"]
        assert q < 1e-12  # the product control prepares product states in every setting
    change = results.number(
        "accuracy change without multi-body terms", model="product", surrogate="fitted"
    )
    assert change["mean"] == 0.0
    distance = results.number("RMS distance from the product control", model="hybrid", part="total")
    assert distance["mean"] == pytest.approx(
        np.mean([lens.control_split["total"] for lens in hybrid])
    )


def test_a_circuit_initialised_at_its_trained_weights_moved_nothing(study):
    lenses, _, _ = study
    for seeds in lenses.values():
        product = seeds["product"]
        assert product.weight_change == 0.0
        assert np.array_equal(
            product.states["trained"].meyer_wallach, product.states["initial circuit"].meyer_wallach
        )


def test_each_verdict_is_over_its_unit_of_replication(study):
    lenses, labels, _ = study
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    family = results.family.comparisons
    assert set(family) == {
        "multi-body share of the hybrid's decision, against none",
        "test accuracy of the hybrid, multi-body terms removed (fitted additive surrogate)",
        "Meyer-Wallach Q of the hybrid, trained vs initial circuit weights",
        "Meyer-Wallach Q of the hybrid, trained vs initial pre-net",
    }
    assert family["multi-body share of the hybrid's decision, against none"].unit == "seeds"
    ablation = family[
        "test accuracy of the hybrid, multi-body terms removed (fitted additive surrogate)"
    ]
    assert ablation.unit == "seeds × images" and ablation.n_images == 60
    assert ablation.margin == 0.02
    assert len(results.exploratory) == 4 and all(
        np.isnan(c.margin) for c in results.exploratory.values()
    )


def test_capacity_is_taken_after_the_pre_net_and_compared_exploratorily(study):
    lenses, labels, fit_features = study
    heads = {seed: {"hybrid": _dressed(3, seed, 1.0), "classical": classical_head("512_nq_n", 3, 2)}
             for seed in range(3)}  # fmt: skip
    sizes = np.geomspace(1e2, 1e6, 5)
    capacity = effective_dimensions(heads, fit_features, sizes)
    assert capacity.parameters == {"hybrid": 9 + 3 * 2 + 2, "classical": 3 * 2 + 2}
    assert capacity.curves["hybrid"].shape == (3, 5)
    ranks = np.array(capacity.ranks["hybrid"])
    assert np.all(ranks <= capacity.parameters["hybrid"]) and capacity.rank_cap == 200
    assert capacity.capped() == []
    assert np.all((capacity.curves["hybrid"] > 0) & (capacity.curves["hybrid"] < 1.2 * 17))
    gap = np.abs(capacity.curves["hybrid"] - ranks[:, None])
    assert np.all(gap[:, -1] < gap[:, 1])  # d tends to rank F as n grows
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    gradient = GradientVariance("mari", 3, (1, 2), np.array([0.1, 0.05]), np.array([0.01, 0.01]),
                                np.array([0.1, 0.05]), np.array([0.01, 0.01]), 32)  # fmt: skip
    add_capacity(results, capacity, 2, {"uniform": gradient})
    stated = results.number("effective dimension", model="classical")
    assert stated["mean"] == pytest.approx(capacity.curves["classical"][:, 2].mean())
    assert "effective dimension, hybrid vs classical" in results.exploratory
    assert results.number("gradient variance, uniform weights", depth=2)["mean"] == 0.05


def test_the_classical_twins_capacity_does_not_depend_on_its_relu_gauge():
    torch.manual_seed(3)
    head = classical_head("512_nq_n", 4, 2).eval()
    rescaled = copy.deepcopy(head)
    with torch.no_grad():  # ReLU units scaled by 10 in, 1/10 out: the same function
        rescaled.pre_net.weight.mul_(10.0)
        rescaled.pre_net.bias.mul_(10.0)
        rescaled.post_net.weight.div_(10.0)
    features = torch.randn(300, 512)
    assert torch.allclose(head(features), rescaled(features), atol=1e-5)
    sizes = np.array([1e3, 1e5])
    curves = [
        effective_dimensions({0: {"classical": h}}, features, sizes).curves["classical"]
        for h in (head, rescaled)
    ]
    assert np.allclose(curves[0], curves[1], atol=1e-6)
    frozen = capacity_head(head)
    assert [n for n, p in frozen.named_parameters() if p.requires_grad] == [
        "post_net.weight",
        "post_net.bias",
    ]
