"""Benchmark the dressed quantum layer, single-threaded: ``python benchmarks/bench_quantum.py``.

1. Forward + backward samples/s of Mari's circuit (4 qubits, depth 6) through ``TorchConnector``
   at several batch sizes, for Qiskit ML's defaults (``EstimatorQNN`` with its default estimator
   and parameter-shift gradient), qiskit-aer's ``EstimatorV2`` (exact, parameter shift) and this
   project's default fast backend.
2. Training time of the hybrid head for 3 epochs on 10,000 cached feature vectors (Mari's
   cats-vs-dogs setting: depth 5, Adam, lr 0.001) at batch 8 and 64.

Slow backends are measured on as many calls as fit in ``--budget`` seconds; a case whose first
call is estimated to exceed the budget is reported as skipped. Results are printed as a table and
written as JSON (default ``benchmarks/results/bench_quantum.json``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from _common import add_output_option, machine, write_results  # noqa: E402
from qiskit_machine_learning.connectors import TorchConnector  # noqa: E402
from qiskit_machine_learning.neural_networks import EstimatorQNN  # noqa: E402

from helpers.config import Config  # noqa: E402
from helpers.model.train import fit  # noqa: E402
from helpers.quantum import QuantumLayer, dressed_circuit  # noqa: E402
from helpers.quantum.layer import z_observables  # noqa: E402

torch.set_num_threads(1)
N_QUBITS, Q_DEPTH = 4, 6
BATCHES = (8, 64, 256, 4096)


def qiskit_default_layer() -> torch.nn.Module:
    """Qiskit ML out of the box: EstimatorQNN's default estimator and gradient."""
    circuit, inputs, weights = dressed_circuit(N_QUBITS, Q_DEPTH)
    qnn = EstimatorQNN(
        circuit=circuit,
        observables=z_observables(N_QUBITS),
        input_params=list(inputs),
        weight_params=list(weights),
        input_gradients=True,
    )
    return TorchConnector(qnn, initial_weights=0.01 * torch.randn(N_QUBITS * Q_DEPTH).numpy())


LAYERS = {
    "qiskit-ml default": qiskit_default_layer,
    "aer EstimatorV2": lambda: QuantumLayer(N_QUBITS, Q_DEPTH, backend="aer"),
    "project fast (default)": lambda: QuantumLayer(N_QUBITS, Q_DEPTH),
}


def samples_per_second(
    layer: torch.nn.Module, batch: int, budget: float, estimate: float | None
) -> float | None:
    """Forward + backward throughput; None when one call would not fit in the budget."""
    if estimate is not None and batch / estimate > budget:
        return None
    angles = torch.rand(batch, N_QUBITS, requires_grad=True)
    layer(angles).sum().backward()  # warm-up (compilation, caches)
    calls, start = 0, time.perf_counter()
    while True:
        layer(angles).sum().backward()
        calls += 1
        elapsed = time.perf_counter() - start
        if (elapsed > min(budget, 2.0) and calls >= 3) or elapsed > budget:
            return calls * batch / elapsed


def training_seconds(batch_size: int, n_samples: int = 10_000, epochs: int = 3) -> float:
    """Wall time of :func:`helpers.model.train.fit`: the hybrid head on random cached features."""
    from helpers.model.backbone import Features
    from helpers.model.heads import build_head

    generator = torch.Generator().manual_seed(0)
    features = Features(
        torch.rand(n_samples, 512, generator=generator),
        torch.randint(0, 2, (n_samples,), generator=generator),
        torch.rand(1000, 512, generator=generator),
        torch.randint(0, 2, (1000,), generator=generator),
        ["cat", "dog"],
    )
    cfg = Config(q_depth=5, epochs=epochs, batch_size=batch_size, lr=0.001)
    torch.manual_seed(0)
    head = build_head("hybrid", cfg)
    return fit(head, features, cfg)[3]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per case at most")
    add_output_option(parser, "bench_quantum")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    results: dict = {
        "machine": machine(),
        "throughput": {},
        "training": {},
    }
    print(f"Forward + backward samples/s, {N_QUBITS} qubits, depth {Q_DEPTH}, single thread")
    print(f"{'backend':<24}" + "".join(f"{f'batch {b}':>14}" for b in BATCHES))
    for name, make in LAYERS.items():
        torch.manual_seed(0)
        layer = make()
        row, estimate = {}, None
        for batch in BATCHES:
            rate = samples_per_second(layer, batch, args.budget, estimate)
            row[batch] = rate
            estimate = rate if rate is not None else estimate
        results["throughput"][name] = row
        cells = "".join(f"{rate:>14,.0f}" if rate else f"{'skipped':>14}" for rate in row.values())
        print(f"{name:<24}{cells}", flush=True)
    if not args.skip_training:
        print("\nHybrid head, 3 epochs on 10,000 cached feature vectors (depth 5)")
        for batch_size in (8, 64):
            seconds = training_seconds(batch_size)
            results["training"][f"batch {batch_size}"] = seconds
            print(f"batch {batch_size:>3}: {seconds:6.1f} s", flush=True)
    write_results(results, args.output)


if __name__ == "__main__":
    main()
