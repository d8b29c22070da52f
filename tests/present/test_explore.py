"""The explorer over a small finished run: every control changes what it should, to the right
numbers, and the static copies are proper figures."""

import io
import threading
from datetime import UTC, datetime

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from helpers.analysis.saliency import predict
from helpers.config import Config
from helpers.model.data import dataset_images
from helpers.present.explore import UPLOAD, explore
from helpers.run.session import NotebookSession
from tests.explore_run import build_explored_run
from tests.present.figure_checks import assert_not_blank, has_data, panels, titles


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    cfg = build_explored_run(tmp_path_factory.getbasetemp() / "explored_run")
    yield explore(NotebookSession(Config.for_notebook({"artifacts_dir": cfg.artifacts_dir})))
    for thread in threading.enumerate():  # background prefetches must not outlive the module
        if isinstance(thread, threading.Timer):
            thread.cancel()
            thread.join()


def _pictures(explorer, view: str) -> list[bytes]:
    box = explorer.pictures[view].box
    images = [c for c in box.children if hasattr(c, "format")]
    cells = [grandchild for c in box.children for cell in getattr(c, "children", ()) for
             grandchild in cell.children if hasattr(grandchild, "format")]  # fmt: skip
    return [image.value for image in [*images, *cells]]


def test_prediction_table_shows_each_models_prediction_of_the_chosen_image(explorer):
    for option in explorer.controls["image"].options[:3]:
        explorer.controls["image"].value = option[1]
        image, label = dataset_images(explorer.session.splits.test, [option[1]])
        text = explorer.texts["image"].value
        assert f"true class: {explorer.classes[int(label)]}" in text
        for kind, model in explorer.models.items():
            p = predict(model, image)[0]
            row = f"<td>{kind}</td><td>{explorer.classes[int(p.argmax())]}</td>"
            assert f"{row}<td>{float(p.max()):.3f}</td>" in text


def test_image_and_method_change_the_pictures_and_units_show_their_values(explorer):
    choice = explorer.controls["image"]
    choice.value = choice.options[0][1]
    before = _pictures(explorer, "image")
    n_units = explorer.cfg.n_qubits
    assert len(before) == len(explorer.models) * (2 + n_units)  # image, map, one per unit
    choice.value = choice.options[1][1]
    assert _pictures(explorer, "image") != before
    after_image = _pictures(explorer, "image")
    explorer.controls["method"].value = "integrated_gradients"
    changed = _pictures(explorer, "image")
    assert changed[0] == after_image[0] and changed[1] != after_image[1]  # same image, new map
    key, image, _ = explorer.chosen_image()
    values = explorer.probe.units(key, image).unit_values["hybrid"][0]
    captions = [c[0].value for c in explorer.pictures["image"]._cells]
    assert f"⟨Z_2⟩ = {float(values[2]):+.2f}" in captions


def test_layout_highlights_the_chosen_image_and_colours_by_unit(explorer):
    layouts = explorer.tabs["layout"].layouts
    choice = explorer.controls["image"]
    assert [o[1] for o in choice.options] == layouts["tsne"].indices
    explorer.controls["layout_model"].value = "hybrid"
    assert list(explorer.controls["layer"].options) == ["avgpool", "q_out"]
    explorer.controls["layer"].value = "q_out"
    by_class = _pictures(explorer, "layout")
    explorer.controls["colour"].value = "unit"
    assert explorer.controls["unit"].max == explorer.cfg.n_qubits - 1
    by_unit = _pictures(explorer, "layout")
    explorer.controls["unit"].value = 1
    assert len({by_class[0], by_unit[0], _pictures(explorer, "layout")[0]}) == 3
    choice.value = choice.options[5][1]
    assert explorer.texts["layout"].value == ""  # the chosen image is in the layout
    explorer.controls["layout_model"].value = "product"  # laid out in neither method here
    assert "no t-SNE layout of the product model" in explorer.texts["layout"].value
    explorer.controls["layout_model"].value = "hybrid"


def test_landscape_sliders_show_the_grid_values_and_circuit_weights(explorer):
    tab = explorer.tabs["landscape"]
    explorer.controls["alpha"].value = 1.0
    explorer.controls["beta"].value = -0.5
    text = explorer.texts["landscape"].value
    for kind, surface in tab.landscapes.items():
        i, j = list(surface.alphas).index(1.0), list(surface.betas).index(-0.5)
        assert f"<td>{kind}</td><td>{surface.loss[i, j]:.4f}</td>" in text
    point = tab.point("hybrid", 1.0, -0.5)
    assert point.circuit.shape == (explorer.cfg.q_depth, explorer.cfg.n_qubits)
    change = point.circuit[0, 0] - point.trained_circuit[0, 0]
    assert f"{point.circuit[0, 0]:+.3f} ({change:+.3f})" in text
    assert not np.allclose(point.circuit, point.trained_circuit)


def test_dream_controls_pick_the_runs_dream(explorer):
    explorer.controls["dream_model"].value = "hybrid"
    explorer.controls["dream_unit"].value = 1
    explorer.controls["sign"].value = -1
    _, start, final = explorer.tabs["dream"].dreams.pick("hybrid", 1, -1)
    assert f"{start:+.3f} at the start image, {final:+.3f} at the dream" in (
        explorer.texts["dream"].value
    )
    minus = _pictures(explorer, "dream")
    explorer.controls["sign"].value = 1
    assert _pictures(explorer, "dream")[1] != minus[1]
    explorer.controls["dream_model"].value = "classical"
    assert explorer.controls["sign"].disabled
    assert "ReLU unit 1" in explorer.texts["dream"].value


def test_an_uploaded_image_is_explained(explorer):
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), (200, 30, 30), dtype=np.uint8)).save(buffer, "png")
    content = buffer.getvalue()
    upload = {"name": "red.png", "type": "image/png", "size": len(content),
              "content": memoryview(content), "last_modified": datetime.now(UTC)}  # fmt: skip
    explorer.controls["upload"].value = (upload,)
    assert explorer.controls["image"].value == UPLOAD
    assert "an uploaded image" in explorer.texts["image"].value
    assert "not in this layout" in explorer.texts["layout"].value
    _, image, label = explorer.chosen_image()
    assert label is None and image.shape == (1, 3, explorer.cfg.image_size, explorer.cfg.image_size)
    assert len(explorer.controls["image"].options) == len(explorer.indices) + 1
    explorer.controls["upload"].value = ({**upload, "name": "notes.txt", "content": b"hello"},)
    assert "notes.txt is not an image" in explorer.texts["image"].value
    explorer.controls["image"].value = explorer.controls["image"].options[0][1]


def test_missing_artifacts_are_named_in_their_tabs(tmp_path_factory):
    cfg = build_explored_run(tmp_path_factory.getbasetemp() / "explored_run")
    bare = Config(**{**cfg.to_dict(), "artifacts_dir": str(tmp_path_factory.mktemp("bare"))})
    for kind in bare.models:
        (bare.artifacts_path / kind).symlink_to(cfg.artifacts_path / kind)
    empty = explore(NotebookSession(bare))
    assert "run 06_loss_landscape on this run" in empty.texts["landscape"].value
    assert "run 07_deep_dream on this run" in empty.texts["dream"].value
    assert "run 04_tsne on this run" in empty.texts["layout"].value
    assert "<td>hybrid</td>" in empty.texts["image"].value  # images need no artifacts


@pytest.mark.parametrize("view", ["image", "layout", "landscape", "dream"])
def test_static_copies_are_titled_drawn_figures(explorer, view):
    figures = explorer.figures(view)
    assert figures
    for fig in figures:
        assert titles(fig) and all(has_data(ax) for ax in panels(fig))
        assert_not_blank(fig)
        plt.close(fig)
