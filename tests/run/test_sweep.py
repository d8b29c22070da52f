"""Sweeps on a local Ray: a 2 × 2 grid shares its features and heads, a killed point is run
again, an interrupted sweep resumes with what is missing, a bad grid stops before anything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers.config import PROJECT_ROOT
from helpers.io import read_computed
from helpers.run import sweep
from helpers.run.sweep_grid import Grid, grid_from_arguments
from helpers.run.sweep_point import ATTEMPT_FILE, POINT_FILE

SWEEP_SECONDS = 600


def _command(out: Path, cache: Path, *arguments: str) -> list[str]:
    return [
        sys.executable, "-m", "helpers.sweep", "--smoke", "--no-report",
        "--output-dir", str(out), "-p", "cache_dir", str(cache), *arguments,
    ]  # fmt: skip


def _record(folder: Path) -> dict:
    return json.loads((folder / POINT_FILE).read_text())


def _wait_for(condition, what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.is_file() and status.read_text().split()[2] == "Z")  # not a zombie


@pytest.mark.slow
def test_a_two_by_two_grid_runs_four_points_sharing_features_and_heads(tmp_path):
    out, cache = tmp_path / "sweep", tmp_path / "cache"
    grid = ["--grid", "epochs", "1", "2", "--grid", "accuracy_margin", "0.02", "0.05"]
    result = subprocess.run(
        _command(out, cache, "--only", "01", "02", "--workers", "2", *grid),
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=SWEEP_SECONDS,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    points = Grid({"epochs": [1, 2], "accuracy_margin": [0.02, 0.05]}).points()
    for point in points:
        folder = out / point.folder
        assert _record(folder)["status"] == "complete"
        assert (folder / "02_hybrid_train.ipynb").is_file()
        assert (folder / "artifacts" / "accuracy" / "results.json").is_file()
    assert "4/4 complete, 0 failed" in result.stdout and "elapsed" in result.stdout
    first, second = (_record(out / point.folder)["attempts"][0] for point in points[:2])
    assert second["started"] < first["started"] + first["seconds"]  # the two ran at once
    computed = read_computed(cache)
    extracted = Counter(line["entry"] for line in computed if line["what"] == "features")
    assert len(extracted) == 2 and set(extracted.values()) == {1}  # train pool and test, once
    trained = Counter(line["entry"] for line in computed if line["what"] == "heads trained")
    reused = Counter(line["entry"] for line in computed if line["what"] == "heads reused")
    # 3 models × 2 epochs values: each head trained once; the swept margin retrains nothing
    assert len(trained) == 6 and set(trained.values()) == {1}
    assert reused == trained
    summary = json.loads((out / "sweep.json").read_text())
    assert "extracted backbone features 2 times" in summary["findings"][1]
    accuracy = [s for s in summary["measures"] if s["name"] == "test accuracy"]
    assert {s["model"] for s in accuracy} == {"hybrid", "classical", "product"}
    assert all(len(s["values"]) == 4 for s in accuracy)
    page = (out / "sweep.html").read_text()
    assert page.count("data:image/png;base64,") >= 1 and "Verdicts at every point" in page


@pytest.mark.slow
def test_a_killed_point_is_retried_and_an_interrupted_sweep_resumes_with_the_rest(tmp_path):
    out, cache = tmp_path / "sweep", tmp_path / "cache"
    command = _command(out, cache, "--only", "01", "--workers", "1", "--grid", "epochs", "1", "2")
    first, second = (out / point.folder for point in Grid({"epochs": [1, 2]}).points())
    driver = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        # SIGKILL the Ray worker running the first point while its notebook runs
        running = first / ".01_classical.running.ipynb"
        _wait_for(lambda: running.is_file() and (first / ATTEMPT_FILE).is_file(), "01 to run")
        attempt = json.loads((first / ATTEMPT_FILE).read_text())
        os.kill(attempt["worker_pid"], signal.SIGKILL)
        _wait_for(lambda: not _alive(attempt["pid"]), "the killed worker's series to stop", 30)
        # then interrupt the sweep while the second point runs
        _wait_for(lambda: (second / ATTEMPT_FILE).is_file(), "the second point to start")
        driver.send_signal(signal.SIGINT)
        output, _ = driver.communicate(timeout=120)
    finally:
        driver.kill()
    assert driver.returncode == 130, output[-3000:]
    record = _record(first)
    assert record["status"] == "complete" and len(record["attempts"]) == 2
    assert record["attempts"][0]["error"] == "the Ray worker running it died"
    assert "running it again" in output
    assert _record(second)["status"] == "interrupted"
    kept = (first / "01_classical.ipynb").stat().st_mtime_ns
    resumed = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=SWEEP_SECONDS
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "2 points, 1 complete already (kept), 1 to run" in resumed.stdout
    assert "started epochs=1" not in resumed.stdout and "started epochs=2" in resumed.stdout
    assert (first / "01_classical.ipynb").stat().st_mtime_ns == kept
    assert _record(second)["status"] == "complete"


@pytest.mark.parametrize(
    ("grid", "named"),
    [
        (["--grid", "q_dept", "1", "2"], "'q_dept': did you mean 'q_depth'"),
        (["--grid", "q_depth", "-1", "2"], "point q_depth=-1: q_depth"),
        (["--grid", "artifacts_dir", "a", "b"], "--grid artifacts_dir: each point has its own"),
        (["--grid", "epochs", "1", "1"], "--grid epochs: a value is repeated"),
        (["--grid", "epochs"], "--grid epochs: give a parameter name and its values"),
        ([], "nothing to sweep"),
    ],
)
def test_a_bad_grid_fails_before_anything_starts_naming_it(tmp_path, capsys, grid, named):
    out = tmp_path / "sweep"
    code = sweep.main(["--smoke", "--output-dir", str(out), "--only", "01", *grid])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("[sweep] cannot start:") and named in error, error
    assert not out.exists()  # nothing written, Ray never started


def test_grids_from_the_command_line_and_a_file_agree(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(
        "grid:\n  q_depth: [0, 2]\n  circuit: [mari, reuploading]\nparameters:\n  epochs: 2\n"
    )
    from_file = grid_from_arguments([], [], path)
    from_options = grid_from_arguments(
        [["q_depth", "0", "2"], ["circuit", "mari", "reuploading"]], [("epochs", "2")]
    )
    assert from_file == from_options
    points = from_file.points()
    assert [point.name for point in points] == [
        "q_depth=0, circuit=mari", "q_depth=0, circuit=reuploading",
        "q_depth=2, circuit=mari", "q_depth=2, circuit=reuploading",
    ]  # fmt: skip
    assert points[1].folder == "q_depth-0_circuit-reuploading"
    assert from_file.parameters(points[3]) == {"epochs": 2, "q_depth": 2, "circuit": "reuploading"}
