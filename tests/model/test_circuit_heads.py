"""The ``circuit`` parameter: the dressed head on any circuit, its two controls, user circuits."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.config import CIRCUIT_FAMILIES, PROJECT_ROOT, Config, ConfigError
from helpers.fingerprints import fingerprint
from helpers.model.heads import build_head, configured_circuit, model_circuit
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import FAMILIES, build_user_circuit, product_control
from tests import user_circuit

USER = "tests/user_circuit.py:build"
ALL_MODELS = ["hybrid", "classical", "product", "unentangled"]


def _gates(circuit):
    return [
        (item.operation.name, tuple(map(circuit.find_bit, item.qubits))) for item in circuit.data
    ]


def test_the_configs_families_are_the_circuits_families():
    assert tuple(FAMILIES) == CIRCUIT_FAMILIES


@pytest.mark.parametrize("family", CIRCUIT_FAMILIES)
@pytest.mark.parametrize("kind", ["hybrid", "product", "unentangled"])
def test_every_quantum_model_of_every_family_is_a_dressed_head_on_its_circuit(family, kind):
    cfg = Config(circuit=family, n_qubits=3, q_depth=2, models=ALL_MODELS)
    torch.manual_seed(0)
    head = build_head(kind, cfg)
    spec = model_circuit(kind, cfg)
    assert _gates(head.q_layer.spec.circuit) == _gates(spec.circuit)
    assert head.pre_net.out_features == 3 and head.post_net.in_features == 3
    assert head.q_layer.weight.numel() == len(spec.weights)
    assert (len(spec.weights) == 0) == (kind == "product")
    multi = [item for item in spec.circuit.data if len(item.qubits) > 1]
    assert bool(multi) == (kind == "hybrid")
    assert head(torch.randn(5, 512)).shape == (5, 2)


@pytest.mark.parametrize("family", ["mari", "reuploading"])
def test_the_product_control_is_the_circuit_at_depth_zero(family):
    cfg = Config(circuit=family, n_qubits=4, q_depth=5)
    angles = torch.rand(6, 4, dtype=torch.float64) * 3 - 1.5
    product = build_head("product", cfg).q_layer(angles)
    torch.testing.assert_close(product, QuantumLayer(4, 0)(angles))
    torch.testing.assert_close(product, -torch.sin(angles))


def test_the_product_control_of_a_library_ansatz_is_its_encoding_of_zero():
    spec = product_control(configured_circuit(Config(circuit="efficient_su2", n_qubits=3)))
    angles = torch.rand(4, 3, dtype=torch.float64) * 3 - 1.5
    torch.testing.assert_close(QuantumLayer(circuit=spec)(angles), torch.cos(angles))


def test_the_unentangled_control_of_maris_circuit_is_a_sine_with_a_trained_offset():
    cfg = Config(n_qubits=3, q_depth=4, models=ALL_MODELS)
    torch.manual_seed(1)
    layer = build_head("unentangled", cfg).q_layer
    offsets = layer.weight.detach().double().view(4, 3).sum(dim=0)
    angles = torch.rand(5, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(angles), -torch.sin(angles + offsets))


def test_a_user_circuit_sizes_the_head_from_its_inputs_and_observables():
    cfg = Config(circuit=USER, n_qubits=3, models=ALL_MODELS)
    head = build_head("hybrid", cfg)
    assert head.pre_net.out_features == 2 and head.post_net.in_features == 2
    assert head.q_layer.n_inputs == 2 and head.q_layer.n_outputs == 2
    torch.testing.assert_close(
        head.q_layer(torch.full((1, 2), 0.3)),
        QuantumLayer(circuit=user_circuit.build(), initial_weights=head.q_layer.weight)(
            torch.full((1, 2), 0.3)
        ),
    )
    product = build_head("product", cfg).q_layer  # H, RY(x0), RY(x1), RY(2 x0 - 0.3)
    x0, x1 = 0.4, -0.7
    expected = [math.sin(x0) * math.sin(x1), -math.sin(2 * x0 - 0.3)]  # <Z0 Z1>, <Z2>
    found = product(torch.tensor([[x0, x1]], dtype=torch.float64))[0].tolist()
    assert found == pytest.approx(expected, abs=1e-9)


def test_the_circuit_is_part_of_every_quantum_models_fingerprint_but_not_the_twins():
    base, other = Config(), Config(circuit="reuploading")
    for kind in ("hybrid", "product", "unentangled"):
        assert fingerprint(base, kind) != fingerprint(other, kind)
    assert fingerprint(base, "classical") == fingerprint(other, "classical")
    assert fingerprint(base, "features") == fingerprint(other, "features")


@pytest.mark.parametrize(
    ("circuit", "n_qubits", "message"),
    [
        ("tests/user_circuit.py:build", 4, "has 3 qubits: set n_qubits=3"),
        ("tests/no_such_file.py:build", 3, "cannot load it"),
        ("helpers.no_such_module:build", 3, "cannot load it"),
        ("tests/user_circuit.py:missing", 3, "cannot load it"),
        ("helpers.quantum.circuits:unentangled", 3, r"builder\(n_qubits, q_depth\) failed"),
    ],
)
def test_a_bad_user_circuit_is_named_with_what_to_fix(circuit, n_qubits, message):
    cfg = Config(circuit=circuit, n_qubits=n_qubits)
    with pytest.raises(ValueError, match=message):
        build_head("hybrid", cfg)


def test_a_circuit_that_is_neither_a_family_nor_a_builder_is_refused():
    with pytest.raises(ConfigError, match=r"circuit='ring'.*mari, reuploading"):
        Config(circuit="ring")


def test_a_builder_returning_no_spec_is_refused():
    with pytest.raises(ValueError, match="returned int, not a CircuitSpec"):
        build_user_circuit("builtins:max", PROJECT_ROOT, 3, 1)
    with pytest.raises(ValueError, match=r"builder\(n_qubits, q_depth\) failed"):
        build_user_circuit("builtins:list", PROJECT_ROOT, 3, 1)


def test_depth_zero_drops_the_product_model_only_where_it_is_the_hybrid():
    assert "product" not in Config(q_depth=0).models
    assert "product" in Config(q_depth=0, circuit="real_amplitudes").models  # keeps RY weights


BUILDER = """
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from helpers.quantum.circuits import CircuitSpec

def build(n_qubits, q_depth):
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    circuit = QuantumCircuit(2)
    circuit.ry({encoding}, 0)
    circuit.ry(x[1], 1)
    circuit.cx(0, 1)
    circuit.ry(w[0], 0)
    circuit.ry(w[1], 1)
    return CircuitSpec("file", circuit, tuple(x), tuple(w), (SparsePauliOp("{observable}"),))
"""


def _builder(tmp_path, encoding="x[0]", observable="ZI"):
    path = tmp_path / "mine.py"
    path.write_text(BUILDER.format(encoding=encoding, observable=observable))
    return Config(circuit=f"{path}:build", n_qubits=2)


def test_a_user_circuits_heads_are_keyed_by_what_its_builder_builds(tmp_path):
    before = fingerprint(_builder(tmp_path), "hybrid")
    assert fingerprint(_builder(tmp_path), "hybrid") == before
    assert fingerprint(_builder(tmp_path, encoding="2 * x[0]"), "hybrid") != before  # edited
    assert fingerprint(_builder(tmp_path, observable="IZ"), "product") != fingerprint(
        _builder(tmp_path), "product"
    )


def test_a_circuit_whose_inputs_need_weights_has_no_product_control(tmp_path):
    cfg = _builder(tmp_path, encoding="w[0] * x[0] + 0.1")  # Pérez-Salinas' w·x + θ
    with pytest.raises(ValueError, match=r"inputs x\[0\] enter only through .* leave 'product'"):
        build_head("product", cfg)


def test_notebook_08_refuses_observables_it_cannot_sample_from_one_z_measurement(tmp_path):
    from helpers.analysis.noise import check_device

    cfg = _builder(tmp_path, observable="XI")
    with pytest.raises(ValueError, match="observables of I and Z only"):
        check_device(cfg)
    check_device(_builder(tmp_path, observable="ZZ"))
