"""The layer's exact Fourier spectrum against the circuit itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from helpers.analysis.lens.fourier import exact_spectrum, input_degrees
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import CircuitSpec, build_circuit, build_user_circuit

ROOT = Path(__file__).resolve().parents[2]


def _layer(spec: CircuitSpec, seed: int) -> QuantumLayer:
    weights = torch.randn(len(spec.weights), generator=torch.Generator().manual_seed(seed))
    return QuantumLayer(circuit=spec, initial_weights=weights)


@pytest.mark.parametrize(
    "spec",
    [
        build_circuit("mari", 4, 3),
        build_circuit("reuploading", 3, 2),
        build_circuit("efficient_su2", 3, 1),
        build_user_circuit("tests/user_circuit.py:build", ROOT, 3, 2),
    ],
    ids=["mari", "reuploading", "efficient_su2", "user"],
)
def test_spectrum_reproduces_the_circuit(spec):
    layer = _layer(spec, seed=1)
    spectrum = exact_spectrum(layer)
    inputs = np.random.default_rng(0).uniform(-np.pi, np.pi, (64, len(spec.inputs)))
    with torch.no_grad():
        expected = layer(torch.from_numpy(inputs)).double().numpy()
    np.testing.assert_allclose(spectrum.evaluate(inputs), expected, atol=1e-9)
    # Parseval: the power of all terms is the mean of f² over uniformly random inputs
    grid = np.random.default_rng(1).uniform(-np.pi, np.pi, (20000, len(spec.inputs)))
    mean_square = (spectrum.evaluate(grid) ** 2).mean(axis=0)
    np.testing.assert_allclose(spectrum.power_by_order().sum(axis=1), mean_square, rtol=0.05)


def test_reuploaded_inputs_raise_the_degree():
    assert input_degrees(_layer(build_circuit("reuploading", 3, 2), 0)).tolist() == [
        2,
        2,
        2,
    ]  # one RY(x_i) per layer
    assert input_degrees(QuantumLayer(4, 5)).tolist() == [1, 1, 1, 1]


def test_product_control_has_no_multi_body_terms_and_depth_4_equals_it_at_4_qubits():
    control = exact_spectrum(QuantumLayer(4, 0))
    assert np.abs(control.coefficients[:, control.orders > 1]).max() < 1e-12
    zero_weights = QuantumLayer(4, 4, initial_weights=torch.zeros(16))
    np.testing.assert_allclose(
        exact_spectrum(zero_weights).coefficients, control.coefficients, atol=1e-12
    )
    depth_5 = exact_spectrum(QuantumLayer(4, 5, initial_weights=torch.zeros(20)))
    assert np.abs(depth_5.coefficients[:, depth_5.orders > 1]).max() > 0.1


def test_additive_part_of_a_product_layer_is_the_whole_layer():
    layer = QuantumLayer(3, 0)
    spectrum = exact_spectrum(layer)
    inputs = np.random.default_rng(2).uniform(-1.5, 1.5, (16, 3))
    np.testing.assert_allclose(
        spectrum.evaluate(inputs, max_order=1), spectrum.evaluate(inputs), atol=1e-12
    )
    np.testing.assert_allclose(spectrum.evaluate(inputs), -np.sin(inputs), atol=1e-12)


def test_fractional_input_frequency_is_refused_naming_the_gate():
    x, w = ParameterVector("x", 1), ParameterVector("w", 1)
    circuit = QuantumCircuit(1)
    circuit.ry(x[0] / 2, 0)
    circuit.rz(w[0], 0)
    spec = CircuitSpec("half", circuit, tuple(x), tuple(w), (SparsePauliOp("X"),))
    with pytest.raises(ValueError, match=r"gate 'ry' with frequency 0\.5"):
        input_degrees(QuantumLayer(circuit=spec, initial_weights=torch.zeros(1)))


def test_order_power_is_exact_where_the_grid_fits_and_estimated_within_its_error_beyond(
    monkeypatch,
):
    from helpers.analysis.lens import additive, fourier

    layer = QuantumLayer(
        4, 5, initial_weights=torch.randn(20, generator=torch.Generator().manual_seed(4))
    )
    exact = fourier.order_power(layer)
    assert exact.exact and exact.deviation < 1e-9 and exact.orders == ("0", "1", "2", "3", "4")
    np.testing.assert_allclose(exact.power, exact_spectrum(layer).power_by_order(), atol=1e-15)
    monkeypatch.setattr(fourier, "MAX_GRID", 10)
    monkeypatch.setattr(additive, "EXACT_EVALUATIONS", 10)
    estimated = fourier.order_power(layer, samples=20000, seed=1)
    assert not estimated.exact and estimated.orders == ("0", "1", "≥2")
    multi_body = exact.power[:, 2:].sum(axis=1)
    assert (np.abs(estimated.power[:, 2] - multi_body) < 6 * estimated.error + 2e-3).all()
    assert np.abs(estimated.power[:, 1] - exact.power[:, 1]).max() < 5e-3
