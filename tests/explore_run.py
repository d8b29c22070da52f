"""A small finished run for the explorer's tests: the smoke setting, one seed, with what notebooks
04-07 persist for the explorer made by the same calls on smaller grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from helpers.analysis import dream, embedding, landscape
from helpers.analysis.activations import unit_layer
from helpers.analysis.dream import DREAMS_FILE
from helpers.analysis.results import explore_path
from helpers.config import Config, smoke_overrides
from helpers.model.checkpoints import save_run_config
from helpers.model.train import train
from helpers.run.session import NotebookSession

LAYERS = {"hybrid": ["avgpool", "q_out"], "classical": ["avgpool", "h_out"]}
RESOLUTION = 5


def build_explored_run(root: Path) -> Config:
    """Train the smoke models (one seed) under ``root`` and write the explorer's artifacts;
    a run already finished there is reused."""
    settings = {**smoke_overrides(), "seeds": [0], "embedding_images": 48, "perplexity": 5.0}
    cfg = Config(**settings, artifacts_dir=str(root / "artifacts"), cache_dir=str(root / "cache"))
    if (explore_path(cfg) / DREAMS_FILE).is_file():
        return cfg
    torch.set_num_threads(1)
    for kind in cfg.models:
        train(cfg, kind)
    save_run_config(cfg)
    session = NotebookSession(cfg)
    activations = session.activations
    layouts = embedding.embed_layers(activations, "tsne", LAYERS, perplexity=5.0, seed=0)
    embedding.save_layouts(
        cfg, "tsne", layouts, activations
    )  # no UMAP: its compilation takes a minute
    inputs, labels = session.features.train[:64], session.features.train_labels[:64]
    alphas = np.linspace(-1, 1, RESOLUTION)
    centres, directions, quantum = {}, {}, {}
    for kind, head in session.heads.items():
        centres[kind] = landscape.trained_parameters(head)
        quantum[kind] = landscape.quantum_parameters(head)
        directions[kind] = [
            landscape.filter_normalised_direction(centres[kind], session.generator, quantum[kind])
            for _ in range(2)
        ]
        surface = landscape.landscape(
            head, centres[kind], directions[kind], inputs, labels, alphas, alphas, kind=kind
        )
        surface.save(landscape.surface_path(cfg, f"{kind}_2d"))
    landscape.save_directions(cfg, centres, directions, quantum)
    models = session.models
    start, _, _ = session.test_images(1)
    layers = {kind: unit_layer(model, kind) for kind, model in models.items()}
    units = dream.unit_dreams(models, layers, start, steps=2, octaves=1, seed=0)
    dream.save_dreams(cfg, units, start)
    return cfg
