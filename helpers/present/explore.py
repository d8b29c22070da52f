"""The interactive explorer of a finished run: ``explore(session)`` in any notebook.

One tab of ipywidgets per analysis that declares one (:attr:`helpers.declare.Analysis.tab`), in
the series' order; each tab is an :class:`ExplorerTab` of :mod:`helpers.present.explore_tabs`
(or any module a new analysis names): it reads its own artifacts, builds its controls and draws
its view. The explorer holds what tabs share: the models, the chosen image (a test image or an
upload) and its saliency probe.

Pictures are PNGs in ``Image`` widgets (:mod:`helpers.present.explore_figures`); nothing on
disk is recomputed, and one image's saliency is computed when asked for and kept in memory.
:meth:`Explorer.figures` draws the current state of a tab as the notebooks' figures.
"""

from __future__ import annotations

import html
import importlib
from typing import Any, Protocol

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.analysis.activations import Activations
from helpers.analysis.explore import ImageProbe
from helpers.config import Config
from helpers.declare import MODEL_NAMES, Analysis, analyses
from helpers.model.data import Splits, dataset_images
from helpers.present.explore_figures import PANEL_SIZE, VIEW_DPI, png

UPLOAD = -1  # the image choice that means "the uploaded image"
Grid = list[list[tuple[str, bytes]]]  # rows of (caption, PNG) panels
View = tuple[str, list[Figure], Grid]  # a tab's text (HTML), figures and image panels


class ExplorerSession(Protocol):
    """What the explorer needs of a notebook's session
    (:class:`helpers.run.session.NotebookSession`)."""

    cfg: Config
    models: dict[str, nn.Module]
    splits: Splits
    activations: Activations

    def balanced(self, n: int) -> list[int]: ...


def html_table(header: list[str], rows: list[list[str]], css: str = "") -> str:
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


class ExplorerTab:
    """One tab of the explorer: it reads its analysis's artifacts when built, lists what is
    absent in :attr:`missing`, builds its :meth:`controls` and draws its :meth:`view`.

    Subclasses set :attr:`key` (the view's name: ``explorer.texts[key]``, CSS classes
    ``explore-<key>-text`` and ``explore-<key>-view``).
    """

    key = ""

    def __init__(self, explorer: Explorer, analysis: Analysis) -> None:
        self.explorer, self.analysis = explorer, analysis
        self.missing: list[str] = []

    def controls(self) -> list[list[widgets.Widget]]:
        """Rows of controls (made with :meth:`Explorer.control`)."""
        return []

    def view(self) -> View:
        """The tab's text, figures and image panels for the current controls."""
        raise NotImplementedError

    def figures(self) -> list[Figure]:
        """The current state as the notebooks' figures (for the report)."""
        return self.view()[1]

    def absent(self, words: str) -> View:
        """What is absent (the lines of :attr:`missing` containing ``words``), as a view."""
        lines = [line for line in self.missing if words in line]
        return "<br>".join(html.escape(line) for line in lines) or "nothing to show", [], []


def tab_class(path: str) -> type[ExplorerTab]:
    """The tab class a declaration names, ``"module:Class"``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class Explorer:
    """The explorer's widgets and views over one notebook session's run
    (:class:`~helpers.run.session.NotebookSession`)."""

    def __init__(self, session: ExplorerSession) -> None:
        self.session, self.cfg = session, session.cfg
        models = session.models
        order = [k for k in MODEL_NAMES if k != "hybrid"] + ["hybrid"]  # the hybrid last
        order = [k for k in order if k in models]
        self.models = {kind: models[kind] for kind in order}
        self.classes = list(self.cfg.classes)
        self.probe = ImageProbe(self.models, seed=self.cfg.seed)
        self.indices = session.balanced(self.cfg.embedding_images)
        self.upload: tuple[str, torch.Tensor] | None = None  # (cache key, image)
        self.controls: dict[str, widgets.Widget] = {}
        declared = [a for a in analyses() if a.tab is not None]
        tabs = [tab_class(a.tab.view)(self, a) for a in declared]
        self.tabs: dict[str, ExplorerTab] = {tab.key: tab for tab in tabs}
        self.pictures = {view: Pictures(view) for view in self.tabs}
        self.texts: dict[str, widgets.HTML] = {view: widgets.HTML() for view in self.tabs}
        for view in self.tabs:
            self.texts[view].add_class(f"explore-{view}-text")
        pages = [self._page(view, tab.controls()) for view, tab in self.tabs.items()]
        self.widget = widgets.Tab(pages, titles=[a.tab.title for a in declared])
        self.widget.add_class("explorer")
        for view in self.tabs:
            self.refresh(view)

    @property
    def views(self) -> list[str]:
        """The tabs' keys, in order."""
        return list(self.tabs)

    @property
    def missing(self) -> list[str]:
        """Every tab's absent artifacts, one line each."""
        return [line for tab in self.tabs.values() for line in tab.missing]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return self.widget._repr_mimebundle_(**kwargs)

    def _page(self, view: str, rows: list[list[widgets.Widget]]) -> widgets.Widget:
        lines = [widgets.HBox(row) for row in rows]
        return widgets.VBox([*lines, self.texts[view], self.pictures[view].box])

    def control(self, name: str, control: widgets.Widget, *views: str) -> widgets.Widget:
        """Register ``control`` as ``controls[name]``; a change redraws ``views``."""
        control.add_class(f"explore-{name}")
        control.observe(
            lambda _change: [self.refresh(v) for v in views if v in self.tabs], names="value"
        )
        self.controls[name] = control
        return control

    def refresh(self, view: str) -> None:
        """Redraw ``view`` (one of :attr:`views`) from the current controls."""
        text, figures, grid = self.tabs[view].view()
        self.texts[view].value = text
        self.pictures[view].show(figures, grid)

    def chosen_image(self) -> tuple[Any, torch.Tensor, int | None]:
        """The chosen image's cache key, the image ``(1, 3, H, W)`` and its label (None for
        an upload or when no tab offers a choice: then the first test image)."""
        choice = self.controls.get("image")
        index = choice.value if choice is not None else self.indices[0]
        if index == UPLOAD and self.upload is not None:
            return (*self.upload, None)
        image, label = dataset_images(self.session.splits.test, [index])
        return index, image, int(label[0])

    def figures(self, view: str) -> list[Figure]:
        """The current state of ``view`` as the notebooks' figures (for the report).

        Args:
            view: A tab's key, one of :attr:`views`.

        Returns:
            The tab's figures as it now stands (matplotlib, publishable).

        Example:
            >>> for view in explorer.views:  # doctest: +SKIP
            ...     figures = explorer.figures(view)
        """
        return self.tabs[view].figures()


def explore(session: ExplorerSession) -> Explorer:
    """The explorer of ``session``'s run; show it by making it a cell's last expression.

    Args:
        session: a notebook's session (``setup(globals())``) of a finished run.

    Returns:
        The :class:`Explorer`; its tabs are those the run's analyses declare.

    Example:
        >>> explorer = explore(setup(globals()))  # doctest: +SKIP
        >>> explorer  # the last expression of a cell shows the widgets  # doctest: +SKIP
    """
    return Explorer(session)
