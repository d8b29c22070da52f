"""The explorer's tabs, each declared by the analysis whose artifacts it shows
(:attr:`helpers.declare.Analysis.tab`):

* :class:`ImageTab` (saliency): pick a test image (or upload one): every model's prediction and
  confidence, the saliency map of the chosen method, the per-unit maps with their values;
* :class:`LayoutTab` (separability): a layer's t-SNE or UMAP layout, coloured by class or by one
  unit's value, with the chosen image highlighted;
* :class:`LandscapeTab` (landscape): α, β on the loss-landscape grid: each model's loss and
  accuracy there, and the circuit weights the point corresponds to;
* :class:`DreamTab` (dream): a qubit (±) or classical unit and its dream.
"""

from __future__ import annotations

import hashlib
import html
import io
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from PIL import Image, UnidentifiedImageError

from helpers.analysis.dream import DREAM_ROWS, load_dreams
from helpers.analysis.embedding import LAYOUT_METHODS, load_layouts
from helpers.analysis.landscape import LandscapePoint, landscape_point, load_landscapes
from helpers.analysis.saliency import METHODS, load_user_image
from helpers.declare import Analysis, model
from helpers.present.dream import plot_image_table
from helpers.present.explore import UPLOAD, Explorer, ExplorerTab, View, html_table
from helpers.present.explore_figures import image_png, plot_landscape_view, plot_layout_view
from helpers.present.saliency import plot_saliency_comparison, plot_unit_saliency


class ImageTab(ExplorerTab):
    """A test image or an upload: predictions, the chosen method's maps and per-unit maps."""

    key = "image"

    def controls(self) -> list[list[widgets.Widget]]:
        explorer = self.explorer
        labels = explorer.session.splits.test.targets
        options = [
            (f"test image {i} ({explorer.classes[int(labels[i])]})", i) for i in explorer.indices
        ]
        image = widgets.Dropdown(options=options, description="image")
        method = widgets.Dropdown(options=list(METHODS), description="saliency")
        upload = widgets.FileUpload(accept="image/*", description="upload")
        upload.observe(self._uploaded, names="value")
        explorer.controls["upload"] = upload
        views = list(explorer.tabs)  # the chosen image is every tab's
        return [[explorer.control("image", image, *views),
                 explorer.control("method", method, self.key), upload]]  # fmt: skip

    def _uploaded(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        explorer = self.explorer
        content = bytes(files[0]["content"])
        try:
            image = load_user_image(Image.open(io.BytesIO(content)), explorer.cfg)
        except UnidentifiedImageError:
            name = html.escape(files[0]["name"])
            explorer.texts[self.key].value = f"{name} is not an image PIL can read: upload a photo."
            return
        explorer.upload = (hashlib.sha256(content).hexdigest(), image)
        choice = explorer.controls["image"]
        tested = [option for option in choice.options if option[1] != UPLOAD]
        choice.options = [*tested, (f"uploaded: {files[0]['name']}", UPLOAD)]
        choice.value = UPLOAD

    def predictions(self) -> dict[str, tuple[str, float]]:
        """Every model's predicted class for the chosen image and its probability."""
        explorer = self.explorer
        key, image, _ = explorer.chosen_image()
        found = {}
        for kind, probabilities in explorer.probe.units(key, image).probabilities.items():
            predicted = int(probabilities[0].argmax())
            found[kind] = (explorer.classes[predicted], float(probabilities[0, predicted]))
        return found

    def view(self) -> View:
        explorer = self.explorer
        key, image, label = explorer.chosen_image()
        method = explorer.controls["method"].value
        units = explorer.probe.units(key, image)
        maps = explorer.probe.saliency(key, image, method)
        choice = explorer.controls["image"].value
        others = [m for m in METHODS if m != method]
        explorer.probe.prefetch(
            key, image, others, wanted=lambda: explorer.controls["image"].value == choice
        )
        predictions = self.predictions()
        rows = [[kind, name, f"{p:.3f}"] for kind, (name, p) in predictions.items()]
        truth = "an uploaded image" if label is None else f"true class: {explorer.classes[label]}"
        text = f"<b>{html.escape(truth)}</b>" + html_table(
            ["model", "prediction", "confidence"], rows, "explore-predictions"
        )
        grid = []
        for kind, (name, p) in predictions.items():
            scaled_map = maps[kind][0] / maps[kind][0].amax().clamp_min(1e-12)
            row = [(f"<b>{kind}</b>", image_png(image[0])),
                   (f"{method}: {name} ({p:.0%})", image_png(image[0], scaled_map))]  # fmt: skip
            unit_maps, values = units.unit_maps[kind][0], units.unit_values[kind][0]
            scaled = unit_maps / unit_maps.amax().clamp_min(1e-12)
            for j in range(len(values)):
                caption = f"{model(kind).symbol.format(j)} = {float(values[j]):+.2f}"
                row.append((html.escape(caption), image_png(image[0], scaled[j])))
            grid.append(row)
        return text, [], grid

    def figures(self) -> list[Figure]:
        explorer = self.explorer
        key, image, label = explorer.chosen_image()
        method = explorer.controls["method"].value
        units = explorer.probe.units(key, image)
        labels = None if label is None else torch.tensor([label])
        names = {kind: model(kind).unit for kind in units.unit_maps}
        return [
            plot_saliency_comparison(
                image, labels, explorer.classes, explorer.probe.saliency(key, image, method),
                units.probabilities, f"Explorer: {method.replace('_', ' ')} saliency",
            ),
            plot_unit_saliency(
                image, units.unit_maps, units.unit_values, names,
                "Explorer: what each qubit and hidden unit looks at",
            ),
        ]  # fmt: skip


class LayoutTab(ExplorerTab):
    """A layer's 2-D layout, coloured by class or by one unit, the chosen image starred."""

    key = "layout"

    def __init__(self, explorer: Explorer, analysis: Analysis) -> None:
        super().__init__(explorer, analysis)
        self.layouts, self.missing = load_layouts(explorer.cfg)
        self._syncing = False

    def controls(self) -> list[list[widgets.Widget]]:
        explorer = self.explorer
        methods = [(LAYOUT_METHODS[m], m) for m in self.layouts]
        method = widgets.Dropdown(options=methods, description="layout")
        kind = widgets.Dropdown(options=list(explorer.models), description="model")
        layer = widgets.Dropdown(description="layer")
        colour = widgets.Dropdown(options=["class", "unit"], description="colour by")
        unit = widgets.IntSlider(min=0, max=0, description="unit")
        for name, control in (("layout_method", method), ("layout_model", kind), ("layer", layer),
                              ("colour", colour), ("unit", unit)):  # fmt: skip
            explorer.control(name, control).observe(lambda _: self._changed(), "value")
        self._sync_layers()
        return [[method, kind, layer], [colour, unit]]

    def _sync_layers(self) -> None:
        """The layer choices of the chosen layout and model, and the unit slider's range."""
        controls = self.explorer.controls
        layouts = self.layouts.get(controls["layout_method"].value)
        kind = controls["layout_model"].value
        layer, unit = controls["layer"], controls["unit"]
        layers = list(layouts.points.get(kind, {})) if layouts else []
        self._syncing = True  # the changes below must not redraw
        if list(layer.options) != layers:
            chosen = layer.value if layer.value in layers else next(iter(layers), None)
            layer.options, layer.value = layers, chosen
        if layer.value:
            unit.max = self.explorer.session.activations.flat(kind, layer.value).shape[1] - 1
        self._syncing = False

    def _changed(self) -> None:
        if not self._syncing:
            self._sync_layers()
            self.explorer.refresh(self.key)

    def view(self) -> View:
        controls = self.explorer.controls
        layouts = self.layouts.get(controls["layout_method"].value)
        layer, kind = controls["layer"].value, controls["layout_model"].value
        if layouts is None:
            return self.absent("layouts_")
        if not layer:
            return f"no {LAYOUT_METHODS[layouts.method]} layout of the {kind} model.", [], []
        points = layouts.points[kind][layer]
        index = self.explorer.chosen_image()[0] if "image" in controls else None
        highlight = layouts.position(index) if index != UPLOAD else None
        name = LAYOUT_METHODS[layouts.method]
        title = f"{name} of the {kind} model's {layer} ({len(points)} test images)"
        note = "" if highlight is not None else "the chosen image is not in this layout"
        classes = self.explorer.classes
        if controls["colour"].value == "class":
            fig = plot_layout_view(points, layouts.labels, classes, highlight, title, name)
            return note, [fig], []
        unit = controls["unit"].value
        activations = self.explorer.session.activations
        if activations.indices != layouts.indices:
            return "the captured activations are not those of the layouts: rerun them.", [], []
        values = activations.flat(kind, layer)[:, unit].numpy()
        label = f"{layer} unit {unit}"
        return note, [plot_layout_view(points, values, None, highlight, title, name, label)], []


class LandscapeTab(ExplorerTab):
    """α and β on the landscape grid: loss, accuracy and the circuit weights there."""

    key = "landscape"

    def __init__(self, explorer: Explorer, analysis: Analysis) -> None:
        super().__init__(explorer, analysis)
        kinds = list(explorer.models)
        self.landscapes, self.directions, self.missing = load_landscapes(explorer.cfg, kinds)

    def point(self, kind: str, alpha: float, beta: float) -> LandscapePoint:
        """``kind``'s loss, accuracy and circuit weights at the grid point nearest (α, β)."""
        return landscape_point(self.landscapes[kind], self.directions.get(kind), alpha, beta)

    def controls(self) -> list[list[widgets.Widget]]:
        grid = next(iter(self.landscapes.values()), None)
        axes = {} if grid is None else {"alpha": grid.alphas, "beta": grid.betas}
        sliders = []
        for name, values in axes.items():
            options = [(f"{v:+.2f}", float(v)) for v in values]
            slider = widgets.SelectionSlider(
                options=options, value=options[len(options) // 2][1], description=f"{name} ="
            )
            sliders.append(self.explorer.control(name, slider, self.key))
        return [sliders]

    def view(self) -> View:
        if not self.landscapes or not self.directions:
            return self.absent("landscape")
        controls = self.explorer.controls
        alpha, beta = controls["alpha"].value, controls["beta"].value
        points = {k: self.point(k, alpha, beta) for k in self.landscapes}
        rows = [[k, f"{p.loss:.4f}", f"{p.accuracy:.3f}"] for k, p in points.items()]
        text = html_table(["model", "training loss", "training accuracy"], rows, "explore-loss")
        text += "".join(_circuit_table(kind, point) for kind, point in points.items())
        number = self.analysis.number
        title = f"Loss landscapes (notebook {number}): the point α = {alpha:+.2f}, β = {beta:+.2f}"
        return text, [plot_landscape_view(self.landscapes, alpha, beta, title)], []


def _circuit_table(kind: str, point: LandscapePoint) -> str:
    """The circuit weights at the point (and their change from the trained model), if any."""
    if point.circuit is None or point.circuit.size == 0:
        return ""
    n_qubits = point.circuit.shape[1]
    rows = [
        [f"layer {k}", *(f"{w:+.3f} ({w - t:+.3f})" for w, t in zip(ws, ts, strict=True))]
        for k, (ws, ts) in enumerate(zip(point.circuit, point.trained_circuit, strict=True))
    ]
    header = [f"{kind} circuit", *(f"angle {i} (change)" for i in range(n_qubits))]
    return html_table(header, rows, "explore-circuit")


class DreamTab(ExplorerTab):
    """A qubit and a sign (±⟨Z_j⟩), or a classical unit, and its dream."""

    key = "dream"

    def __init__(self, explorer: Explorer, analysis: Analysis) -> None:
        super().__init__(explorer, analysis)
        self.dreams, self.missing = load_dreams(explorer.cfg)

    def controls(self) -> list[list[widgets.Widget]]:
        explorer = self.explorer
        kinds = [k for k in DREAM_ROWS if k in explorer.models]
        kind = widgets.Dropdown(options=kinds, description="model")
        most = max((self.dreams.units(k) for k in kinds), default=0) if self.dreams else 0
        unit = widgets.Dropdown(options=list(range(most)), description="qubit/unit")
        sign = widgets.ToggleButtons(options=[("+", 1), ("−", -1)], description="sign")
        kind.observe(lambda change: setattr(sign, "disabled", change["new"] != "hybrid"), "value")
        for name, control in (("dream_model", kind), ("dream_unit", unit), ("sign", sign)):
            explorer.control(name, control, self.key)
        return [[kind, unit, sign]]

    def _dream(self) -> tuple[str, torch.Tensor, float, float]:
        """The chosen dream's name, image and objective at the start image and at the dream."""
        controls = self.explorer.controls
        kind = controls["dream_model"].value
        sign = controls["sign"].value if kind == "hybrid" else 1
        unit = controls["dream_unit"].value
        image, start, final = self.dreams.pick(kind, unit, sign)
        return f"{'+' if sign > 0 else '−'}{model(kind).unit} {unit}", image, start, final

    def view(self) -> View:
        if self.dreams is None:
            return self.absent("dreams")
        try:
            name, image, start, final = self._dream()
        except ValueError as exc:  # e.g. a circuit with fewer outputs than the twin has units
            return html.escape(str(exc)), [], []
        text = f"objective {name}: {start:+.3f} at the start image, {final:+.3f} at the dream"
        grid = [[("start image", image_png(self.dreams.start[0])),
                 (html.escape(f"dream of {name}"), image_png(image[0]))]]  # fmt: skip
        return html.escape(text), [], grid

    def figures(self) -> list[Figure]:
        if self.dreams is None:
            return []
        try:
            name, image, _, _ = self._dream()
        except ValueError:
            return []
        images = {"DeepDream": {"start image": self.dreams.start, name: image}}
        title = f"Explorer: DeepDream of {name} (notebook {self.analysis.number})"
        return [plot_image_table(images, title)]
