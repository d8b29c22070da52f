"""The lens's generated sentences say what the numbers say, for every run: one seed, no hybrid,
no difference at all, a saturated first seed."""

import copy

import pytest
import torch

from helpers.analysis.lens.study import lens_of_head
from helpers.analysis.lens.verdicts import lens_results
from helpers.model.heads import DressedQuantumHead
from helpers.present import lens_text
from helpers.quantum.circuits import mari

CLASSES = ["a", "b"]


def _study(seeds: int, hybrid_moves: bool = True, pre_scale: float = 1.0) -> dict:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(40, 512, generator=generator)
    fit_features = torch.randn(120, 512, generator=generator)
    labels = torch.arange(40) % 2
    lenses = {}
    for seed in range(seeds):
        torch.manual_seed(seed)
        hybrid = DressedQuantumHead(3, 2).eval()
        with torch.no_grad():
            hybrid.q_layer.weight.normal_(0.0, 1.0)
            hybrid.pre_net.weight.mul_(pre_scale)
        start = copy.deepcopy(hybrid)
        if hybrid_moves:
            with torch.no_grad():
                start.q_layer.weight.mul_(0.5)
                start.pre_net.weight.mul_(0.5)
        product = DressedQuantumHead(3, 0).eval()
        lenses[seed] = {
            "hybrid": lens_of_head(hybrid, start, features, labels, fit_features, mari(3, 0)),
            "product": lens_of_head(
                product, copy.deepcopy(product), features, labels, fit_features
            ),
        }
    return lenses, labels.numpy()


def test_one_seed_is_said_to_be_untested_not_different():
    lenses, labels = _study(1)
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    text = lens_text.describe_shares(results)
    assert "over 1 seeds" in text and "not testable" in text
    assert "a difference" not in text


def test_a_run_without_a_hybrid_is_said_so():
    lenses, labels = _study(2)
    controls = {seed: {"product": seeds["product"]} for seed, seeds in lenses.items()}
    results = lens_results(controls, labels, CLASSES, 0.05, 0.02, 0.05)
    assert lens_text.describe_ablation(results) == "The run has no hybrid: nothing to ablate."
    assert lens_text.describe_entanglement(results) == "The run has no hybrid."
    assert "against 0" not in lens_text.describe_shares(results)


def test_identical_heads_are_said_identical_not_inconclusive():
    lenses, labels = _study(3, hybrid_moves=False)
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    text = lens_text.describe_entanglement(results)
    assert text.count("identical on every unit compared") == 2
    assert "inf" not in text and "at most 0 rad" in text


def test_the_saturation_sentence_is_about_the_first_seed_whose_table_follows():
    lenses, _ = _study(2, pre_scale=500.0)
    first = lenses[0]["hybrid"].saturated.all(axis=1).mean()
    assert first > 0.5
    text = lens_text.describe_saturation(lenses)
    assert f"({first:.0%} for the first seed" in text and "Boolean function" in text
    assert "not just a Boolean" not in text


@pytest.mark.parametrize("depth, equal", [(4, True), (5, False)])
def test_the_control_distance_says_whether_the_depth_starts_the_hybrid_at_its_control(depth, equal):
    lenses, labels = _study(2)
    results = lens_results(lenses, labels, CLASSES, 0.05, 0.02, 0.05)
    text = lens_text.describe_control_distance(results, depth, [0, 4, 8])
    assert ("*is* its control" in text) == equal
    assert "need not add up" in text


def test_the_truth_table_has_a_row_per_pattern_with_its_counts():
    rows = [{"signs": "+−", "images": [3, 1], "saturated": 2, "outputs": [0.5, -1.0],
             "decision": 1}]  # fmt: skip
    table = lens_text.describe_truth_table(rows, CLASSES).splitlines()
    assert table[0].startswith("| signs | a images | b images | all saturated")
    assert table[2] == "| +− | 3 | 1 | 2 | +0.50, -1.00 | b |"
    assert len(table) == 3
