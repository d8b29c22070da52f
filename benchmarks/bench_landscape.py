"""Benchmark loss-landscape grids: ``python benchmarks/bench_landscape.py [--resolution 51]``.

Times a ``resolution`` x ``resolution`` grid of the loss over two filter-normalised directions
for the hybrid head (Mari's dressed circuit, 4 qubits, depth 5) and the classical twin
``512_nq_n``, on ``--samples`` cached-feature-sized vectors (512-d), the Hessian's top
eigenvalue by power iteration, and adaptive sharpness (32 antithetic pairs of directions; with
the circuit angles held fixed, the sharpness verdict, and with them moved, exploratory) with its
invariance check on the function-preserving reparametrisations (the softmax shift included).
Results are printed and written as JSON (default
``benchmarks/results/bench_landscape.json``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import add_output_option, machine, write_results

from helpers.analysis import landscape
from helpers.analysis.landscape.invariant import adaptive_sharpness
from helpers.analysis.landscape.sharpness import invariance_report, top_hessian_eigenvalue
from helpers.model.heads import DressedQuantumHead, classical_head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=51)
    parser.add_argument("--samples", type=int, default=1000)
    add_output_option(parser, "bench_landscape")
    args = parser.parse_args()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(args.samples, 512).relu()
    labels = torch.randint(0, 2, (args.samples,), generator=generator)
    heads = {"hybrid": DressedQuantumHead(4, 5, 2), "classical": classical_head("512_nq_n", 4, 2)}
    alphas = np.linspace(-1, 1, args.resolution)
    result: dict[str, object] = {
        "resolution": args.resolution,
        "samples": args.samples,
        "machine": machine(),
    }
    for kind, head in heads.items():
        centre = landscape.trained_parameters(head)
        quantum = landscape.quantum_parameters(head)
        directions = [
            landscape.filter_normalised_direction(centre, generator, quantum) for _ in range(2)
        ]
        start = time.perf_counter()
        landscape.landscape(
            head, centre, directions, features, labels, alphas, alphas, progress=False
        )
        grid_seconds = time.perf_counter() - start
        start = time.perf_counter()
        _, iterations = top_hessian_eigenvalue(head, features, labels, generator)
        hessian_seconds = time.perf_counter() - start
        start = time.perf_counter()
        adaptive_sharpness(head, features, labels, generator, angles=False)
        fixed_seconds = time.perf_counter() - start
        start = time.perf_counter()
        adaptive_sharpness(head, features, labels, generator)
        adaptive_seconds = time.perf_counter() - start
        start = time.perf_counter()
        invariance_report(head, features, labels, seed=0)
        result[kind] = {
            "grid_s": round(grid_seconds, 2),
            "points_per_s": round(args.resolution**2 / grid_seconds, 1),
            "hessian_s": round(hessian_seconds, 2),
            "hessian_iterations": iterations,
            "adaptive_sharpness_fixed_angles_s": round(fixed_seconds, 2),
            "adaptive_sharpness_s": round(adaptive_seconds, 2),
            "invariance_check_s": round(time.perf_counter() - start, 2),
        }
        print(f"{kind:>9}: {result[kind]}")
    write_results(result, args.output)


if __name__ == "__main__":
    main()
