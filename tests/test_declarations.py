"""Every analysis is declared once (helpers.declare): names typed nowhere else, and a new
analysis, three new files in a copy of the project, is picked up by the pipeline, preflight,
report, deck and explorer with no other file touched."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers.config import PROJECT_ROOT
from helpers.declare import analyses, parameters

PACKAGE = PROJECT_ROOT / "helpers"


def _strings(path: Path) -> list[str]:
    """Every string constant of a module (docstrings excepted) and of f-strings' literal parts."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


def _own_modules(analysis) -> set[Path]:
    """The files that declare ``analysis`` (its module, or its package)."""
    owners = set()
    for path in PACKAGE.rglob("*.py"):
        if f'notebook="{analysis.notebook}"' in path.read_text():
            owners |= (
                set(path.parent.glob("*.py")) if path.parent != PACKAGE / "analysis" else {path}
            )
    return owners


@pytest.mark.parametrize("analysis", analyses(), ids=lambda a: a.name)
def test_an_analysis_name_figure_and_notebook_are_typed_only_in_its_declaration(analysis):
    """No module outside the analysis's own types its notebook's name or number, its key
    figure, or its name as part of a path (its artifacts' folder)."""
    own = _own_modules(analysis)
    assert own, f"no module declares {analysis.notebook}"
    number = re.compile(rf"(^|[^0-9]){analysis.number}_")
    for path in sorted(set(PACKAGE.rglob("*.py")) - own):
        for text in _strings(path):
            where = f"{path.relative_to(PROJECT_ROOT)} types {text!r}"
            assert analysis.notebook not in text and not number.search(text), where
            assert f"{analysis.name}/" not in text and f"/{analysis.name}" not in text, where
            if analysis.key_figure:
                assert analysis.key_figure not in text, where


def test_notebook_code_names_no_other_notebook():
    for analysis in analyses():
        path = PROJECT_ROOT / "notebooks" / f"{analysis.notebook}.ipynb"
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and "parameters" not in cell["metadata"].get("tags", []):
                code = "".join(cell["source"])
                assert not re.search(r"notebook \d\d", code), f"{path.name}: {code}"


TOY_ANALYSIS = '''
"""A toy analysis: a number per model and seed, compared between models."""

from helpers.analysis.results import Results
from helpers.config import Config
from helpers.declare import POSITIVE, Analysis, Parameter, Tab


def check_draws(cfg: Config) -> None:
    if cfg.toy_draws == 13:
        raise ValueError("toy_draws=13: unlucky, choose another number.")


ANALYSIS = Analysis(
    name="toy",
    notebook="11_toy",
    title="A toy analysis",
    parameters=(Parameter("toy_draws", 8, POSITIVE, smoke=4, help="draws per seed"),),
    key_figure="11_toy_bars",
    check=check_draws,
    tab=Tab("Toy", "helpers.present.toy:ToyTab"),
)


def toy_results(cfg: Config) -> Results:
    results = Results(ANALYSIS.name)
    values = {
        kind: [float(seed + cfg.toy_draws * (k + 1)) for seed in cfg.seeds]
        for k, kind in enumerate(cfg.models)
    }
    for kind, per_seed in values.items():
        results.add("toy number", per_seed, "seeds", model=kind)
    results.compare_models("toy number", values, "seeds", "toyer")
    return results
'''

TOY_PRESENT = '''
"""Drawing the toy analysis, and its explorer tab."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.analysis.results import Results
from helpers.present.explore import ExplorerTab, View


def plot_toy(results: Results, title: str) -> Figure:
    fig, ax = plt.subplots()
    rows = results.numbers
    ax.bar([row["model"] for row in rows], [row["mean"] for row in rows], label="toy number")
    ax.set(title=title, xlabel="model", ylabel="toy number")
    ax.legend()
    return fig


class ToyTab(ExplorerTab):
    key = "toy"

    def view(self) -> View:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, self.explorer.cfg.toy_draws], label="draws")
        ax.set(title="The toy tab", xlabel="x", ylabel="draws")
        ax.legend()
        return f"toy draws: {self.explorer.cfg.toy_draws}", [fig], []
'''

TOY_CELLS = [
    ("markdown", "# 10 · A toy analysis\\n\\nA number per model and seed."),
    ("parameters", 'toy_draws = 8\\nartifacts_dir = "artifacts"'),
    ("code", "from helpers.analysis.toy import toy_results\\n"
             "from helpers.present.style import publish\\n"
             "from helpers.present.tables import publish_results\\n"
             "from helpers.present.toy import plot_toy\\n"
             "from helpers.run.session import setup"),
    ("code", "session = setup(globals())\\ncfg = session.cfg\\nresults = toy_results(cfg)"),
    ("code", 'publish(plot_toy(results, "Toy numbers"), cfg, "11_toy_bars")'),
    ("code", "publish_results(results, cfg)"),
]  # fmt: skip


def _toy_notebook() -> nbformat.NotebookNode:
    cells = []
    for kind, source in TOY_CELLS:
        source = source.encode().decode("unicode_escape")
        if kind == "markdown":
            cells.append(new_markdown_cell(source))
        else:
            cell = new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
            cells.append(cell)
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def _pipeline(root: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "helpers.pipeline", "--smoke", "--output-dir", str(out),
               "-p", "cache_dir", str(out / "cache"), "-p", "seeds", "[0, 1]", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=root, env=env, timeout=900)


@pytest.mark.slow
def test_a_new_analysis_is_three_files_and_everything_picks_it_up(tmp_path):
    root = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(PACKAGE, root / "helpers", ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "notebooks", root / "notebooks", ignore=ignore)
    (root / "helpers" / "analysis" / "toy.py").write_text(TOY_ANALYSIS.lstrip())
    (root / "helpers" / "present" / "toy.py").write_text(TOY_PRESENT.lstrip())
    nbformat.write(_toy_notebook(), root / "notebooks" / "11_toy.ipynb")

    refused = _pipeline(root, tmp_path / "refused", "--only", "11", "-p", "toy_draws", "13")
    assert refused.returncode == 2 and "toy_draws=13: unlucky" in refused.stderr  # preflight

    out = tmp_path / "out"
    done = _pipeline(root, out, "--only", "01", "02", "10", "11", "-p", "toy_draws", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running 11_toy.ipynb" in done.stdout  # the pipeline's list
    written = json.loads((out / "artifacts" / "toy" / "results.json").read_text())
    assert written["analysis"] == "toy" and written["numbers"][0]["mean"] == 5.5  # parameter
    page = (out / "report.html").read_text()
    assert 'data-analysis="toy"' in page and 'href="#11_toy"' in page  # report section
    assert 'href="#figure-11_toy_bars">key figure' in page  # its key figure
    assert "toy number, hybrid vs classical" in (out / "deck.html").read_text()  # deck slide
    explorer = nbformat.read(out / "10_explore.ipynb", as_version=4)
    shown = [
        o.get("metadata", {}).get("figure") for c in explorer.cells for o in c.get("outputs", [])
    ]
    assert "10_explore_toy_1" in shown  # the explorer's new tab


def test_the_readme_parameter_table_lists_every_declared_parameter_with_its_default():
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text[text.index("### Parameters") :]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for parameter in parameters().values():
        [row] = [row for row in rows if f"`{parameter.name}`" in row.split("|")[1]]
        value = parameter.default
        if isinstance(value, list | bool):
            shown = json.dumps(value) if isinstance(value, bool) else f"`{json.dumps(value)}`"
        elif isinstance(value, str):
            shown = f"`{value}`" if value else '`""`'
        else:
            shown = f"{value:g}"
        assert shown in row.split("|")[2], (parameter.name, row)
