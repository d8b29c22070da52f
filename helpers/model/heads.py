"""Classification heads on 512-d backbone features, and the full transfer-learning model.

Named submodules are the hook points of the analyses: ``pre_net`` (Linear 512 -> n), ``encode``
(q_in = tanh * pi/2), ``q_layer`` (q_out = <Z_j>), ``activation`` (the classical twin's hidden
layer) and ``post_net`` (logits).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict

import torch
from torch import nn

from helpers import fingerprints
from helpers.config import CIRCUIT_FAMILIES, DEFAULT_Q_DEPTH, MODELS, PROJECT_ROOT, Config
from helpers.model.backbone import FEATURE_DIM
from helpers.quantum import QuantumLayer
from helpers.quantum.circuits import (
    CircuitSpec,
    build_circuit,
    build_user_circuit,
    product_control,
    unentangled,
)


class AngleEncoding(nn.Module):
    """``tanh(x) * pi/2``: Mari's map from pre_net outputs to rotation angles in (-pi/2, pi/2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) * (math.pi / 2)


def classical_head(name: str, n_qubits: int, n_classes: int) -> nn.Sequential:
    """Mari's classical heads: ``512_n``, ``512_nq_n`` (the 4-qubit head's twin), ``551_512_n``."""
    layers = {
        "512_n": [("post_net", nn.Linear(FEATURE_DIM, n_classes))],
        "512_nq_n": [
            ("pre_net", nn.Linear(FEATURE_DIM, n_qubits)),
            ("activation", nn.ReLU()),
            ("post_net", nn.Linear(n_qubits, n_classes)),
        ],
        "551_512_n": [
            ("pre_net", nn.Linear(FEATURE_DIM, FEATURE_DIM)),
            ("activation", nn.ReLU()),
            ("post_net", nn.Linear(FEATURE_DIM, n_classes)),
        ],
    }
    if name not in layers:
        raise ValueError(f"classical head {name!r} is unknown; use one of {sorted(layers)}.")
    return nn.Sequential(OrderedDict(layers[name]))


class DressedQuantumHead(nn.Module):
    """Mari's dressed quantum circuit: Linear(512, n) -> tanh*pi/2 -> circuit -> Linear(n, C).

    With ``circuit`` (any :class:`~helpers.quantum.circuits.CircuitSpec`) the pre-net has one
    output per circuit input and the post-net one input per observable; ``n_qubits`` and
    ``q_depth`` are then ignored.
    """

    def __init__(
        self,
        n_qubits: int = 4,
        q_depth: int = DEFAULT_Q_DEPTH,
        n_classes: int = 2,
        *,
        q_delta: float = 0.01,
        backend: str = "fast",
        circuit: CircuitSpec | None = None,
        **layer_options: object,
    ) -> None:
        super().__init__()
        n_inputs, n_outputs = (n_qubits, n_qubits)
        if circuit is not None:
            n_inputs, n_outputs = len(circuit.inputs), len(circuit.observables)
        self.pre_net = nn.Linear(FEATURE_DIM, n_inputs)
        self.encode = AngleEncoding()
        self.q_layer = QuantumLayer(
            n_qubits, q_depth, q_delta=q_delta, backend=backend, circuit=circuit, **layer_options
        )
        self.post_net = nn.Linear(n_outputs, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.post_net(self.q_layer(self.encode(self.pre_net(features))))


def configured_circuit(cfg: Config, q_depth: int | None = None) -> CircuitSpec:
    """The hybrid's circuit: the family ``cfg.circuit`` (or the user circuit it names, see
    :func:`~helpers.quantum.circuits.build_user_circuit`) on ``n_qubits`` at ``q_depth``.

    Args:
        cfg: The run's configuration.
        q_depth: Another depth than ``cfg.q_depth`` (the product control's 0).

    Returns:
        The :class:`~helpers.quantum.circuits.CircuitSpec`.

    Example:
        >>> configured_circuit(Config(circuit="reuploading", n_qubits=3, q_depth=2)).name
        'reuploading'
    """
    depth = cfg.q_depth if q_depth is None else q_depth
    if cfg.circuit in CIRCUIT_FAMILIES:
        return build_circuit(cfg.circuit, cfg.n_qubits, depth)
    return build_user_circuit(cfg.circuit, PROJECT_ROOT, cfg.n_qubits, depth)


def model_circuit(kind: str, cfg: Config) -> CircuitSpec:
    """The circuit of a quantum model: the hybrid's (:func:`configured_circuit`), its product
    control or its unentangled control (no multi-qubit gates, weights kept).

    The product control is the encoding alone (no multi-qubit gates, no weights) of the circuit
    at depth 0: Mari's and re-uploading's −sin(x_j), the library ansätze's cos(x_j), a user
    builder's circuit at ``q_depth`` 0.

    Args:
        kind: ``"hybrid"``, ``"product"`` or ``"unentangled"``.
        cfg: The run's configuration (its ``circuit``, ``n_qubits`` and ``q_depth``).

    Returns:
        The model's :class:`CircuitSpec`.

    Example:
        >>> len(model_circuit("product", Config(circuit="reuploading", q_depth=3)).weights)
        0
    """
    if kind == "product":
        return product_control(configured_circuit(cfg, q_depth=0))
    spec = configured_circuit(cfg)
    controls = {"hybrid": lambda s: s, "product": product_control, "unentangled": unentangled}
    return controls[kind](spec)


def circuit_digest(cfg: Config, kind: str) -> str:
    """A user circuit's model by content: its gates, parameters and observables, so an edited
    builder, or a depth that changes what it builds, never loads another circuit's head."""
    try:
        spec = model_circuit(kind, cfg)
    except ValueError as exc:  # said in preflight; the key only has to differ
        return f"unbuildable:{exc}"
    gates = [
        (item.operation.name, [spec.circuit.find_bit(q).index for q in item.qubits],
         [str(angle) for angle in item.operation.params])
        for item in spec.circuit.data
    ]  # fmt: skip
    described = {
        "gates": gates,
        "inputs": [p.name for p in spec.inputs],
        "weights": [p.name for p in spec.weights],
        "observables": [str(o) for o in spec.observables],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


fingerprints.circuit_digest = circuit_digest


def build_head(kind: str, cfg: Config) -> nn.Module:
    """A freshly initialised head of ``kind`` (one of :data:`~helpers.config.MODELS`) for ``cfg``.

    Args:
        kind: ``"classical"`` (the twin, ``n_qubits`` hidden units) or a quantum model.
        cfg: The run's configuration.

    Returns:
        The head: a classical one, or a :class:`DressedQuantumHead` on :func:`model_circuit`.

    Example:
        >>> build_head("unentangled", Config(n_qubits=3, q_depth=2)).q_layer.n_outputs
        3
    """
    if kind == "classical":
        return classical_head(cfg.classical_head, cfg.n_qubits, cfg.n_classes)
    if kind in ("hybrid", "product", "unentangled"):
        depth = 0 if kind == "product" else cfg.q_depth
        return DressedQuantumHead(
            cfg.n_qubits, depth, cfg.n_classes, q_delta=cfg.q_delta, backend=cfg.backend,
            circuit=model_circuit(kind, cfg),
        )  # fmt: skip
    raise ValueError(f"kind={kind!r} is unknown; use one of {MODELS}.")


class TransferModel(nn.Module):
    """Frozen backbone followed by a head: images -> logits."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits on ``images``' device; the backbone and the head may sit on other devices
        (e.g. the backbone on a GPU, the head beside the quantum simulator on the CPU)."""
        features = self.backbone(images.to(module_device(self.backbone)))
        return self.head(features.to(module_device(self.head))).to(images.device)


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's parameters (the CPU for a module without any)."""
    return next(module.parameters(), torch.empty(0)).device
