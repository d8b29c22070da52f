"""Benchmark notebook 04's analysis: ``python benchmarks/bench_embedding.py [--images 500]``.

Times, for N validation images: capturing the activations of every layer (done once, then
cached), and the analysis the notebook runs on them: t-SNE of the 7 shared backbone layers and
the 3 + 3 head layers, k-NN accuracy, silhouette and trustworthiness of all 20 (model, layer)
pairs, and the figures. Images are synthetic at ``--image-size`` px (the analysis cost depends on
N and on the pooled layer sizes, at most 4,096 values per image, not on the pixels). Results are
printed and written as JSON (default ``benchmarks/results/bench_embedding.json``).
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import add_output_option, machine, write_results

from helpers.analysis import embedding
from helpers.analysis.activations import Activations, capture
from helpers.model.backbone import load_backbone
from helpers.model.data import SYNTHETIC_CLASSES, SyntheticObjects
from helpers.model.heads import DressedQuantumHead, classical_head
from helpers.present import embedding as draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--perplexity", type=float, default=30.0)
    add_output_option(parser, "bench_embedding")
    args = parser.parse_args()
    torch.manual_seed(0)
    backbone = load_backbone("none", seed=0)
    heads = {"hybrid": DressedQuantumHead(4, 5, 2), "classical": classical_head("512_nq_n", 4, 2)}
    dataset = SyntheticObjects(args.images, args.image_size, seed=0)
    timings = {}

    start = time.perf_counter()
    layers, labels = capture(backbone, heads, dataset)
    timings["capture_s"] = time.perf_counter() - start
    acts = Activations(layers, labels, list(range(args.images)))

    start = time.perf_counter()
    layouts = embedding.embed_layers(acts, "tsne", perplexity=args.perplexity, seed=0)
    timings["tsne_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = embedding.separability_table(acts, layouts)
    timings["metrics_s"] = time.perf_counter() - start
    start = time.perf_counter()
    draw.plot_layouts(layouts, labels, SYNTHETIC_CLASSES, "t-SNE")
    draw.plot_separability(rows, "separability")
    draw.plot_unit_pairs(layers["hybrid"]["q_out"], labels, SYNTHETIC_CLASSES, "q", "pairs")
    timings["figures_s"] = time.perf_counter() - start
    timings["analysis_s"] = timings["tsne_s"] + timings["metrics_s"] + timings["figures_s"]

    result = {
        "images": args.images,
        "image_size": args.image_size,
        "machine": machine(),
        **{name: round(value, 2) for name, value in timings.items()},
    }
    for name, value in result.items():
        print(f"{name:>12}: {value}")
    write_results(result, args.output)


if __name__ == "__main__":
    main()
