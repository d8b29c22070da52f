"""The HTML report: markdown, outputs and named figures of executed notebooks, code hidden; and
its refusal (or, with --allow-problems, its warnings) when the notebooks are not one complete run.
"""

import base64
import html
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.analysis.results import Results
from helpers.analysis.stats import mean_and_error
from helpers.config import Config
from helpers.io import save_json
from helpers.present.tables import describe_results, format_p, format_value
from helpers.run import report, sections

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
    assert sections.executed_notebooks(tmp_path) == [
        tmp_path / "01_first.ipynb",
        tmp_path / "02_second.ipynb",
    ]
    with pytest.raises(sections.ReportProblemsError) as refused:
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


# ----------------------------------------------------------------------------- the findings
ACCURACY = {"hybrid": [0.80, 0.84, 0.83], "classical": [0.70, 0.71, 0.69]}  # seeds 0, 1, 2
SHARPNESS = {"hybrid": [1.0, 2.0, 1.5], "classical": [1.2, 1.8, 1.4]}  # no detectable difference
EXTERNAL = re.compile(
    r"""(?:<link\b[^>]*\bhref\s*=\s*["']?|\b(?:src|srcset|poster|data)\s*=\s*["']?"""
    r"""|url\(\s*["']?|@import\s+(?:url\(\s*)?["']?|\bfrom\s+["']|\bimport\s*\(\s*["'])"""
    r"(?:[a-z][a-z0-9+.-]*:)?//",
    re.IGNORECASE,
)


def external_references(text: str) -> list[str]:
    """Every resource a page would fetch from another host when opened: a ``src`` (or
    ``srcset``, ``poster``, ``data``), a ``<link href>``, a CSS ``url()`` or ``@import``, a
    JavaScript module import, with an absolute or scheme-relative URL. Hyperlinks (``<a href>``,
    e.g. to a cited paper) fetch nothing until followed."""
    return [text[match.start() : match.end() + 40] for match in EXTERNAL.finditer(text)]


def _png(name):
    return base64.b64encode(b"\x89PNG " + name.encode()).decode()


def _figure_output(name):
    return new_output("display_data", data={"image/png": _png(name)}, metadata={"figure": name})


def _stating(results, before=(), after=()):
    """Cells as an analysis notebook ends: figures, the verdicts (publish_results), figures."""
    cells = [new_code_cell("draw()", execution_count=2) for _ in range(3)]
    cells[0].outputs = [_figure_output(name) for name in before]
    cells[1].outputs = [  # as publish_results shows them: tagged with the analysis
        new_output(
            "display_data",
            data={"text/markdown": describe_results(results)},
            metadata={"analysis": results.analysis},
        )
    ]
    cells[2].outputs = [_figure_output(name) for name in after]
    return cells


def fake_run(directory):
    """A finished run in ``directory``: two models' metrics over three seeds, the results of an
    accuracy analysis (detected) and of a sharpness analysis (a null result), and two notebooks
    printing them as the analysis notebooks do; the first also prints the configuration."""
    artifacts = directory / "artifacts"
    cfg = Config(artifacts_dir=str(artifacts), models=["hybrid", "classical"], seeds=[0, 1, 2])
    save_json(cfg.to_dict(), artifacts / "config.json")
    for kind, values in ACCURACY.items():
        mean, se = mean_and_error(np.array(values))
        rows = [{"seed": seed, "test_accuracy": value} for seed, value in enumerate(values)]
        metrics = {"per_seed": rows, "test_accuracy": mean, "test_accuracy_se": se}
        save_json(metrics, artifacts / kind / "metrics.json")
    accuracy, sharpness = Results("accuracy"), Results("sharpness")
    accuracy.compare_models("test accuracy", ACCURACY, "seeds", "more accurate")
    sharpness.compare_models("radius sharpness", SHARPNESS, "seeds", "sharper")
    for results in (accuracy, sharpness):
        results.save(cfg)
    parameters = {"seed": 3, "artifacts_dir": str(artifacts)}
    config = new_code_cell("print(cfg.to_json())", execution_count=1)
    config.outputs = [new_output("stream", name="stdout", text=cfg.to_json() + "\n")]
    first = [config, *_stating(accuracy, after=["01_after"])]
    _executed(directory / "01_train.ipynb", "01_curves", parameters, cells=first)
    second = _stating(sharpness, before=["02_map", "02_key"], after=["02_late"])
    _executed(directory / "02_sharpness.ipynb", "02_first", parameters, cells=second)
    return cfg


def _summary(text):
    start = text.index('<section id="findings">')
    return text[start : text.index("</section>", start)]


def _summary_lines(text):
    lines = re.findall(r'<li class="(\w+)" data-analysis="(\w+)">(.*?)</li>', _summary(text))
    return {analysis: (kind, line) for kind, analysis, line in lines}


def assert_summary_matches_results(directory):
    """The report in ``directory`` opens with its findings: the accuracy table as in every
    metrics.json, then a line per results.json quoting its strongest comparison's numbers,
    whose links all lead to a section and a figure of the page."""
    text = (directory / "report.html").read_text()
    first = nbformat.read(next(directory.glob("01_*.ipynb")), as_version=4)
    artifacts = Path(first.metadata.papermill["parameters"]["artifacts_dir"])
    assert text.index('<section id="findings">') < text.index('<section class="notebook"')
    summary, lines = _summary(text), _summary_lines(text)
    for metrics_path in artifacts.glob("*/metrics.json"):
        metrics = json.loads(metrics_path.read_text())
        row = re.search(rf'<tr data-model="{metrics_path.parent.name}">(.*?)</tr>', summary)[1]
        expected = [f"{r['test_accuracy']:.3f}" for r in metrics["per_seed"]]
        expected.append(format_value(metrics["test_accuracy"], metrics["test_accuracy_se"]))
        assert re.findall(r"<td>(?:<strong>)?(.*?)(?:</strong>)?</td>", row) == expected
    analyses = {path.parent.name: path for path in artifacts.glob("*/results.json")}
    assert set(lines) == set(analyses)
    for analysis, path in analyses.items():
        results = json.loads(path.read_text())
        kind, line = lines[analysis]
        if results["comparisons"]:
            rows = results["comparisons"]  # the headline quotes as present.findings.headline does
            different = [c for c in rows if c["outcome"] == "different"]
            equivalent = [c for c in rows if c["outcome"] == "equivalent"]
            if different or not equivalent:
                strongest = min(different or rows, key=lambda c: np.nan_to_num(c["holm_p"], 2))
            else:
                strongest = min(equivalent, key=lambda c: c["holm_equivalence_p"])
            assert f"{strongest['name']}: " in line
            if "difference" in strongest:
                numbers = format_value(strongest["difference"], strongest["difference_se"])
                assert numbers in line, (analysis, line)
            p = format_p(strongest["holm_p"])
            text_line = html.unescape(line)  # "< 0.001" is escaped in the page
            assert f"Holm-adjusted p {p}" in text_line or f"Holm-adjusted p = {p}" in text_line
            detected = sum(c["outcome"] == "different" for c in results["comparisons"])
            if results["family_tests"]:
                assert (kind == "null") == (detected == 0), line
                size = results["family_size"]
                assert f"of {size} comparison{'s' * (size != 1)}" in line or "any of" in line
            else:  # one seed: no p-value, no null result
                assert kind == "neutral" and "Not testable" in line, line
    for target in re.findall(r'href="#([^"]+)"', summary):
        assert f'id="{target}"' in text, target
    return lines


def test_report_opens_with_the_findings_of_the_results_files(tmp_path):
    fake_run(tmp_path)
    report.build_report(tmp_path)
    lines = assert_summary_matches_results(tmp_path)
    text = (tmp_path / "report.html").read_text()
    kind, line = lines["accuracy"]
    assert kind == "found" and "1 different (Holm over 1 test of 1 comparison). Strongest:" in line
    assert "Corrected within this notebook (1 of the run&#x27;s 2 tests in 2 notebooks)" in line
    assert "hybrid more accurate. <span" in line  # the notebook's wording, then the caveat
    assert 'href="#01_train"' in line and "key figure" not in line  # accuracy: the table
    kind, line = lines["sharpness"]
    assert (
        kind == "null" and "Null result: 1 inconclusive (Holm over 1 test of 1 comparison)." in line
    )
    assert 'href="#02_sharpness"' in line and 'href="#figure-02_key"' in line  # nearest before
    assert '<figure id="figure-02_key" data-figure="02_key">' in text
    assert external_references(text) == []


def test_configuration_dump_and_parameters_move_to_the_appendix(tmp_path):
    cfg = fake_run(tmp_path)
    text = report.build_report(tmp_path).read_text()
    body, appendix = text.split('<section id="appendix">')
    assert cfg.to_json()[:40] not in text and '"artifacts_dir":' not in text
    assert 'see the <a href="#appendix">appendix</a>' in _section(body, "01_train")
    assert "<th>q_depth</th>" not in body and "<th>q_depth</th><td>5<" in appendix
    assert "qiskit-machine-learning" in appendix and "sphinx-revealjs" in appendix
    contents = re.findall(r'<li><a href="#([^"]+)">', text)
    assert contents == ["findings", "01_train", "02_sharpness", "appendix"]


@pytest.mark.parametrize("damage", ["missing field", "unreadable"])
def test_a_summary_that_cannot_be_built_is_a_problem_not_a_traceback(tmp_path, capsys, damage):
    fake_run(tmp_path)
    if damage == "missing field":
        (tmp_path / "artifacts" / "hybrid" / "metrics.json").write_text('{"per_seed": []}')
    else:
        results = tmp_path / "artifacts" / "sharpness" / "results.json"
        results.unlink()
        results.mkdir()  # read as a file: IsADirectoryError
    [line] = _refused(tmp_path, capsys)
    assert "the findings summary could not be built (" in line
    assert ("KeyError" if damage == "missing field" else "IsADirectoryError") in line


def test_an_unreadable_results_file_is_named(tmp_path, capsys):
    fake_run(tmp_path)
    damaged = tmp_path / "artifacts" / "sharpness" / "results.json"
    damaged.write_text('{"comparisons": [')
    [line] = _refused(tmp_path, capsys)
    assert line.startswith(f"{damaged} is not a readable results file (JSONDecodeError")
    assert "rerun the notebook that writes the sharpness results" in line
