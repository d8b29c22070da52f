"""The package's floors stay apart: computing never draws, and no module grows into a drawer."""

import ast
from pathlib import Path

import pytest

from helpers.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "helpers"
MODULES = sorted(PACKAGE.rglob("*.py"))
PRESENTING = ("matplotlib", "seaborn", "IPython", "pandas")
MAX_LINES = 400


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (imports inside functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("floor", ["model", "analysis", "quantum"])
def test_computing_floors_import_no_plotting_or_display_library(floor):
    for path in sorted((PACKAGE / floor).rglob("*.py")):
        drawn = {name.split(".")[0] for name in _imports(path)} & set(PRESENTING)
        assert not drawn, f"{path.relative_to(PROJECT_ROOT)} imports {sorted(drawn)}"


def test_computing_floors_do_not_import_the_presenting_or_running_floors():
    for floor in ("model", "analysis", "quantum"):
        for path in sorted((PACKAGE / floor).rglob("*.py")):
            above = {n for n in _imports(path) if n.startswith(("helpers.present", "helpers.run"))}
            assert not above, f"{path.relative_to(PROJECT_ROOT)} imports {sorted(above)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_every_floor_says_what_it_is_for():
    for floor in ("model", "analysis", "present", "run", "quantum"):
        module = ast.parse((PACKAGE / floor / "__init__.py").read_text())
        assert ast.get_docstring(module), floor
