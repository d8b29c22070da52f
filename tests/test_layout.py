"""The package's floors stay apart: computing never draws, and no module grows into a drawer."""

import ast
from pathlib import Path

import pytest

from helpers.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "helpers"
MODULES = sorted(PACKAGE.rglob("*.py"))
PRESENTING = ("matplotlib", "seaborn", "IPython", "pandas")
MAX_LINES = 400
# Each floor imports only its own floor and those below. Top-level modules of ``helpers`` are on
# floor 0, except the thin entry points, which belong to the top floor.
FLOORS = {"quantum": 1, "model": 2, "analysis": 3, "present": 4, "run": 5}
ENTRY_POINTS = ("pipeline", "report", "deck", "sweep")


def _module_name(path: Path) -> str:
    """``helpers/model/train.py`` → ``helpers.model.train``; a package's ``__init__`` → itself."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    """Whether ``name`` (``helpers.…``) is a module or package of the source tree."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (imports inside functions included).

    Relative imports are resolved against ``path``'s package, and ``from package import name``
    also names ``package.name`` where that is a module of the source tree. Imports by string
    (``importlib.import_module``) are calls, not import statements, and are not listed.
    """
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:  # ``from . import x`` (level 1) is the own package, ``..`` its parent
                base = package.rsplit(".", node.level - 1)[0]
                source = f"{base}.{source}" if source else base
            names.add(source)
            for alias in node.names:
                if source.split(".")[0] == "helpers" and _is_module(f"{source}.{alias.name}"):
                    names.add(f"{source}.{alias.name}")
    return names


def _floor(module: str) -> int:
    """The floor of a ``helpers`` module: a floor's package, an entry point, else floor 0."""
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    if (PACKAGE / parts[1] / "__init__.py").is_file():
        assert parts[1] in FLOORS, f"helpers.{parts[1]} is on no floor: add it to FLOORS"
        return FLOORS[parts[1]]
    return FLOORS["run"] if parts[1] in ENTRY_POINTS else 0


@pytest.mark.parametrize("floor", ["model", "analysis", "quantum"])
def test_computing_floors_import_no_plotting_or_display_library(floor):
    for path in sorted((PACKAGE / floor).rglob("*.py")):
        drawn = {name.split(".")[0] for name in _imports(path)} & set(PRESENTING)
        assert not drawn, f"{path.relative_to(PROJECT_ROOT)} imports {sorted(drawn)}"


def test_every_module_imports_only_its_own_floor_or_lower_ones():
    upward = []
    for path in MODULES:
        module = _module_name(path)
        floor = _floor(module)
        for name in sorted(_imports(path)):
            if name.split(".")[0] == "helpers" and _floor(name) > floor:
                upward.append(f"{module} (floor {floor}) imports {name} (floor {_floor(name)})")
    assert not upward, "imports up a floor:\n" + "\n".join(upward)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_every_floor_says_what_it_is_for():
    for floor in ("model", "analysis", "present", "run", "quantum"):
        module = ast.parse((PACKAGE / floor / "__init__.py").read_text())
        assert ast.get_docstring(module), floor
