"""Every helper a notebook calls has a Google-style docstring: ``Args``, ``Returns``, ``Example``.

The calls are found statically, without running a notebook: the code cells are parsed, their
``helpers`` imports resolved with importlib, and ``module.func(...)``, ``func(...)`` and method
calls on objects whose class the notebook's own code makes plain (``session = setup(...)``,
``study = saliency.saliency_study(...)``) are resolved through the return, property and field
annotations of the helpers that made them. Anything that does not resolve to a ``helpers`` object
(``print``, ``display``, numpy, a Qiskit circuit) is left out.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.config import PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


@dataclass(frozen=True)
class Obj:
    """A module, function or class the notebook names."""

    value: Any


@dataclass(frozen=True)
class Instance:
    """An object of a helpers class."""

    cls: type


@dataclass(frozen=True)
class Method:
    """A method (or classmethod) of a helpers class, looked up on the class or an instance."""

    cls: type
    name: str


Value = Obj | Instance | Method


def _is_helpers(value: Any) -> bool:
    module = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] == "helpers"


def _hints(value: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(value)
    except Exception:  # an annotation that needs a TYPE_CHECKING-only import
        return {}


def _classes(annotation: Any) -> set[Value]:
    """The helpers classes an annotation names (``X``, ``X | None``); not their containers."""
    if isinstance(annotation, type) and _is_helpers(annotation):
        return {Instance(annotation)}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_classes(arg) for arg in typing.get_args(annotation)))
    return set()


def _method_function(cls: type, name: str) -> Callable | None:
    """The plain function behind ``cls.name`` when it is a method, else None."""
    for klass in cls.__mro__:
        if name in vars(klass):
            attr = vars(klass)[name]
            if isinstance(attr, classmethod | staticmethod):
                return attr.__func__
            return attr if inspect.isfunction(attr) else None
    return None


def _attribute(value: Value, name: str) -> set[Value]:
    if isinstance(value, Obj):
        if inspect.isclass(value.value) and _method_function(value.value, name):
            return {Method(value.value, name)}
        attr = getattr(value.value, name, None)
        return {Obj(attr)} if attr is not None and _is_helpers(attr) else set()
    if isinstance(value, Instance):
        if _method_function(value.cls, name):
            return {Method(value.cls, name)}
        attr = inspect.getattr_static(value.cls, name, None)
        if isinstance(attr, property):
            return _classes(_hints(attr.fget).get("return"))
        if isinstance(attr, functools.cached_property):
            return _classes(_hints(attr.func).get("return"))
        hints = _hints(value.cls)  # a field, else an attribute set from an __init__ argument
        return _classes(hints[name] if name in hints else _hints(value.cls.__init__).get(name))
    return set()


def _called(value: Value) -> set[Value]:
    if isinstance(value, Obj) and inspect.isclass(value.value):
        return {Instance(value.value)}
    if isinstance(value, Obj) and callable(value.value):
        return _classes(_hints(value.value).get("return"))
    if isinstance(value, Method):
        return _classes(_hints(_method_function(value.cls, value.name)).get("return"))
    return set()


def _imported(module: str, alias: ast.alias) -> Any:
    """What ``from module import name`` binds: an attribute, else a submodule."""
    try:
        return getattr(importlib.import_module(module), alias.name)
    except AttributeError:
        return importlib.import_module(f"{module}.{alias.name}")


class Notebook:
    """What a notebook's names stand for, learnt from its imports and assignments."""

    def __init__(self, path: Path) -> None:
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
        self.tree = ast.parse("\n".join(code))
        self.names: dict[str, set[Value]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
                for alias in node.names:
                    self.names[alias.asname or alias.name] = {Obj(_imported(node.module, alias))}
        for _ in range(4):  # assignments may use names assigned later in the walk
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        self._bind(target, node.value)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for name, part in zip(target.elts, value.elts, strict=False):
                self._bind(name, part)
        elif isinstance(target, ast.Name):
            values = self.values(value)
            if values:
                self.names.setdefault(target.id, set()).update(values)

    def values(self, node: ast.expr) -> set[Value]:
        """What an expression may stand for, as far as the notebook's code makes it plain."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id, set())
        if isinstance(node, ast.Attribute):
            return {v for base in self.values(node.value) for v in _attribute(base, node.attr)}
        if isinstance(node, ast.Call):
            return {v for func in self.values(node.func) for v in _called(func)}
        if isinstance(node, ast.IfExp):  # ``f(...) if ... else None``
            return self.values(node.body) | self.values(node.orelse)
        if isinstance(node, ast.BoolOp):  # ``a or b``
            return {v for part in node.values for v in self.values(part)}
        return set()

    def calls(self) -> Iterator[Value]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield from self.values(node.func)


def _qualified(value: Value) -> str:
    if isinstance(value, Method):
        return f"{value.cls.__module__}.{value.cls.__qualname__}.{value.name}"
    return f"{value.value.__module__}.{value.value.__qualname__}"


def called_helpers() -> dict[str, Value]:
    """Every helpers function, class and method the notebooks call, by qualified name."""
    found = {}
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        for value in Notebook(path).calls():
            if isinstance(value, Method) or (
                callable(value.value)
                and not inspect.ismodule(value.value)
                and _is_helpers(value.value)  # not what a helpers module imported from elsewhere
            ):
                found[_qualified(value)] = value
    return dict(sorted(found.items()))


CALLED = called_helpers()


def test_the_notebooks_call_helpers():
    assert len(CALLED) > 50
    for name in (
        "helpers.run.session.setup",
        "helpers.run.session.NotebookSession.test_images",
        "helpers.analysis.saliency.seeds.SaliencyStudy.of_seed",
        "helpers.present.saliency.plot_saliency_comparison",
    ):
        assert name in CALLED


@pytest.mark.parametrize("name", list(CALLED))
def test_called_helper_has_args_returns_and_example(name):
    value = CALLED[name]
    if isinstance(value, Method):
        function = _method_function(value.cls, value.name)
        doc = inspect.getdoc(getattr(value.cls, value.name))
    else:
        function = value.value
        doc = inspect.getdoc(function)
    assert doc, f"{name} has no docstring"
    is_class = inspect.isclass(function)
    signature = inspect.signature(function)  # a class: its constructor's, without self
    params = [p for p in signature.parameters if p not in ("self", "cls")]
    assert "Example" in doc, f"{name}: no Example section"
    if params:
        assert "Args:" in doc, f"{name} takes {params}: no Args section"
    if not is_class and signature.return_annotation not in (None, "None"):
        assert "Returns:" in doc, f"{name} returns {signature.return_annotation}: no Returns"
