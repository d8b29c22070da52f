"""Both heads on real images: CIFAR-10 cats vs dogs from ../shared with its 32 px backbone.

The stand-in backbone (a ResNet18 trained on 3,051 other CIFAR-10 images) reaches 58.8 % with a
linear probe on cats vs dogs (../shared/models/README.md), so heads trained for Mari's three
epochs are expected in the high 50s to low 60s; one standard error on 187 images is 3.6 points.
"""

import json
import shlex
import subprocess
import sys

import pytest

from helpers.config import PROJECT_ROOT, Config
from helpers.declare import analyses
from helpers.model.train import train
from helpers.run import pipeline, report
from tests.conftest import shared_path

# every results.json: numbers over seeds and its verdicts
ANALYSES = tuple(analysis.name for analysis in analyses() if analysis.results)


@pytest.mark.slow
def test_cats_vs_dogs_on_shared_cifar_subset(tmp_path, record_property):
    cfg = Config(
        dataset="imagefolder",
        classes=["cat", "dog"],
        data_dir=str(shared_path("data", "cifar10_subset")),
        weights=str(shared_path("models", "resnet18_cifar10subset_32px.pt")),
        image_size=32,
        resize_size=32,
        artifacts_dir=str(tmp_path / "artifacts"),
        cache_dir=str(tmp_path / "cache"),
    )
    results = {kind: train(cfg, kind).metrics for kind in cfg.models}
    for kind, metrics in results.items():
        record_property(f"{kind}_test_accuracy", metrics["test_accuracy"])
        print(
            f"{kind}: test accuracy {metrics['test_accuracy']:.3f} ± "
            f"{metrics['test_accuracy_se']:.3f} over {len(cfg.seeds)} seeds on "
            f"{metrics['n_test']} images, {metrics['train_samples_per_second']:.0f} samples/s"
        )
        # 194 training images: 20 carved out for model selection (stratified), 187 test images
        assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (174, 20, 187)
        # clearly above chance (50 %): more than two standard errors of one seed on 187 images
        assert metrics["test_accuracy"] > 0.5 + 2 * 0.036, kind


@pytest.mark.slow
def test_every_notebook_runs_on_the_shared_cifar_subset(tmp_path):
    """The whole series on real images at 32 px (lighter grids, shots and dreams than default)."""
    out = tmp_path / "out"
    settings = {
        "dataset": "imagefolder",
        "classes": '["cat","dog"]',
        "data_dir": str(shared_path("data", "cifar10_subset")),
        "weights": str(shared_path("models", "resnet18_cifar10subset_32px.pt")),
        "image_size": "32",
        "resize_size": "32",
        "cache_dir": str(tmp_path / "cache"),
        "saliency_images": "32",
        "landscape_resolution": "21",
        "dream_steps": "8",
        "shots": "[64, 1024]",
        "shot_repeats": "2",
    }
    arguments = [item for name, value in settings.items() for item in ("-p", name, value)]
    result = subprocess.run(
        [sys.executable, "-m", "helpers.run.pipeline", "--output-dir", str(out), *arguments],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(list(out.glob("[0-9][0-9]_*.ipynb"))) == len(pipeline.notebooks())
    figures = {p.stem for p in (out / "artifacts" / "figures").glob("*.png")}
    assert "03_pointing_game" not in figures  # no object masks for real images
    assert sorted(report.embedded_figures(out / "report.html")) == sorted(figures)
    scores = json.loads((out / "artifacts" / "saliency" / "scores.json").read_text())
    assert all(row["rank_corr_images"] > 0 for row in scores)
    for analysis in ANALYSES:
        results = json.loads((out / "artifacts" / analysis / "results.json").read_text())
        units = {row["unit"] for row in results["numbers"]}  # 09's gradients: over weight draws
        assert results["numbers"] and units <= {"seeds", "weight draws"}, (analysis, units)


def _readme_offline_command() -> str:
    """The README's offline example, as written (continuation lines joined)."""
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# offline, real images"))
    command = []
    for line in lines[start + 1 :]:
        command.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    return " ".join(command)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["repository root", "another folder"])
def test_readme_offline_example_runs_as_written_from_any_folder(tmp_path, where):
    if not (PROJECT_ROOT.parent / "shared" / "models").is_dir():
        pytest.skip("the README's example reads ../shared beside the repository")
    command = _readme_offline_command()
    assert command.startswith("python -m helpers.pipeline ") and "../shared/" in command
    arguments = [
        *shlex.split(command)[1:],
        "--only", "01", "--no-report",
        "--output-dir", str(tmp_path / "out"),
        "-p", "cache_dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    cwd = PROJECT_ROOT if where == "repository root" else tmp_path
    result = subprocess.run(
        [sys.executable, *arguments], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(
        (tmp_path / "out" / "artifacts" / "classical" / "metrics.json").read_text()
    )
    assert metrics["n_test"] == 187 and metrics["config"]["weights"].endswith(".pt")
