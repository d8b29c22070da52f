"""Declarations: every notebook of the series and every model it compares, each said once.

An analysis is declared where it is computed, as a module-level :class:`Analysis` called
``ANALYSIS`` in a module of :mod:`helpers.analysis` (several in one module: a tuple
``ANALYSES``). A declaration names the analysis (its ``results.json`` folder), its notebook, the
parameters its ``parameters`` cell declares (its own, with defaults, rules and smoke values; and
the shared run parameters it reads), its key figure, an optional preflight check and an optional
explorer tab. The pipeline's notebook list, the configuration's analysis parameters, preflight's
per-notebook checks, the report's and deck's sections and key figures and the explorer's tabs are
all read from :func:`analyses`; no list of analyses is typed anywhere else.

Discovery imports every module of :mod:`helpers.analysis` once, on first use, by name (plug-in
discovery, like pytest's): this floor never imports the analyses statically.

The models are declared here too (:data:`MODELS`): a new control is one :class:`Model` and joins
every notebook, family and table through :data:`MODEL_PAIRS`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

ANALYSIS_PACKAGE = "helpers.analysis"
NOT_SET: Any = object()  # a parameter whose smoke value is its default


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a parameter's value must be, as a test and the words that say it."""

    holds: Callable[[Any], bool]
    text: str


def at_least(low: float) -> Rule:
    """A number at least ``low``."""
    return Rule(lambda value: value >= low, f">= {low:g}")


def one_of(*choices: str) -> Rule:
    """One of ``choices``."""
    return Rule(lambda value: value in choices, f"one of {', '.join(choices)}")


POSITIVE = Rule(lambda value: value >= 1, "a positive integer")
POSITIVE_NUMBER = Rule(lambda value: value > 0, "positive")
DECAY = Rule(lambda value: 0 < value <= 1, "in (0, 1]: the factor the rate is multiplied by")
SEED = Rule(lambda value: 0 <= value < 2**32, "an integer in [0, 2**32)")
FRACTION = Rule(lambda value: 0 < value < 1, "a fraction in (0, 1)")
SEED_LIST = Rule(
    lambda values: bool(values) and len(set(values)) == len(values) and min(values) >= 0,
    "a list of distinct non-negative integers (each trains every model once)",
)
POSITIVE_LIST = Rule(lambda values: bool(values) and min(values) >= 1, "positive")
TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "list[str]": "a list of names",
    "list[int]": "a list of integers",
}


def has_type(value: Any, kind: str) -> bool:
    """Whether ``value`` is of the annotated type ``kind`` (booleans are not numbers)."""
    if isinstance(value, bool):
        return kind == "bool"
    if kind.startswith("list["):
        item = kind[5:-1]
        return isinstance(value, list) and all(has_type(entry, item) for entry in value)
    return isinstance(value, {"int": int, "float": int | float, "str": str}.get(kind, type(None)))


@dataclasses.dataclass(frozen=True)
class Parameter:
    """An analysis parameter: its name, default, rule (beyond its type), value under ``--smoke``
    and what it sets (the README's table and the parameters cell's comment say the same)."""

    name: str
    default: Any
    rule: Rule | None = None
    smoke: Any = NOT_SET
    help: str = ""

    @property
    def kind(self) -> str:
        """The annotated type of the value (``int``, ``float``, ``str``, ``list[int]``, ...)."""
        value = self.default
        if isinstance(value, list):
            return f"list[{type(value[0]).__name__ if value else 'str'}]"
        return type(value).__name__


@dataclasses.dataclass(frozen=True)
class Tab:
    """An explorer tab: its title and its view (``"module:Class"``, a class of the present floor
    built by the explorer, see :mod:`helpers.present.explore`)."""

    title: str
    view: str


@dataclasses.dataclass(frozen=True)
class Analysis:
    """One notebook of the series and what it states (see the module docstring).

    Args:
        name: the analysis (``<artifacts_dir>/<name>/results.json``), unique.
        notebook: the notebook's file name without ``.ipynb`` (``"03_saliency"``); the series
            runs in the order of these names.
        title: what the analysis asks, for the report's and deck's headings.
        parameters: the parameters this analysis owns.
        shared: other parameters its ``parameters`` cell declares (run parameters, or another
            analysis's), in the cell's order after its own.
        key_figure: the figure that shows it best (its ``publish`` name), None for none.
        check: a preflight check ``check(cfg)`` that raises ``OSError`` or ``ValueError`` with
            a message saying what to fix; run before the pipeline starts this notebook.
        tab: its explorer tab, if any.
        trains: the models (:data:`MODELS`) its notebook trains.
        needs: models of which a run must have one for the notebook to have anything to do
            (the pipeline skips it otherwise, saying so); empty: any model will do.
        writes: artifacts its notebook writes for others to read (paths under
            ``artifacts_dir``; a folder ends with ``/``), so a reader that misses one can name
            the notebook to run.
        results: whether the notebook writes ``results.json`` (checked by the conformance test).
    """

    name: str
    notebook: str
    title: str
    parameters: tuple[Parameter, ...] = ()
    shared: tuple[str, ...] = ()
    key_figure: str | None = None
    check: Callable[[Any], object] | None = None
    tab: Tab | None = None
    trains: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    results: bool = True

    @property
    def number(self) -> str:
        """The notebook's number, ``"03"``."""
        return self.notebook[:2]

    def runs_with(self, models: list[str]) -> bool:
        """Whether the notebook has something to do for a run of ``models``."""
        return not self.needs or any(model in models for model in self.needs)

    @property
    def declared(self) -> tuple[str, ...]:
        """The names its ``parameters`` cell declares, in order (``artifacts_dir`` last)."""
        return (*(p.name for p in self.parameters), *self.shared, "artifacts_dir")


@dataclasses.dataclass(frozen=True)
class Model:
    """A model every notebook trains or compares: its name, what it is, what its head's units
    are called (in words, and as a symbol with ``{}`` for the unit's index), the head's named
    layers (forward hooks capture them) and the one whose outputs are its units. The analysis
    that trains it says so (:attr:`Analysis.trains`)."""

    name: str
    description: str
    unit: str
    symbol: str
    layers: tuple[str, ...]
    unit_layer: str


DRESSED_LAYERS = ("q_pre", "q_in", "q_out", "logits")  # the dressed circuit's head
MODELS: tuple[Model, ...] = (
    Model("hybrid", "the dressed quantum circuit", "⟨Z⟩ qubit", "⟨Z_{}⟩", DRESSED_LAYERS, "q_out"),
    Model(
        "classical", "its classical twin", "ReLU unit", "ReLU h_{}", ("h_in", "h_out", "logits"),
        "h_out",
    ),
    Model(
        "product", "its product control (depth 0)", "⟨Z⟩ qubit (depth 0)", "⟨Z_{}⟩",
        DRESSED_LAYERS, "q_out",
    ),
    Model(
        "unentangled", "its unentangled control", "⟨Z⟩ qubit (no entangling gates)", "⟨Z_{}⟩",
        DRESSED_LAYERS, "q_out",
    ),
)  # fmt: skip
MODEL_NAMES = tuple(model.name for model in MODELS)
# (a, b): each comparison reports b − a: the hybrid against its classical twin and against its
# depth-0 control, and the control against the twin (what the circuit's fixed encoding alone
# changes: −sin(x_j) for Mari's, cos(x_j) for the library ansätze). Together they say whether a
# difference needs the circuit beyond depth 0 (its CNOT ladders and trained weights, which depth
# 0 removes together). The unentangled control (when a run trains it) removes the multi-qubit
# gates with the weights kept: hybrid − unentangled is what those gates add, and what they make
# of the depth (single-axis rotations left on one qubit merge into one).
MODEL_PAIRS = (
    ("classical", "hybrid"), ("product", "hybrid"), ("classical", "product"),
    ("unentangled", "hybrid"),
)  # fmt: skip
QUANTUM_MODELS = ("hybrid", "product", "unentangled")  # the models with a circuit
DEFAULT_MODELS = ("hybrid", "classical", "product")  # trained unless ``models`` says otherwise


def model(name: str) -> Model:
    """The declared model called ``name``."""
    for declared in MODELS:
        if declared.name == name:
            return declared
    raise KeyError(f"no model {name!r}: declared models are {', '.join(MODEL_NAMES)}")


_FOUND: list[Analysis] = []
_DISCOVERED = False


def analyses() -> tuple[Analysis, ...]:
    """Every declared analysis, in notebook order (discovered on first call)."""
    global _DISCOVERED
    if not _DISCOVERED:
        _DISCOVERED = True  # a module that builds a Config while it is imported finds this set
        _FOUND.extend(_discover())
    return tuple(sorted(_FOUND, key=lambda a: a.notebook))


def _discover() -> list[Analysis]:
    package = importlib.import_module(ANALYSIS_PACKAGE)
    found: dict[str, Analysis] = {}
    for info in pkgutil.walk_packages(package.__path__, f"{ANALYSIS_PACKAGE}."):
        module = importlib.import_module(info.name)
        declared = getattr(module, "ANALYSES", ())
        declared += (module.ANALYSIS,) if hasattr(module, "ANALYSIS") else ()
        for analysis in declared:
            if found.get(analysis.name, analysis) is not analysis:
                raise ValueError(f"two analyses are called {analysis.name!r} ({info.name})")
            found[analysis.name] = analysis
    notebooks = [a.notebook for a in found.values()]
    repeated = {name for name in notebooks if notebooks.count(name) > 1}
    if repeated:
        raise ValueError(f"notebooks declared by two analyses: {sorted(repeated)}")
    return list(found.values())


def analysis(name: str) -> Analysis:
    """The declared analysis called ``name``."""
    for declared in analyses():
        if declared.name == name:
            return declared
    names = ", ".join(a.name for a in analyses())
    raise KeyError(f"no analysis {name!r}: declared analyses are {names}")


def of_notebook(notebook: str) -> Analysis | None:
    """The analysis a notebook (file name, with or without ``.ipynb``) belongs to."""
    stem = notebook.removesuffix(".ipynb")
    return next((a for a in analyses() if a.notebook == stem), None)


def trainer(model_name: str) -> Analysis:
    """The analysis whose notebook trains ``model_name``."""
    for declared in analyses():
        if model_name in declared.trains:
            return declared
    raise KeyError(f"no declared analysis trains the {model_name!r} model")


def writer(artifact: str) -> Analysis | None:
    """The analysis whose notebook writes ``artifact`` (a path under ``artifacts_dir``)."""
    for declared in analyses():
        for written in declared.writes:
            if artifact == written or (written.endswith("/") and artifact.startswith(written)):
                return declared
    return None


def parameters() -> dict[str, Parameter]:
    """Every analysis's own parameters, by name."""
    return {p.name: p for a in analyses() for p in a.parameters}
