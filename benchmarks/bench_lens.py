"""Time and memory of notebook 09's quantum lens at a real run's size.

``python benchmarks/bench_lens.py [--images 500] [--seeds 5] [--qubits 4] [--depth 5]``: every
step of the lens on ``--images`` test feature vectors (and four times as many training ones, on
which the additive surrogates and the Fisher information are fitted) for ``--seeds`` seeds of
the hybrid, the product and the unentangled controls and the classical twin. The lens works on
cached 512-d backbone features, so its cost does not depend on the image size (224 px costs
what 32 px does). The heads' weights are random, not trained: the cost does not depend on them
either. Prints each step's seconds and the peak resident memory; writes
``benchmarks/results/bench_lens.json``.
"""

from __future__ import annotations

import argparse
import copy
import resource
import time
from functools import partial

import numpy as np
import torch
from _common import add_output_option, machine, write_results

from helpers.analysis.lens.capacity import gradient_variance
from helpers.analysis.lens.capacity_study import effective_dimensions
from helpers.analysis.lens.study import lens_of_head
from helpers.analysis.lens.verdicts import lens_results
from helpers.model.heads import DressedQuantumHead, classical_head
from helpers.quantum.circuits import build_circuit, unentangled


def heads_for(seed: int, n_qubits: int, depth: int) -> dict[str, torch.nn.Module]:
    """The four heads of one seed, weights drawn from ``seed``."""
    torch.manual_seed(seed)
    hybrid = DressedQuantumHead(n_qubits, depth)
    control = DressedQuantumHead(
        n_qubits, depth, circuit=unentangled(build_circuit("mari", n_qubits, depth))
    )
    return {
        "hybrid": hybrid.eval(),
        "product": DressedQuantumHead(n_qubits, 0).eval(),
        "unentangled": control.eval(),
        "classical": classical_head("512_nq_n", n_qubits, 2).eval(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--qubits", type=int, default=4)
    parser.add_argument("--depth", type=int, default=5)
    add_output_option(parser, "bench_lens")
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(args.images, 512, generator=generator)
    fit_features = torch.randn(4 * args.images, 512, generator=generator)
    labels = torch.arange(args.images) % 2
    control = build_circuit("mari", args.qubits, 0)
    heads = {seed: heads_for(seed, args.qubits, args.depth) for seed in range(args.seeds)}
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    study = {
        seed: {kind: lens_of_head(head, copy.deepcopy(head), features, labels, fit_features,
                                  control if kind == "hybrid" else None)
               for kind, head in by_kind.items() if kind != "classical"}
        for seed, by_kind in heads.items()
    }  # fmt: skip
    seconds["function space and states (3 quantum heads per seed)"] = time.perf_counter() - start
    start = time.perf_counter()
    lens_results(study, labels.numpy(), ["a", "b"], 0.05, 0.02, 0.05)
    seconds["verdicts"] = time.perf_counter() - start
    start = time.perf_counter()
    effective_dimensions(heads, fit_features, np.geomspace(1e2, 1e6, 13))
    seconds["effective dimension (4 heads per seed)"] = time.perf_counter() - start
    start = time.perf_counter()
    gradient_variance(partial(build_circuit, "mari", args.qubits), [1, 2, 4, 6, 8], 200, 0)
    seconds["gradient variance (5 depths x 200 draws)"] = time.perf_counter() - start
    seconds["total"] = sum(seconds.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for step, value in seconds.items():
        print(f"{step:55s} {value:7.1f} s")
    print(f"peak resident memory {peak_mb:.0f} MB")
    write_results(
        {"machine": machine(), "arguments": vars(args) | {"output": str(args.output)},
         "seconds": seconds, "peak_resident_mb": peak_mb},
        args.output,
    )  # fmt: skip


if __name__ == "__main__":
    main()
