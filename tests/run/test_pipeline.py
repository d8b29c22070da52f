"""The papermill pipeline: the smoke run end to end, failures named, offline runs stopped early."""

import json
import subprocess
import sys
import time
from urllib.error import URLError

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.config import PROJECT_ROOT
from helpers.model import backbone, data
from helpers.run import pipeline, report

REQUIRED_METRICS = ("val_accuracy", "val_loss", "history", "config", "train_seconds")


@pytest.mark.slow
def test_smoke_pipeline_runs_offline_and_writes_the_contracted_artifacts(tmp_path):
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
        timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"smoke pipeline: {seconds:.1f} s")
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
    } <= figures
    page = out / "report.html"
    assert page.is_file()
    assert sorted(report.embedded_figures(page)) == sorted(p.removesuffix(".png") for p in figures)
    grids = {p.name for p in (out / "artifacts" / "landscape").glob("*.npz")}
    assert {"hybrid_2d.npz", "classical_2d.npz", "hybrid_period.npz"} <= grids
    scores = json.loads((out / "artifacts" / "saliency" / "scores.json").read_text())
    assert {row["method"] for row in scores} == {
        "gradient",
        "smoothgrad",
        "integrated_gradients",
        "random",
    }


def _failing_notebook(folder):
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("raise ValueError('boom')")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "01_broken.ipynb")


@pytest.mark.slow
def test_failing_notebook_is_named_with_its_cell(tmp_path, monkeypatch, capsys):
    _failing_notebook(tmp_path / "notebooks")
    monkeypatch.setattr(pipeline, "NOTEBOOK_DIR", tmp_path / "notebooks")
    monkeypatch.setattr(pipeline, "preflight", lambda parameters: None)
    code = pipeline.main(["--smoke", "--output-dir", str(tmp_path / "out")])
    assert code == 1
    message = capsys.readouterr().err
    assert "01_broken.ipynb failed in cell 1 (\"raise ValueError('boom')\")" in message
    assert "ValueError: boom" in message


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


def test_parameters_are_validated_before_any_kernel_starts(tmp_path):
    with pytest.raises(SystemExit, match="unknown parameter 'depth'"):
        pipeline.build_parameters(False, [("depth", "3")], tmp_path)
    with pytest.raises(ValueError, match="classical_head='x' is unknown"):
        pipeline.build_parameters(False, [("classical_head", "x")], tmp_path)
    parameters = pipeline.build_parameters(
        True, [("classes", '["red", "blue"]'), ("q_depth", "2")], tmp_path
    )
    assert parameters["q_depth"] == 2 and parameters["dataset"] == "synthetic"
    assert parameters["artifacts_dir"] == str((tmp_path / "artifacts").resolve())
