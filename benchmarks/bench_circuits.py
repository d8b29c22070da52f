"""Speed of every circuit family's quantum layer beside PennyLane on the same circuit.

``python benchmarks/bench_circuits.py [--qubits 4 6] [--depth 6] [--families NAME ...]``,
single-threaded: forward + backward samples/s of each family (default: all;
:mod:`helpers.quantum.circuits`) through Qiskit ML's ``TorchConnector`` with this project's fast
backend, and of the same circuit as a PennyLane ``default.qubit`` QNode (backprop, inputs
broadcast over the batch, weights passed once; gate by gate from the Qiskit circuit) when
PennyLane is installed (``pip install -e '.[bench]'``; it is not a runtime dependency), checked
to give the same outputs and input gradients first. Each cell is the median of three
measurements alternating between the two. PennyLane computes in complex128; the fast simulator
in float64 where every gate keeps amplitudes real (all families but ``efficient_su2``), which is
part of its lead. Results are printed and written as JSON (default
``benchmarks/results/bench_circuits.json``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import torch  # noqa: E402
from _common import add_output_option, machine, write_results  # noqa: E402

from helpers.quantum import QuantumLayer  # noqa: E402
from helpers.quantum.circuits import FAMILIES, CircuitSpec, build_circuit  # noqa: E402
from helpers.quantum.operators import affine_angle  # noqa: E402

torch.set_num_threads(1)
BATCHES = (256, 4096)
REPEATS = 3
PENNYLANE_GATES = {"h": "Hadamard", "ry": "RY", "rz": "RZ", "rx": "RX", "cx": "CNOT"}


def project_layer(spec: CircuitSpec) -> torch.nn.Module:
    """The family's circuit as the project's ``QuantumLayer`` (fast backend)."""
    return QuantumLayer(circuit=spec, initial_weights=0.1 * torch.randn(len(spec.weights)))


def pennylane_layer(
    spec: CircuitSpec, weights: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The same circuit as a PennyLane QNode (``default.qubit``, backprop, broadcast) with
    ``weights``, gate by gate; None when PennyLane is not installed."""
    try:
        import pennylane as qml
    except ImportError:
        return None
    parameters = [*spec.inputs, *spec.weights]
    n_inputs = len(spec.inputs)
    weights = torch.nn.Parameter(weights.clone().double())
    gates = []
    for item in spec.circuit.data:
        name = item.operation.name
        if name not in PENNYLANE_GATES:
            raise ValueError(f"gate {name!r} has no PennyLane counterpart in this benchmark")
        wires = [spec.circuit.find_bit(qubit).index for qubit in item.qubits]
        params = item.operation.params
        angle = affine_angle(params[0], parameters) if params else None
        gates.append((getattr(qml, PENNYLANE_GATES[name]), wires, angle))
    observables = [
        qml.PauliZ(spec.n_qubits - 1 - label.index("Z"))  # Qiskit's labels are little-endian
        for label in (observable.paulis[0].to_label() for observable in spec.observables)
    ]
    device = qml.device("default.qubit", wires=spec.n_qubits)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(inputs: torch.Tensor) -> list:
        # inputs broadcast over the batch; each weight passed once, as a TorchLayer does
        values = [*inputs.T, *weights]
        for gate, wires, angle in gates:
            if angle is None:
                gate(wires=wires)
            else:
                index, coeff, offset = angle
                gate(coeff * values[index] + offset if index >= 0 else offset, wires=wires)
        return [qml.expval(observable) for observable in observables]

    def layer(inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack(circuit(inputs[:, :n_inputs]), dim=1)

    return layer


def samples_per_second(layer: Callable[[torch.Tensor], torch.Tensor], n_inputs: int, batch: int):
    """Forward + backward throughput (at least 3 calls and 2 s after a warm-up call)."""
    angles = torch.rand(batch, n_inputs, dtype=torch.float64, requires_grad=True)
    layer(angles).sum().backward()
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < 2.0:
        layer(angles).sum().backward()
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def check_same_function(layers: list[Callable[[torch.Tensor], torch.Tensor]], n_inputs: int):
    """Both layers give the same outputs and input gradients (1e-6) on random probes."""
    probe = torch.rand(8, n_inputs, dtype=torch.float64, requires_grad=True)
    found = []
    for layer in layers:
        outputs = layer(probe).double()
        found.append(
            (
                outputs,
                *torch.autograd.grad(
                    (outputs * torch.arange(1.0, 1 + outputs.shape[1])).sum(), probe
                ),
            )
        )
    for got, want in zip(*found, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def interleaved_medians(
    layers: dict[str, Callable[[torch.Tensor], torch.Tensor] | None], n_inputs: int, batch: int
) -> tuple[float, float | None]:
    """Median samples/s of the fast layer and of PennyLane's (None without it) over
    :data:`REPEATS` alternating measurements, so that both see the same machine load."""
    runs: dict[str, list[float]] = {"fast": [], "pennylane": []}
    for _ in range(REPEATS):
        for name, layer in layers.items():
            if layer is not None:
                runs[name].append(samples_per_second(layer, n_inputs, batch))
    reference = statistics.median(runs["pennylane"]) if runs["pennylane"] else None
    return statistics.median(runs["fast"]), reference


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 6])
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument(
        "--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES), metavar="NAME"
    )
    add_output_option(parser, "bench_circuits")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "depth": args.depth, "rows": []}
    print(f"Forward + backward samples/s, depth {args.depth}, single thread")
    print(f"{'family':<18}{'qubits':>7}" + "".join(
        f"{f'fast {b}':>12}{f'PennyLane {b}':>16}{'ratio':>8}" for b in BATCHES))  # fmt: skip
    for family in args.families:
        for n_qubits in args.qubits:
            spec = build_circuit(family, n_qubits, args.depth)
            torch.manual_seed(0)
            fast = project_layer(spec)
            layers = {"fast": fast, "pennylane": pennylane_layer(spec, fast.weight.detach())}
            if layers["pennylane"] is not None:
                check_same_function(list(layers.values()), len(spec.inputs))
            row = {"family": family, "qubits": n_qubits}
            cells = ""
            for batch in BATCHES:
                fast, reference = interleaved_medians(layers, len(spec.inputs), batch)
                ratio = fast / reference if reference else None
                row[f"batch {batch}"] = {"fast": fast, "pennylane": reference, "ratio": ratio}
                cells += f"{fast:>12,.0f}" + (
                    f"{reference:>16,.0f}{ratio:>8.1f}" if reference else f"{'–':>16}{'–':>8}"
                )
            results["rows"].append(row)
            print(f"{family:<18}{n_qubits:>7}{cells}", flush=True)
    write_results(results, args.output)


if __name__ == "__main__":
    main()
