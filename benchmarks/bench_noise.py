"""Benchmark notebook 08's evaluations: ``python benchmarks/bench_noise.py [--run DIR/artifacts]``.

Times one evaluation of the hybrid head on a whole test split in each of notebook 08's settings
(sampled shots, device noise exact and with shots, + M3, + M3 + ZNE) at ``--shots`` per image on
the fake device ``--device``. With ``--run``, the trained hybrid head (first seed) and the test
split of that run (its ``artifacts_dir``); without, a random head (4 qubits, depth 5) on
``--images`` random feature vectors. The time includes building the layer (transpiling, the
noise model) and, for M3, its calibration (+ M3 + ZNE: every gate folded to noise factors 1, 3
and 5, rescheduled). Last, the noise factors the folding reaches on this head's circuit
(``noise.zne_noise_factors`` on 16 images) and their time. Results are printed and written as
JSON (default ``benchmarks/results/bench_noise.json``).
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import add_output_option, machine, write_results

from helpers.analysis import noise
from helpers.model.heads import DressedQuantumHead


def _head_and_features(args: argparse.Namespace) -> tuple[DressedQuantumHead, torch.Tensor]:
    if args.run is None:
        torch.manual_seed(0)
        return DressedQuantumHead(4, 5, 2), torch.randn(args.images, 512).relu()
    from helpers.config import Config
    from helpers.model.backbone import cached_features
    from helpers.model.checkpoints import load_trained_head

    cfg = Config.for_notebook({"artifacts_dir": args.run})
    head, _ = load_trained_head(cfg, "hybrid")
    return head, cached_features(cfg).test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a trained run's artifacts_dir")
    parser.add_argument("--images", type=int, default=201)
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--device", default="FakeManilaV2")
    add_output_option(parser, "bench_noise")
    args = parser.parse_args()
    torch.set_num_threads(1)
    head, features = _head_and_features(args)
    device = noise.fake_device(args.device)
    result: dict[str, object] = {
        "images": len(features),
        "shots": args.shots,
        "device": args.device,
        "run": args.run,
        "machine": machine(),
    }
    for name, setting in noise.SETTINGS.items():
        start = time.perf_counter()
        evaluated = noise.with_quantum_backend(
            head,
            args.shots if setting.sampled else None,
            seed=0,
            target=device if setting.noisy else None,
            mitigation=setting.mitigation,
        )
        with torch.no_grad():
            evaluated(features)
        seconds = time.perf_counter() - start
        result[name] = {
            "seconds": round(seconds, 2),
            "images_per_s": round(len(features) / seconds),
        }
        print(f"{name:>22}: {result[name]}")
    start = time.perf_counter()
    factors = noise.zne_noise_factors(head, features[:16], device)
    result["zne noise factors"] = {
        "measured": {str(f): round(v, 3) for f, v in factors.items()},
        "seconds": round(time.perf_counter() - start, 2),
    }
    print(f"{'zne noise factors':>22}: {result['zne noise factors']}")
    write_results(result, args.output)


if __name__ == "__main__":
    main()
