"""The interactive explorer of a finished run: ``explore(session)`` in any notebook (and 09).

Four tabs of ipywidgets over the run's artifacts (:func:`helpers.analysis.explore.load_run`):

* **Image**: pick a test image (or upload one): every model's prediction and confidence, the
  saliency map of the chosen method, the per-unit maps with the ⟨Z_j⟩ and ReLU values;
* **Layout**: a layer's t-SNE (04) or UMAP (05) layout, coloured by class or by one unit's
  value, with the chosen image highlighted;
* **Landscape**: α, β on the grid of notebook 06: each model's loss and accuracy there, and
  the circuit weights the point corresponds to;
* **DeepDream**: a qubit (±) or classical unit and its dream from notebook 07.

Pictures are PNGs in ``Image`` widgets (:mod:`helpers.present.explore_figures`); nothing on
disk is recomputed, and one image's saliency is computed when asked for and kept in memory.
:meth:`Explorer.figures` draws the current state of a tab as the notebooks' figures.
"""

from __future__ import annotations

import hashlib
import html
import io
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from PIL import Image, UnidentifiedImageError
from torch import nn

from helpers.analysis.activations import Activations
from helpers.analysis.explore import (
    DREAM_ROWS,
    LAYOUT_METHODS,
    ImageProbe,
    LandscapePoint,
    load_run,
)
from helpers.analysis.saliency import METHODS, load_user_image
from helpers.config import Config
from helpers.model.data import Splits, dataset_images
from helpers.present.dream import plot_image_table
from helpers.present.explore_figures import (
    PANEL_SIZE,
    VIEW_DPI,
    image_png,
    plot_landscape_view,
    plot_layout_view,
    png,
)
from helpers.present.saliency import plot_saliency_comparison, plot_unit_saliency

VIEWS = ("image", "layout", "landscape", "dream")
UNIT_NAMES = {"hybrid": "⟨Z⟩ qubit", "classical": "ReLU unit", "product": "⟨Z⟩ qubit (depth 0)"}
UNIT_SYMBOLS = {"hybrid": "⟨Z_{}⟩", "classical": "ReLU h_{}", "product": "⟨Z_{}⟩"}  # captions
UPLOAD = -1  # the image choice that means "the uploaded image"
Grid = list[list[tuple[str, bytes]]]  # rows of (caption, PNG) panels


class Session(Protocol):
    """What the explorer needs of a notebook's session (:class:`helpers.run.session.Session`)."""

    cfg: Config
    models: dict[str, nn.Module]
    splits: Splits
    activations: Activations

    def balanced(self, n: int) -> list[int]: ...


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{css}"><tr>{cells}</tr>{body}</table>'


class Pictures:
    """A tab's pictures: figures, or a grid of captioned image panels; widgets are reused."""

    def __init__(self, view: str) -> None:
        self.box = widgets.VBox()
        self.box.add_class(f"explore-{view}-view")
        self._figures: list[widgets.Image] = []
        self._cells: list[tuple[widgets.HTML, widgets.Image]] = []
        self._grid = widgets.GridBox()

    def show(self, figures: list[Figure], grid: Grid) -> None:
        """Show ``figures`` (then closed) and ``grid``."""
        while len(self._figures) < len(figures):
            self._figures.append(widgets.Image(format="png"))
        for image, fig in zip(self._figures, figures, strict=False):
            image.layout.width = f"{round(fig.get_figwidth() * VIEW_DPI)}px"  # not stretched
            image.value = png(fig)
        panels = [panel for row in grid for panel in row]
        while len(self._cells) < len(panels):
            panel = widgets.Image(format="png", layout=widgets.Layout(width=f"{PANEL_SIZE}px"))
            self._cells.append((widgets.HTML(), panel))
        for (caption, image), (text, picture) in zip(self._cells, panels, strict=False):
            caption.value, image.value = text, picture
        columns = max((len(row) for row in grid), default=1)
        self._grid.layout.grid_template_columns = f"repeat({columns}, max-content)"
        self._grid.children = [widgets.VBox(cell) for cell in self._cells[: len(panels)]]
        self.box.children = [*self._figures[: len(figures)], *([self._grid] if grid else [])]


class Explorer:
    """The explorer's widgets and views over one :class:`~helpers.run.session.Session`'s run."""

    def __init__(self, session: Session) -> None:
        self.session, self.cfg = session, session.cfg
        models = session.models
        order = [k for k in ("classical", "product", "hybrid") if k in models]  # hybrid last
        self.models = {kind: models[kind] for kind in order}
        self.classes = list(self.cfg.classes)
        self.run = load_run(self.cfg, list(self.models))
        self.probe = ImageProbe(self.models, seed=self.cfg.seed)
        layouts = next(iter(self.run.layouts.values()), None)
        self.indices = layouts.indices if layouts else session.balanced(self.cfg.embedding_images)
        self.upload: tuple[str, torch.Tensor] | None = None  # (cache key, image)
        self.controls: dict[str, widgets.Widget] = {}
        self.pictures = {view: Pictures(view) for view in VIEWS}
        self.texts: dict[str, widgets.HTML] = {view: widgets.HTML() for view in VIEWS}
        for view in VIEWS:
            self.texts[view].add_class(f"explore-{view}-text")
        self.widget = widgets.Tab(
            [self._image_tab(), self._layout_tab(), self._landscape_tab(), self._dream_tab()],
            titles=["Image", "Layout", "Landscape", "DeepDream"],
        )
        self.widget.add_class("explorer")
        for view in VIEWS:
            self.refresh(view)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return self.widget._repr_mimebundle_(**kwargs)

    def _tab(self, view: str, *rows: list[widgets.Widget]) -> widgets.Widget:
        lines = [widgets.HBox(row) for row in rows]
        return widgets.VBox([*lines, self.texts[view], self.pictures[view].box])

    # ----------------------------------------------------------------- controls
    def _control(self, name: str, control: widgets.Widget, *views: str) -> widgets.Widget:
        control.add_class(f"explore-{name}")
        control.observe(lambda _change: [self.refresh(v) for v in views], names="value")
        self.controls[name] = control
        return control

    def _image_tab(self) -> widgets.Widget:
        labels = self.session.splits.test.targets
        options = [(f"test image {i} ({self.classes[int(labels[i])]})", i) for i in self.indices]
        image = widgets.Dropdown(options=options, description="image")
        method = widgets.Dropdown(options=list(METHODS), description="saliency")
        upload = widgets.FileUpload(accept="image/*", description="upload")
        upload.observe(self._uploaded, names="value")
        self.controls["upload"] = upload
        self._control("image", image, "image", "layout")
        return self._tab("image", [image, self._control("method", method, "image"), upload])

    def _uploaded(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        content = bytes(files[0]["content"])
        try:
            image = load_user_image(Image.open(io.BytesIO(content)), self.cfg)
        except UnidentifiedImageError:
            name = html.escape(files[0]["name"])
            self.texts["image"].value = f"{name} is not an image PIL can read: upload a photo."
            return
        self.upload = (hashlib.sha256(content).hexdigest(), image)
        choice = self.controls["image"]
        tested = [option for option in choice.options if option[1] != UPLOAD]
        choice.options = [*tested, (f"uploaded: {files[0]['name']}", UPLOAD)]
        choice.value = UPLOAD

    def _layout_tab(self) -> widgets.Widget:
        methods = [(LAYOUT_METHODS[m][0], m) for m in self.run.layouts]
        method = widgets.Dropdown(options=methods, description="layout")
        model = widgets.Dropdown(options=list(self.models), description="model")
        layer = widgets.Dropdown(description="layer")
        colour = widgets.Dropdown(options=["class", "unit"], description="colour by")
        unit = widgets.IntSlider(min=0, max=0, description="unit")
        for name, control in (("layout_method", method), ("layout_model", model), ("layer", layer),
                              ("colour", colour), ("unit", unit)):  # fmt: skip
            self._control(name, control).observe(lambda _: self._layout_changed(), "value")
        self._syncing = False
        self._sync_layers()
        return self._tab("layout", [method, model, layer], [colour, unit])

    def _sync_layers(self) -> None:
        """The layer choices of the chosen layout and model, and the unit slider's range."""
        layouts = self.run.layouts.get(self.controls["layout_method"].value)
        kind = self.controls["layout_model"].value
        layer, unit = self.controls["layer"], self.controls["unit"]
        layers = list(layouts.points.get(kind, {})) if layouts else []
        self._syncing = True  # the changes below must not redraw
        if list(layer.options) != layers:
            chosen = layer.value if layer.value in layers else next(iter(layers), None)
            layer.options, layer.value = layers, chosen
        if layer.value:
            unit.max = self.session.activations.flat(kind, layer.value).shape[1] - 1
        self._syncing = False

    def _layout_changed(self) -> None:
        if not self._syncing:
            self._sync_layers()
            self.refresh("layout")

    def _landscape_tab(self) -> widgets.Widget:
        grid = next(iter(self.run.landscapes.values()), None)
        axes = {} if grid is None else {"alpha": grid.alphas, "beta": grid.betas}
        sliders = []
        for name, values in axes.items():
            options = [(f"{v:+.2f}", float(v)) for v in values]
            slider = widgets.SelectionSlider(
                options=options, value=options[len(options) // 2][1], description=f"{name} ="
            )
            sliders.append(self._control(name, slider, "landscape"))
        return self._tab("landscape", sliders)

    def _dream_tab(self) -> widgets.Widget:
        kinds = [k for k in DREAM_ROWS if k in self.models]
        model = widgets.Dropdown(options=kinds, description="model")
        unit = widgets.Dropdown(options=list(range(self.cfg.n_qubits)), description="qubit/unit")
        sign = widgets.ToggleButtons(options=[("+", 1), ("−", -1)], description="sign")
        model.observe(lambda change: setattr(sign, "disabled", change["new"] != "hybrid"), "value")
        for name, control in (("dream_model", model), ("dream_unit", unit), ("sign", sign)):
            self._control(name, control, "dream")
        return self._tab("dream", [model, unit, sign])

    # ----------------------------------------------------------------- views
    def refresh(self, view: str) -> None:
        """Redraw ``view`` (one of :data:`VIEWS`) from the current controls."""
        draw: Callable[[], tuple[str, list[Figure], Grid]] = getattr(self, f"_{view}_view")
        text, figures, grid = draw()
        self.texts[view].value = text
        self.pictures[view].show(figures, grid)

    def _missing(self, words: str) -> tuple[str, list[Figure], Grid]:
        lines = [line for line in self.run.missing if words in line]
        return "<br>".join(html.escape(line) for line in lines) or "nothing to show", [], []

    def chosen_image(self) -> tuple[Any, torch.Tensor, int | None]:
        """The chosen image's cache key, the image ``(1, 3, H, W)`` and its label (None for
        an upload)."""
        index = self.controls["image"].value
        if index == UPLOAD and self.upload is not None:
            return (*self.upload, None)
        image, label = dataset_images(self.session.splits.test, [index])
        return index, image, int(label[0])

    def predictions(self) -> dict[str, tuple[str, float]]:
        """Every model's predicted class for the chosen image and its probability."""
        key, image, _ = self.chosen_image()
        found = {}
        for kind, probabilities in self.probe.units(key, image).probabilities.items():
            predicted = int(probabilities[0].argmax())
            found[kind] = (self.classes[predicted], float(probabilities[0, predicted]))
        return found

    def _image_view(self) -> tuple[str, list[Figure], Grid]:
        key, image, label = self.chosen_image()
        method = self.controls["method"].value
        units = self.probe.units(key, image)
        maps = self.probe.saliency(key, image, method)
        choice = self.controls["image"].value
        others = [m for m in METHODS if m != method]
        self.probe.prefetch(
            key, image, others, wanted=lambda: self.controls["image"].value == choice
        )
        predictions = self.predictions()
        rows = [[kind, name, f"{p:.3f}"] for kind, (name, p) in predictions.items()]
        truth = "an uploaded image" if label is None else f"true class: {self.classes[label]}"
        text = f"<b>{html.escape(truth)}</b>" + _table(
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
                caption = f"{UNIT_SYMBOLS[kind].format(j)} = {float(values[j]):+.2f}"
                row.append((html.escape(caption), image_png(image[0], scaled[j])))
            grid.append(row)
        return text, [], grid

    def _layout_view(self) -> tuple[str, list[Figure], Grid]:
        layouts = self.run.layouts.get(self.controls["layout_method"].value)
        layer, kind = self.controls["layer"].value, self.controls["layout_model"].value
        if layouts is None:
            return self._missing("layouts_")
        if not layer:
            return f"no {LAYOUT_METHODS[layouts.method][0]} layout of the {kind} model.", [], []
        points = layouts.points[kind][layer]
        index = self.controls["image"].value
        highlight = layouts.position(index) if index != UPLOAD else None
        name = LAYOUT_METHODS[layouts.method][0]
        title = f"{name} of the {kind} model's {layer} ({len(points)} test images)"
        note = "" if highlight is not None else "the chosen image is not in this layout"
        if self.controls["colour"].value == "class":
            fig = plot_layout_view(points, layouts.labels, self.classes, highlight, title, name)
            return note, [fig], []
        unit = self.controls["unit"].value
        activations = self.session.activations
        if activations.indices != layouts.indices:
            return "the captured activations are not those of the layouts: rerun 04 and 05.", [], []
        values = activations.flat(kind, layer)[:, unit].numpy()
        label = f"{layer} unit {unit}"
        return note, [plot_layout_view(points, values, None, highlight, title, name, label)], []

    def _landscape_view(self) -> tuple[str, list[Figure], Grid]:
        if not self.run.landscapes or not self.run.directions:
            return self._missing("landscape")
        alpha, beta = self.controls["alpha"].value, self.controls["beta"].value
        points = {k: self.run.landscape_point(k, alpha, beta) for k in self.run.landscapes}
        rows = [[k, f"{p.loss:.4f}", f"{p.accuracy:.3f}"] for k, p in points.items()]
        text = _table(["model", "training loss", "training accuracy"], rows, "explore-loss")
        text += "".join(_circuit_table(kind, point) for kind, point in points.items())
        title = f"Loss landscapes (notebook 06): the point α = {alpha:+.2f}, β = {beta:+.2f}"
        return text, [plot_landscape_view(self.run.landscapes, alpha, beta, title)], []

    def _dream(self) -> tuple[str, torch.Tensor, float, float]:
        """The chosen dream's name, image and objective at the start image and at the dream."""
        kind = self.controls["dream_model"].value
        sign = self.controls["sign"].value if kind == "hybrid" else 1
        unit = self.controls["dream_unit"].value
        image, start, final = self.run.dreams.pick(kind, unit, sign)
        return f"{'+' if sign > 0 else '−'}{UNIT_NAMES[kind]} {unit}", image, start, final

    def _dream_view(self) -> tuple[str, list[Figure], Grid]:
        if self.run.dreams is None:
            return self._missing("dreams")
        name, image, start, final = self._dream()
        text = f"objective {name}: {start:+.3f} at the start image, {final:+.3f} at the dream"
        grid = [[("start image", image_png(self.run.dreams.start[0])),
                 (html.escape(f"dream of {name}"), image_png(image[0]))]]  # fmt: skip
        return html.escape(text), [], grid

    # ----------------------------------------------------------------- static copies
    def figures(self, view: str) -> list[Figure]:
        """The current state of ``view`` as the notebooks' figures (for the report)."""
        if view == "image":
            key, image, label = self.chosen_image()
            method = self.controls["method"].value
            units = self.probe.units(key, image)
            labels = None if label is None else torch.tensor([label])
            names = {kind: UNIT_NAMES[kind] for kind in units.unit_maps}
            return [
                plot_saliency_comparison(
                    image, labels, self.classes, self.probe.saliency(key, image, method),
                    units.probabilities, f"Explorer: {method.replace('_', ' ')} saliency",
                ),
                plot_unit_saliency(
                    image, units.unit_maps, units.unit_values, names,
                    "Explorer: what each qubit and hidden unit looks at",
                ),
            ]  # fmt: skip
        if view == "dream":
            if self.run.dreams is None:
                return []
            name, image, _, _ = self._dream()
            images = {"DeepDream": {"start image": self.run.dreams.start, name: image}}
            return [plot_image_table(images, f"Explorer: DeepDream of {name} (notebook 07)")]
        return getattr(self, f"_{view}_view")()[1]


def _circuit_table(kind: str, point: LandscapePoint) -> str:
    """The circuit weights at the point (and their change from the trained model), if any."""
    if point.circuit is None or point.circuit.size == 0:
        return ""
    n_qubits = point.circuit.shape[1]
    rows = [
        [f"layer {k}", *(f"{w:+.3f} ({w - t:+.3f})" for w, t in zip(ws, ts, strict=True))]
        for k, (ws, ts) in enumerate(zip(point.circuit, point.trained_circuit, strict=True))
    ]
    header = [f"{kind} circuit", *(f"RY qubit {i} (change)" for i in range(n_qubits))]
    return _table(header, rows, "explore-circuit")


def explore(session: Session) -> Explorer:
    """The explorer of ``session``'s run; show it by making it a cell's last expression."""
    return Explorer(session)
