"""Notebooks are stored clean and share one parameters cell that matches ``Config``."""

import ast
import json
import subprocess
import sys

import pytest

from helpers.config import Config
from helpers.declare import MODEL_NAMES, analyses, of_notebook
from helpers.run.pipeline import NOTEBOOK_DIR, notebooks

NOTEBOOKS = notebooks()


def _parameters_cell(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    return "".join(tagged[0]["source"])


def test_the_series_starts_with_the_training_notebooks():
    trained = [set(of_notebook(nb.name).trains) for nb in NOTEBOOKS[:2]]
    assert set().union(*trained) == set(MODEL_NAMES)  # every declared model, opt-in included


def test_every_analysis_with_results_publishes_them_tagged():
    for analysis in analyses():
        code = "\n".join(_code_cells(NOTEBOOK_DIR / f"{analysis.notebook}.ipynb"))
        assert ("publish_results(" in code) == analysis.results, analysis.notebook
        assert ".save(cfg)" not in code, f"{analysis.notebook}: publish_results saves results"


def test_every_notebook_is_declared_once_and_every_declaration_has_its_notebook():
    files = sorted(path.stem for path in NOTEBOOK_DIR.glob("*.ipynb"))
    assert files == [analysis.notebook for analysis in analyses()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_are_stripped(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
    result = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"{path.name} is not stripped: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_declares_the_notebooks_own_parameters_with_their_defaults(path):
    namespace: dict = {}
    exec(compile(ast.parse(_parameters_cell(path)), path.name, "exec"), namespace)
    declared = {k: v for k, v in namespace.items() if not k.startswith("__")}
    assert list(declared) == list(of_notebook(path.name).declared), path.name
    defaults = Config().to_dict()
    assert declared == {name: defaults[name] for name in declared}, path.name


def test_every_parameter_is_declared_by_some_notebook():
    declared = {name for analysis in analyses() for name in analysis.declared}
    assert declared == set(Config.field_names())


def _code_cells(path):
    cells = json.loads(path.read_text())["cells"]
    return [
        "".join(cell["source"])
        for cell in cells
        if cell["cell_type"] == "code"
        and "parameters" not in cell.get("metadata", {}).get("tags", [])
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short_and_read_no_files_by_hand(path):
    for source in _code_cells(path):
        assert len(source.splitlines()) <= 12, f"{path.name}: a code cell over 12 lines"
        for call in ("torch.load", "json.load", "open(", "read_text("):
            assert call not in source, f"{path.name} calls {call}: reading belongs in helpers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_a_story(path):
    first = json.loads(path.read_text())["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")


def test_no_notebook_defines_functions_or_classes():
    for path in NOTEBOOK_DIR.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                tree = ast.parse("".join(cell["source"]))
                defined = [
                    n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)
                ]
                assert not defined, f"{path.name} defines code that belongs in helpers"


def test_notebooks_import_torchvision_only_through_helpers():
    """``import helpers`` makes torchvision importable; a notebook importing it first breaks."""
    for path in NOTEBOOK_DIR.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                assert "torchvision" not in source, f"{path.name} imports torchvision directly"
