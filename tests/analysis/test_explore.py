"""The explorer's artifacts: written by their analyses, read back exactly; on-demand saliency."""

import numpy as np
import pytest
import torch

from helpers.analysis import saliency
from helpers.analysis.activations import Activations
from helpers.analysis.dream import Dream, DreamTable, load_dreams, save_dreams
from helpers.analysis.embedding import load_layouts, save_layouts
from helpers.analysis.explore import ImageProbe
from helpers.analysis.landscape import (
    Landscape,
    landscape_point,
    load_landscapes,
    save_directions,
    surface_path,
)
from helpers.model.backbone import load_backbone
from helpers.model.heads import TransferModel, build_head

GRID = np.array([-1.0, 0.0, 1.0])
WEIGHT = "q_layer.weight"


def _activations(n: int = 6) -> Activations:
    return Activations({}, torch.tensor([0, 1] * (n // 2)), [10 + 3 * i for i in range(n)])


def test_layouts_are_read_back_with_their_images_and_absent_parts_name_their_notebook(smoke_cfg):
    activations = _activations()
    points = np.random.default_rng(0).normal(size=(6, 2))
    save_layouts(smoke_cfg, "tsne", {"hybrid": {"q_out": points}}, activations)
    found, absent_layouts = load_layouts(smoke_cfg)
    layouts = found["tsne"]
    np.testing.assert_allclose(layouts.points["hybrid"]["q_out"], points, rtol=1e-6)
    assert layouts.indices == activations.indices
    assert layouts.labels.tolist() == activations.labels.tolist()
    assert layouts.position(13) == 1 and layouts.position(11) is None
    landscapes, _, absent_landscapes = load_landscapes(smoke_cfg, ["hybrid"])
    dreams, absent_dreams = load_dreams(smoke_cfg)
    assert "umap" not in found and dreams is None and not landscapes
    missing = "\n".join(absent_layouts + absent_landscapes + absent_dreams)
    for file, notebook in [
        ("layouts_umap.npz", "05_manifold_whitening"),
        ("hybrid_2d.npz", "06_loss_landscape"),
        ("landscape_directions.pt", "06_loss_landscape"),
        ("dreams.pt", "07_deep_dream"),
    ]:
        assert f"{file} is absent: run {notebook} on this run" in missing


def test_unknown_layout_method_is_named(smoke_cfg):
    with pytest.raises(ValueError, match="method='pca' is unknown"):
        save_layouts(smoke_cfg, "pca", {}, _activations())


def _save_landscape(cfg) -> tuple[dict, list[dict]]:
    loss = np.arange(9, dtype=float).reshape(3, 3)
    Landscape("hybrid", GRID, GRID, loss, loss / 10, 4.0).save(surface_path(cfg, "hybrid_2d"))
    centre = {WEIGHT: torch.arange(8.0), "post_net.weight": torch.ones(2, 4)}
    directions = [
        {WEIGHT: torch.full((8,), 0.5), "post_net.weight": torch.zeros(2, 4)},
        {WEIGHT: torch.linspace(0, 1, 8), "post_net.weight": torch.zeros(2, 4)},
    ]
    save_directions(cfg, {"hybrid": centre}, {"hybrid": directions}, {"hybrid": {WEIGHT: 4}})
    return centre, directions


def test_landscape_point_is_the_nearest_grid_point_with_its_circuit_weights(smoke_cfg):
    centre, (first, second) = _save_landscape(smoke_cfg)
    landscapes, directions, _ = load_landscapes(smoke_cfg, ["hybrid"])
    point = landscape_point(landscapes["hybrid"], directions["hybrid"], 0.9, -0.2)
    assert (point.alpha, point.beta) == (1.0, 0.0)
    assert point.loss == 7.0 and point.accuracy == pytest.approx(0.7)  # loss[alpha 2, beta 1]
    expected = (centre[WEIGHT] + 1.0 * first[WEIGHT] + 0.0 * second[WEIGHT]).reshape(2, 4)
    np.testing.assert_allclose(point.circuit, expected.numpy())
    np.testing.assert_allclose(point.trained_circuit, centre[WEIGHT].reshape(2, 4).numpy())
    corner = landscape_point(landscapes["hybrid"], directions["hybrid"], -1, 1)
    expected = (centre[WEIGHT] - first[WEIGHT] + second[WEIGHT]).reshape(2, 4)
    np.testing.assert_allclose(corner.circuit, expected.numpy())
    assert corner.loss == 2.0  # loss[alpha 0, beta 2]


def _dream(value: float) -> Dream:
    return Dream(torch.full((1, 3, 4, 4), value), value, 2 * value, [value], [4])


def test_dreams_are_picked_by_model_unit_and_sign(smoke_cfg):
    table = DreamTable()
    table.add("hybrid qubits", "+⟨Z_1⟩", _dream(1.0), "a")
    table.add("hybrid qubits", "−⟨Z_1⟩", _dream(-1.0), "b")
    table.add("classical units", "+h_1", _dream(3.0), "c")
    start = torch.zeros(1, 3, 4, 4)
    save_dreams(smoke_cfg, table, start)
    dreams, _ = load_dreams(smoke_cfg)
    image, before, after = dreams.pick("hybrid", 1, -1)
    assert torch.equal(image, torch.full((1, 3, 4, 4), -1.0)) and (before, after) == (-1.0, -2.0)
    assert dreams.pick("classical", 1)[1:] == (3.0, 6.0)
    assert dreams.units("hybrid") == 1 and dreams.units("classical") == 1  # one each: + sides
    assert torch.equal(dreams.start, start)
    with pytest.raises(ValueError, match="no negative side"):
        dreams.pick("classical", 1, -1)
    with pytest.raises(ValueError, match="no dream"):
        dreams.pick("hybrid", 0)
    with pytest.raises(ValueError, match="model='product' has no unit dreams"):
        dreams.pick("product", 0)


def test_image_probe_computes_each_image_once_and_matches_the_saliency_functions(smoke_cfg):
    torch.manual_seed(0)
    backbone = load_backbone("none", seed=0)
    models = {
        kind: TransferModel(backbone, build_head(kind, smoke_cfg)).eval()
        for kind in ("classical", "hybrid")
    }
    image = torch.randn(1, 3, 16, 16)
    probe = ImageProbe(models, seed=3)
    units = probe.units("a", image)
    assert probe.units("a", image) is units  # cached: not recomputed
    assert probe.units("b", image) is not units
    for kind, model in models.items():
        torch.testing.assert_close(units.probabilities[kind], saliency.predict(model, image))
        assert units.unit_maps[kind].shape == (1, 4, 16, 16)
    maps = probe.saliency("a", image, "smoothgrad")
    assert probe.saliency("a", image, "smoothgrad") is maps
    expected, _ = saliency.explain(models, image, "smoothgrad", seed=3)
    for kind in models:
        torch.testing.assert_close(maps[kind], expected[kind])
    probe.prefetch("c", image, ["gradient", "integrated_gradients"], delay=0).join()
    assert {("c", "gradient"), ("c", "integrated_gradients")} <= set(probe._cache)
    probe.prefetch("d", image, ["gradient"], delay=0, wanted=lambda: False).join()
    assert ("d", "gradient") not in probe._cache  # the image is no longer shown
    expected, _ = saliency.explain(models, image, "gradient", seed=3)
    prefetched = probe.saliency("c", image, "gradient")
    for kind in models:
        torch.testing.assert_close(prefetched[kind], expected[kind])
