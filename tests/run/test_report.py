"""The HTML report: markdown, outputs and named figures of executed notebooks, code hidden; and
its refusal (or, with --allow-problems, its warnings) when the notebooks are not one complete run.
"""

import base64
import html

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.run import report

PNG = base64.b64encode(b"\x89PNG fake").decode()
ALLOW = "--allow-problems"


def _executed(path, figure, parameters=None, pipeline="complete", cells=(), message=""):
    """A notebook as the pipeline writes it: every cell run, papermill's and the pipeline's
    metadata (``pipeline=None``: an older notebook without the pipeline's verdict)."""
    code = new_code_cell("secret_code = 1", execution_count=1)
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
    code.metadata["papermill"] = {"status": "completed"}
    notebook = new_notebook(cells=[new_markdown_cell("# A story"), code, *cells])
    notebook.metadata["papermill"] = {
        "parameters": parameters or {"seed": 3, "smoke": True},
        "exception": None,
    }
    if pipeline:
        notebook.metadata["pipeline"] = {"status": pipeline, "message": message}
    nbformat.write(notebook, path)
    return notebook


def _refused(directory, capsys):
    """The stderr lines of a refused report, checked for the exit code, the hint, no traceback."""
    assert report.main(["--output-dir", str(directory)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert ALLOW in lines[-1] and "Traceback" not in "\n".join(lines)
    assert not (directory / "report.html").exists()
    return lines[:-1]


def _built(directory, capsys):
    """The page built with --allow-problems."""
    assert report.main(["--output-dir", str(directory), ALLOW]) == 0
    capsys.readouterr()
    return (directory / "report.html").read_text()


def _warned(text, name, line):
    """Whether the section of notebook ``name`` opens with the warning ``line``."""
    head = f'<section class="notebook" id="{name}">\n<p class="warning">⚠ {html.escape(line)}</p>'
    return head in text


def _section(text, name):
    start = text.index(f'<section class="notebook" id="{name}">')
    return text[start : text.index("</section>", start)]


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
    assert "⚠" not in text and 'class="problems"' not in text and 'class="warning"' not in text


def test_report_without_notebooks_says_what_to_run(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"helpers\.pipeline"):
        report.build_report(tmp_path)
    assert report.main(["--output-dir", str(tmp_path)]) == 2
    assert "python -m helpers.pipeline" in capsys.readouterr().err


def test_failed_notebook_beside_an_older_complete_one_is_refused_or_marked(tmp_path, capsys):
    _executed(tmp_path / "01_first.ipynb", "01_curves")
    _executed(tmp_path / "02_second.ipynb", "02_old_map")
    crash = new_code_cell("1 / 0", execution_count=2)
    crash.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero")]
    why = "cell 2 ('1 / 0'): ZeroDivisionError: division by zero"
    failed = tmp_path / "02_second.failed.ipynb"
    _executed(failed, "02_new_map", pipeline="failed", cells=[crash], message=why)
    assert report.executed_notebooks(tmp_path) == [
        tmp_path / "01_first.ipynb",
        tmp_path / "02_second.ipynb",
    ]
    with pytest.raises(report.ReportProblemsError) as refused:
        report.build_report(tmp_path)
    assert [problem.notebooks for problem in refused.value.problems] == [("02_second",)]
    line = (
        f"{failed}: the latest run did not complete (failed: {why}); "
        "02_second.ipynb is from an earlier run"
    )
    assert _refused(tmp_path, capsys) == [line]

    text = _built(tmp_path, capsys)
    assert text.index('<div class="problems"') < text.index("<h1")  # the very top
    assert f"<li>{html.escape(line)}</li>" in text
    assert _warned(text, "02_second", line)
    assert 'class="warning"' not in _section(text, "01_first")
    assert report.embedded_figures(tmp_path / "report.html") == ["01_curves", "02_new_map"]
    assert "ZeroDivisionError: division by zero" in _section(text, "02_second")


def test_notebook_with_an_error_output_is_refused(tmp_path, capsys):
    crash = new_code_cell("1 / 0", execution_count=2)
    crash.metadata["papermill"] = {"status": "completed"}
    crash.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero")]
    _executed(tmp_path / "01_first.ipynb", "01_curves", pipeline=None, cells=[crash])
    assert _refused(tmp_path, capsys) == [
        f"{tmp_path / '01_first.ipynb'}: failed in cell 2 ('1 / 0'): "
        "ZeroDivisionError: division by zero"
    ]


def test_partial_notebook_with_a_pending_cell_is_refused_or_marked(tmp_path, capsys):
    pending = new_code_cell("plot()\nsave()")
    pending.metadata["papermill"] = {"status": "pending"}
    _executed(tmp_path / "01_first.ipynb", "01_curves", pipeline=None, cells=[pending])
    _executed(tmp_path / "02_second.ipynb", "02_map")
    line = (
        f"{tmp_path / '01_first.ipynb'}: partial: cell 2 ('plot()') was not executed "
        "(papermill status 'pending')"
    )
    assert _refused(tmp_path, capsys) == [line]
    assert _warned(_built(tmp_path, capsys), "01_first", line)


def test_truncated_notebook_is_named_without_a_traceback(tmp_path, capsys):
    _executed(tmp_path / "01_first.ipynb", "01_curves")
    truncated = tmp_path / "02_second.ipynb"
    text = nbformat.writes(_executed(truncated, "02_map"))
    truncated.write_text(text[: len(text) // 2])
    [line] = _refused(tmp_path, capsys)
    assert line.startswith(f"{truncated}: not a readable notebook (JSONDecodeError: ")
    assert '<p class="warning">⚠ ' in _section(_built(tmp_path, capsys), "02_second")


def test_notebooks_run_with_different_parameters_are_refused_or_shown(tmp_path, capsys):
    names = ["01_a", "02_b", "03_c", "04_d"]
    for name in names:
        _executed(
            tmp_path / f"{name}.ipynb", name, {"seed": 3, "n_qubits": 3 if "03" in name else 4}
        )
    line = "parameter n_qubits differs between notebooks: 4 in 01_a, 02_b, 04_d; 3 in 03_c"
    assert _refused(tmp_path, capsys) == [line]

    text = _built(tmp_path, capsys)
    assert f"<li>{line}</li>" in text
    assert (
        '<tr class="differs"><th>n_qubits</th><td>⚠ differs: '
        "<strong>4</strong> in 01_a, 02_b, 04_d<br><strong>3</strong> in 03_c</td></tr>"
    ) in text
    assert "<tr><th>seed</th><td><strong>3</strong></td></tr>" in text  # agreed: as before
    assert _warned(text, "03_c", line)
    assert 'class="warning"' not in _section(text, "01_a")


def test_notebooks_without_the_pipeline_verdict_fall_back_to_papermill(tmp_path, capsys):
    _executed(tmp_path / "01_first.ipynb", "01_curves", pipeline=None)
    assert report.build_report(tmp_path, tmp_path / "first.html").exists()  # complete by papermill
    old = _executed(tmp_path / "02_second.ipynb", "02_map", pipeline=None)
    old.metadata["papermill"]["exception"] = True
    nbformat.write(old, tmp_path / "02_second.ipynb")
    assert _refused(tmp_path, capsys) == [
        f"{tmp_path / '02_second.ipynb'}: failed (papermill recorded an exception)"
    ]


def test_pipeline_verdict_comes_first(tmp_path, capsys):
    _executed(tmp_path / "01_first.ipynb", "01_curves", pipeline="kernel died")
    unrun = new_code_cell("later()")  # not run, but the pipeline's verdict says complete
    _executed(tmp_path / "02_second.ipynb", "02_map", cells=[unrun])
    assert _refused(tmp_path, capsys) == [f"{tmp_path / '01_first.ipynb'}: kernel died"]


def test_a_run_killed_mid_notebook_is_refused(tmp_path, capsys):
    _executed(tmp_path / "01_a.ipynb", "01_fig")
    (tmp_path / ".02_b.running.ipynb").write_text("{")
    assert report.main(["--output-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "a run was killed while 02_b executed" in err and "Traceback" not in err
