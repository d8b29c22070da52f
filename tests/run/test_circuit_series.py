"""The series on circuits other than Mari's: a user's own circuit through every notebook, with
both controls; preflight on a circuit too large for the noise device. Every family at 3 and 6
qubits: ``benchmarks/family_series.py`` (too long for the suite)."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest

from helpers.config import PROJECT_ROOT
from helpers.declare import analyses
from helpers.run.pipeline import command_line

QUANTUM = ("hybrid", "product", "unentangled")
ALL_MODELS = ["hybrid", "classical", "product", "unentangled"]


def _run(out, **parameters):
    command = command_line(out, {"cache_dir": str(out / "cache"), **parameters}, smoke=True)
    return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900)


@pytest.mark.slow
def test_a_user_circuit_runs_through_the_series_with_both_controls(tmp_path):
    """2 inputs on 3 qubits, an input encoded twice, an RZ gate and a Z₀Z₁ observable: every
    notebook runs, the heads size themselves from the circuit and the unentangled control is
    compared with the hybrid."""
    out = tmp_path / "out"
    result = _run(
        out, circuit="tests/user_circuit.py:build", n_qubits=3, models=ALL_MODELS, seeds=[0, 1]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for analysis in analyses():
        executed = nbformat.read(out / f"{analysis.notebook}.ipynb", as_version=4)
        errors = [o for c in executed.cells for o in c.get("outputs", []) if "ename" in o]
        assert not errors, analysis.notebook
    artifacts = out / "artifacts"
    for kind in QUANTUM:
        metrics = json.loads((artifacts / kind / "metrics.json").read_text())
        assert metrics["circuit"] == "mine" if kind == "hybrid" else f"mine {kind}"
    accuracy = json.loads((artifacts / "accuracy" / "results.json").read_text())
    compared = {(c["name_a"], c["name_b"]) for c in accuracy["comparisons"]}
    assert ("unentangled", "hybrid") in compared and ("product", "hybrid") in compared
    landscape = json.loads((artifacts / "landscape" / "results.json").read_text())
    assert landscape["numbers"]
    assert (out / "report.html").is_file() and (out / "deck.html").is_file()


def test_preflight_refuses_a_noise_device_smaller_than_the_circuit(tmp_path):
    out = tmp_path / "out"
    result = _run(out, circuit="real_amplitudes", n_qubits=6, noise_device="FakeManilaV2")
    assert result.returncode == 2
    assert "FakeManilaV2' has 5 qubits" in result.stderr + result.stdout
    assert "FakeNairobiV2 (7 qubits)" in result.stderr + result.stdout
    assert not (out / "01_classical.ipynb").exists()
