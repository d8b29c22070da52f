"""The papermill pipeline: the smoke run end to end, failures named, offline runs stopped early."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from urllib.error import URLError

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.analysis.results import RESULTS_FILE, SCHEMA_VERSION
from helpers.config import PROJECT_ROOT
from helpers.declare import analyses
from helpers.declare import analysis as declared
from helpers.model import backbone, data
from helpers.present.explore import tab_class
from helpers.run import executor, pipeline, report
from tests.run.test_report import assert_summary_matches_results, external_references
from tests.test_integration_shared import ANALYSES

REQUIRED_METRICS = ("val_accuracy", "val_loss", "history", "config", "train_seconds")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The smoke series, run once for this module: its output folder and the pipeline's result."""
    tmp_path = tmp_path_factory.mktemp("smoke_run")
    out = tmp_path / "out"
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.run.pipeline",
            "--smoke",
            "--output-dir",
            str(out),
            "-p",
            "cache_dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=1500,
    )
    print(f"smoke pipeline: {time.perf_counter() - start:.1f} s")
    return out, result


@pytest.mark.slow
def test_smoke_pipeline_runs_offline_and_writes_the_contracted_artifacts(smoke_run):
    out, result = smoke_run
    assert result.returncode == 0, result.stdout + result.stderr
    for notebook in pipeline.notebooks():
        executed = nbformat.read(out / notebook.name, as_version=4)
        errors = [
            o
            for c in executed.cells
            for o in c.get("outputs", [])
            if o.get("output_type") == "error"
        ]
        assert not errors, notebook.name
    for kind in ("classical", "hybrid"):
        metrics = json.loads((out / "artifacts" / kind / "metrics.json").read_text())
        assert all(key in metrics for key in REQUIRED_METRICS), kind
        assert metrics["config"]["smoke"] is True and metrics["config"]["dataset"] == "synthetic"
        assert (out / "artifacts" / kind / "checkpoint.pt").is_file()
    figures = {p.name for p in (out / "artifacts" / "figures").glob("*.png")}
    assert {
        "01_training_curves.png",
        "02_circuit.png",
        "02_training_curves.png",
        "03_saliency_gradient.png",
        "03_saliency_methods.png",
        "03_unit_saliency.png",
        "03_deletion_insertion.png",
        "03_pointing_game.png",
        "03_user_image.png",
        "04_tsne_layers.png",
        "04_separability.png",
        "04_q_out_pairs.png",
        "04_h_out_pairs.png",
        "05_umap.png",
        "05_atlas_hybrid.png",
        "05_atlas_classical.png",
        "05_correlations.png",
        "05_zca_matrices.png",
        "05_spectra.png",
        "05_whitened_layouts.png",
        "05_unit_distributions.png",
        "06_landscape_1d.png",
        "06_landscape_2d.png",
        "06_landscape_pca.png",
        "06_landscape_period.png",
        "06_landscape_whole_network.png",
        "06_sharpness.png",
    } <= figures
    assert {
        "07_dream_units.png",
        "07_dream_histories.png",
        "07_dream_targets.png",
        "08_transpiled_circuit.png",
        "08_accuracy_vs_shots.png",
        "09_spectrum_by_order.png",
        "09_multi_body_share.png",
        "09_ablation.png",
        "09_entanglement.png",
        "09_saturation.png",
        "09_capacity.png",
        "10_explore_lens_1.png",
    } <= figures
    page = out / "report.html"
    assert page.is_file()
    assert sorted(report.embedded_figures(page)) == sorted(p.removesuffix(".png") for p in figures)
    assert_summary_matches_results(out)  # the report opens with the run's findings
    for built in (page, out / "deck.html"):  # and the slide deck is built beside it
        assert external_references(built.read_text()) == [], built
    grids = {p.name for p in (out / "artifacts" / "landscape").glob("*.npz")}
    assert {"hybrid_2d.npz", "classical_2d.npz", "hybrid_period.npz"} <= grids
    for analysis in ANALYSES:
        results = json.loads((out / "artifacts" / analysis / "results.json").read_text())
        assert results["numbers"], analysis
    scores = json.loads((out / "artifacts" / "saliency" / "scores.json").read_text())
    # gradient and SmoothGrad are drawn, not scored, unless score_all_methods is set
    assert {row["method"] for row in scores} == {"integrated_gradients", "random"}


@pytest.mark.slow
@pytest.mark.parametrize("analysis", analyses(), ids=lambda a: a.name)
def test_every_declared_analysis_conforms_on_the_smoke_run(smoke_run, analysis):
    """One suite for every declaration: its notebook ran; its results.json (schema-checked), its
    tagged verdicts, its key figure and its report line exist; its tab is in the explorer."""
    out, result = smoke_run
    assert result.returncode == 0, result.stdout + result.stderr
    executed = nbformat.read(out / f"{analysis.notebook}.ipynb", as_version=4)
    tags = [o.get("metadata", {}) for c in executed.cells for o in c.get("outputs", [])]
    page = (out / "report.html").read_text()
    if analysis.results:
        written = json.loads((out / "artifacts" / analysis.name / RESULTS_FILE).read_text())
        assert written["schema"] == SCHEMA_VERSION and written["analysis"] == analysis.name
        for row in written["numbers"]:
            assert {"name", "mean", "se", "n", "unit"} <= set(row), row
        rows = written["comparisons"] + written["exploratory"]
        assert rows and all(row["comparative"] and "p_value" in row for row in rows)
        assert written["family_size"] == len(written["comparisons"])
        assert {"analysis": analysis.name} in tags  # the verdicts, tagged for the report
        assert f'data-analysis="{analysis.name}"' in page
    if analysis.key_figure:
        assert (out / "artifacts" / "figures" / f"{analysis.key_figure}.png").is_file()
        assert {"figure": analysis.key_figure} in tags
        assert f'id="figure-{analysis.key_figure}"' in page
    if analysis.tab is not None:
        explorer = nbformat.read(out / f"{declared('explorer').notebook}.ipynb", as_version=4)
        shown = {tag.get("figure", "") for c in explorer.cells for o in c.get("outputs", [])
                 for tag in [o.get("metadata", {})]}  # fmt: skip
        assert any(name.endswith(f"_{tab_class(analysis.tab.view).key}_1") for name in shown)


def _notebooks(folder, **sources):
    """Numbered notebooks of code cells in ``folder``: ``name=[cell source, ...]``."""
    folder.mkdir(exist_ok=True)
    for name, cells in sources.items():
        nb = new_notebook(cells=[new_code_cell(source) for source in cells])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def _previous_run(out, name):
    """A complete executed notebook from an earlier run, to check it survives a failed one."""
    out.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(cells=[new_code_cell("earlier = 'complete'")])
    nb.metadata["pipeline"] = {"status": "complete", "message": ""}
    nbformat.write(nb, out / f"{name}.ipynb")
    return (out / f"{name}.ipynb").read_bytes()


def _pipeline_args(notebook_dir, out, tmp_path):
    return [
        "--smoke",
        "--no-report",
        "--notebook-dir",
        str(notebook_dir),
        "--output-dir",
        str(out),
        "-p",
        "cache_dir",
        str(tmp_path / "cache"),
    ]


def _outcome(path):
    return nbformat.read(path, as_version=4).metadata["pipeline"]


@pytest.mark.slow
def test_failing_notebook_is_named_with_its_cell_and_the_previous_copy_kept(tmp_path, capsys):
    folder = _notebooks(
        tmp_path / "notebooks",
        **{"01_fine": ["x = 1"], "02_broken": ["x = 1", "raise ValueError('boom')"]},
    )
    out = tmp_path / "out"
    earlier = _previous_run(out, "02_broken")
    code = pipeline.main(_pipeline_args(folder, out, tmp_path))
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "02_broken.ipynb, cell 1 (\"raise ValueError('boom')\") raised ValueError: boom" in last
    assert str(out / "02_broken.failed.ipynb") in last
    assert (out / "02_broken.ipynb").read_bytes() == earlier
    assert _outcome(out / "02_broken.failed.ipynb")["status"] == "failed"
    assert _outcome(out / "01_fine.ipynb") == {"status": "complete", "message": ""}
    assert not list(out.glob(".*running*"))
    folder.joinpath("02_broken.ipynb").unlink()
    _notebooks(folder, **{"02_broken": ["x = 2"]})  # fixed: a complete run replaces both
    assert pipeline.main(_pipeline_args(folder, out, tmp_path)) == 0
    assert not (out / "02_broken.failed.ipynb").exists()
    assert _outcome(out / "02_broken.ipynb")["status"] == "complete"


@pytest.mark.slow
def test_a_failed_rerun_keeps_the_last_complete_report_and_deck(tmp_path, capsys):
    folder = _notebooks(tmp_path / "notebooks", **{"01_broken": ["raise ValueError('boom')"]})
    out = tmp_path / "out"
    out.mkdir()
    pages = {name: f"<html>the last complete {name}</html>" for name in ("report", "deck")}
    for name, text in pages.items():
        (out / f"{name}.html").write_text(text)
    assert pipeline.main(_pipeline_args(folder, out, tmp_path)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert all((out / f"{name}.html").read_text() == text for name, text in pages.items())
    assert "report.html and" in err[-2] and "stay as they were" in err[-2]
    assert err[-1].startswith("[pipeline] stopped: 01_broken.ipynb")


@pytest.mark.slow
def test_rerunning_one_notebook_with_its_own_parameter_keeps_one_report(smoke_run, tmp_path):
    """The researcher's loop: a finished run (here a copy of it, moved elsewhere), then one
    notebook again with another value of its own parameter and no --smoke: preflight continues
    the recorded run, and the report is rebuilt with each notebook's own parameters."""
    out, result = smoke_run
    assert result.returncode == 0, result.stdout + result.stderr
    copy = tmp_path / "copied run"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("cache"))
    before = (copy / "02_hybrid_train.ipynb").read_bytes()
    rerun = subprocess.run(
        [sys.executable, "-m", "helpers.pipeline", "--output-dir", str(copy), "--only", "03",
         "-p", "saliency_images", "6"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=1500,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert (copy / "02_hybrid_train.ipynb").read_bytes() == before
    page = (copy / "report.html").read_text()
    assert "differs between notebooks" not in page and "⚠" not in page
    executed = nbformat.read(copy / "03_saliency.ipynb", as_version=4)
    assert executed.metadata.papermill["parameters"]["saliency_images"] == 6
    assert executed.metadata.papermill["parameters"]["dataset"] == "synthetic"  # the run's
    shifted = subprocess.run(
        [sys.executable, "-m", "helpers.pipeline", "--output-dir", str(copy), "--only", "03",
         "-p", "q_depth", "4"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=1500,
    )  # fmt: skip
    assert shifted.returncode == 2
    assert "q_depth=4 differs from the run's trained heads (q_depth=5, hybrid)" in shifted.stderr
    assert "include 02_hybrid_train in --only" in shifted.stderr


@pytest.mark.slow
def test_a_killed_kernel_is_reported_as_such(tmp_path, capsys):
    folder = _notebooks(
        tmp_path / "notebooks",
        **{"01_dies": ["import os, signal", "os.kill(os.getpid(), signal.SIGKILL)"]},
    )
    code = pipeline.main(_pipeline_args(folder, tmp_path / "out", tmp_path))
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert "the kernel died (out of memory?) in 01_dies.ipynb, cell 1" in last
    assert _outcome(tmp_path / "out" / "01_dies.failed.ipynb")["status"] == "kernel died"


def _kernels_using(folder):
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if str(folder) in line and "kernel" in line]


@pytest.mark.slow
@pytest.mark.parametrize("sent", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_keeps_the_previous_notebook_and_leaves_nothing(tmp_path, sent):
    started = tmp_path / "started"
    folder = _notebooks(
        tmp_path / "notebooks",
        **{
            "01_quick": ["x = 1"],
            "02_slow": [f"open({str(started)!r}, 'w').close()", "import time\ntime.sleep(120)"],
        },
    )
    out = tmp_path / "out"
    earlier = _previous_run(out, "02_slow")
    private_tmp = tmp_path / "tmp"  # kernel connection files land here
    private_tmp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.pipeline", *_pipeline_args(folder, out, tmp_path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TMPDIR": str(private_tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert started.exists(), process.communicate()
    time.sleep(1.0)  # inside time.sleep(120)
    signal_number = getattr(signal, sent)
    if sent == "SIGINT":  # Ctrl-C in a terminal: the whole foreground process group
        os.killpg(process.pid, signal_number)
    else:  # kill PID
        process.send_signal(signal_number)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal_number, err
    last = err.strip().splitlines()[-1]
    assert f"stopped: {sent} stopped 02_slow.ipynb, cell 1 ('import time')" in last, err
    assert (out / "02_slow.ipynb").read_bytes() == earlier
    assert _outcome(out / "02_slow.failed.ipynb")["status"] == "interrupted"
    assert (out / "01_quick.ipynb").is_file()
    assert not list(out.glob(".*running*"))
    assert list(private_tmp.iterdir()) == []  # no connection files left behind
    assert "Kernel is running over TCP" not in err  # the kernel's log shows errors only
    assert "01_quick.ipynb:" in err and "/2 [" in err  # progress: cells done / total, time
    assert _kernels_using(private_tmp) == []


def test_offline_run_stops_within_seconds_naming_files_and_demo(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(data.datasets, "CIFAR10", offline)
    monkeypatch.setattr(backbone.models, "resnet18", offline)
    start = time.perf_counter()
    code = pipeline.main(["--output-dir", str(tmp_path), "-p", "data_dir", str(tmp_path)])
    assert code == 2 and time.perf_counter() - start < 10
    message = capsys.readouterr().err
    assert "cifar-10-python.tar.gz" in message and "python -m helpers.pipeline --smoke" in message
    assert "resnet18-f37072fd.pth" in message  # every missing resource is named at once


@pytest.mark.slow
def test_a_run_mixing_parameters_gets_no_report_and_says_why(tmp_path, capsys):
    folder = _notebooks(tmp_path / "notebooks", **{"01_a": ["x = 1"], "02_b": ["y = 2"]})
    out = tmp_path / "out"
    first = _pipeline_args(folder, out, tmp_path)
    first.remove("--no-report")
    assert pipeline.main(first) == 0
    complete = (out / "report.html").read_bytes()
    rerun = [*_pipeline_args(folder, out, tmp_path), "--only", "02", "-p", "q_depth", "3"]
    rerun.remove("--no-report")
    assert pipeline.main(rerun) == 1
    err = capsys.readouterr().err
    assert "report not built:" in err and "parameter q_depth differs between notebooks" in err
    assert "report.html and" in err and "stay as they were: they do not show this run" in err
    assert (out / "report.html").read_bytes() == complete  # the last complete one, still readable


def test_cell_labels_name_the_section_and_first_line_of_every_code_cell():
    from helpers.run.executor import LABEL_WIDTH, cell_labels

    cells = [
        {"cell_type": "markdown", "source": "# 03 · Saliency\ntext"},
        {"cell_type": "code", "source": "# a comment\nsession = setup(globals())"},
        {"cell_type": "markdown", "source": "## Scoring the maps\n\nmore text"},
        {"cell_type": "code", "source": ["scores = saliency.score_methods(", "models)"]},
        {"cell_type": "code", "source": "x = " + "1 + " * 40 + "1"},
    ]
    labels = cell_labels(cells)
    assert labels[1] == "03 · Saliency · session = setup(globals())"
    assert labels[3] == "Scoring the maps · scores = saliency.score_methods(models)"
    assert len(labels[4]) == LABEL_WIDTH and labels[4].endswith("…")
    assert set(labels) == {1, 3, 4}


@pytest.mark.slow
def test_the_series_runs_for_the_hybrid_alone(tmp_path):
    """Every notebook runs any non-empty subset of the models; one it has nothing to do for is
    skipped by name (01 trains the classical twin)."""
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "helpers.pipeline", "--smoke", "--output-dir", str(out),
         "-p", "models", '["hybrid"]', "-p", "seeds", "[0, 1]",
         "-p", "cache_dir", str(tmp_path / "cache")],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipping 01_classical.ipynb: it needs the classical model" in result.stdout
    assert not (out / "artifacts" / "classical").exists()
    ran = sorted(path.name for path in out.glob("[0-9][0-9]_*.ipynb"))
    assert ran == [f"{a.notebook}.ipynb" for a in analyses() if a.runs_with(["hybrid"])]
    assert (out / "report.html").is_file() and (out / "deck.html").is_file()


FILL = """import os
block = b"x" * 65536
handle = open(os.path.join(os.path.dirname(artifacts_dir), "fill.bin"), "wb")
try:
    while True:
        handle.write(block)
        handle.flush()
except OSError:
    pass"""


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system (tmpfs), where the test runner may mount one."""
    folder = tmp_path / "small disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _assert_full_disk_stop(err: str, out, earlier: bytes) -> None:
    last = err.strip().splitlines()[-1]
    assert last.startswith("[pipeline] stopped: 01_fill.ipynb") and "No space left" in last
    assert "MB free on" in last and "Traceback" not in err
    assert (out / "01_fill.ipynb").read_bytes() == earlier  # the earlier copy is untouched
    assert not list(out.glob(".*running*")) and not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_a_full_disk_stops_the_run_with_one_line_and_loses_nothing(small_disk, tmp_path, capsys):
    folder = _notebooks(tmp_path / "notebooks", **{"01_fill": [FILL, "print('filled')"]})
    out = small_disk / "out"
    earlier = _previous_run(out, "01_fill")
    assert pipeline.main(_pipeline_args(folder, out, tmp_path)) == 1
    _assert_full_disk_stop(capsys.readouterr().err, out, earlier)


@pytest.mark.slow
def test_a_failed_write_while_keeping_a_copy_still_gives_the_stop_line(
    tmp_path, capsys, monkeypatch
):
    """Where no small file system can be mounted: every write of the executed copy fails as on
    a full disk."""

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(executor, "atomic_write", full)
    folder = _notebooks(tmp_path / "notebooks", **{"01_fill": ["x = 1"]})
    out = tmp_path / "out"
    earlier = _previous_run(out, "01_fill")
    assert pipeline.main(_pipeline_args(folder, out, tmp_path)) == 1
    err = capsys.readouterr().err
    _assert_full_disk_stop(err, out, earlier)
    assert "its partial copy could not be kept (No space left on device)" in err


@pytest.mark.slow
def test_connection_files_of_a_killed_run_are_removed_by_the_next(tmp_path):
    started = tmp_path / "started"
    folder = _notebooks(
        tmp_path / "notebooks",
        **{"01_slow": [f"open({str(started)!r}, 'w').close()", "import time\ntime.sleep(120)"]},
    )
    private_tmp = tmp_path / "tmp"  # kernel connection files land here
    private_tmp.mkdir()
    command = [sys.executable, "-m", "helpers.pipeline"]
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    process = subprocess.Popen(
        [*command, *_pipeline_args(folder, tmp_path / "out", tmp_path)], cwd=PROJECT_ROOT,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.kill()  # SIGKILL: no handler runs, the connection file stays
    process.wait(timeout=30)
    assert list(private_tmp.glob("hqnn-kernels-*/kernel-*.json"))
    quick = _notebooks(tmp_path / "quick", **{"01_quick": ["x = 1"]})
    done = subprocess.run(
        [*command, *_pipeline_args(quick, tmp_path / "again", tmp_path)], cwd=PROJECT_ROOT,
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(private_tmp.glob("hqnn-kernels-*")) == []
