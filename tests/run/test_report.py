"""The HTML report: markdown, outputs and named figures of executed notebooks, code hidden."""

import base64

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.run import report

PNG = base64.b64encode(b"\x89PNG fake").decode()


def _executed(path, figure):
    code = new_code_cell("secret_code = 1")
    code.outputs = [
        new_output("stream", name="stdout", text="accuracy 0.9\n"),
        new_output("stream", name="stderr", text="a warning\n"),
        new_output("display_data", data={"image/png": PNG}, metadata={"figure": figure}),
        new_output("display_data", data={"text/markdown": "**bold** conclusion"}),
        new_output(
            "execute_result",
            data={"text/html": "<table><tr><td>1</td></tr></table>"},
            execution_count=1,
        ),
    ]
    notebook = new_notebook(cells=[new_markdown_cell("# A story"), code])
    notebook.metadata["papermill"] = {"parameters": {"seed": 3, "smoke": True}}
    nbformat.write(notebook, path)


def test_report_embeds_markdown_outputs_and_every_figure_but_no_code(tmp_path):
    _executed(tmp_path / "01_first.ipynb", "01_curves")
    _executed(tmp_path / "02_second.ipynb", "02_map")
    path = report.build_report(tmp_path)
    text = path.read_text()
    assert path == tmp_path / "report.html"
    assert report.embedded_figures(path) == ["01_curves", "02_map"]
    assert f"data:image/png;base64,{PNG}" in text and "<h1" in text
    assert "<strong>bold</strong>" in text and "<table><tr><td>1</td>" in text
    assert "accuracy 0.9" in text and "a warning" not in text and "secret_code" not in text
    assert "<th>seed</th><td><strong>3</strong>" in text and "<th>q_depth</th><td>5<" in text
    assert "qiskit-machine-learning" in text  # library versions at the top
    assert 'href="http' not in text and "<script" not in text  # self-contained


def test_report_without_notebooks_says_what_to_run(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"helpers\.pipeline"):
        report.build_report(tmp_path)
    assert report.main(["--output-dir", str(tmp_path)]) == 2
    assert "python -m helpers.pipeline" in capsys.readouterr().err
