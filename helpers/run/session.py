"""The notebooks' one-line setup: ``run = setup(globals())``.

A notebook's ``parameters`` cell declares only the parameters that notebook uses; everything else
comes from the run it continues (``<artifacts_dir>/config.json``, written by training), so a user
who set parameters in 01 does not repeat them in 02-08. Papermill injects every parameter of a
pipeline run, so headless runs are fully specified. The session then loads what the notebook asks
for, once: the splits, the cached features, the trained models, the captured activations.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from helpers.analysis.activations import Activations, cached_activations
from helpers.config import Config, set_seed
from helpers.model.backbone import Features, cached_features
from helpers.model.checkpoints import load_trained_models
from helpers.model.data import Splits, balanced_indices, dataset_images, load_splits
from helpers.model.heads import TransferModel


class Session:
    """A notebook's configuration and, loaded on first use, its data and trained models."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.generator = set_seed(cfg.seed)

    @functools.cached_property
    def splits(self) -> Splits:
        return load_splits(self.cfg)

    @functools.cached_property
    def features(self) -> Features:
        return cached_features(self.cfg)

    @functools.cached_property
    def models(self) -> dict[str, TransferModel]:
        """Both trained heads on one frozen backbone (images -> logits), keyed by kind."""
        return load_trained_models(self.cfg)

    @property
    def heads(self) -> dict[str, nn.Module]:
        return {kind: model.head for kind, model in self.models.items()}

    @property
    def backbone(self) -> nn.Module:
        return self.models["hybrid"].backbone

    def balanced(self, n: int) -> list[int]:
        """``n`` validation indices with balanced classes, drawn with the run's seed."""
        return balanced_indices(self.splits.val.targets, n, seed=self.cfg.seed)

    def validation_images(self, n: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Images, labels and indices of :meth:`balanced` validation samples."""
        indices = self.balanced(n)
        images, labels = dataset_images(self.splits.val, indices)
        return images, labels, indices

    def object_masks(self, indices: list[int]) -> torch.Tensor | None:
        """Ground-truth object masks of validation samples (synthetic data), else None."""
        masks = getattr(self.splits.val, "masks", None)
        return None if masks is None else masks[indices]

    def validation_features(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Cached backbone features and labels of ``n`` balanced validation samples."""
        features = self.features
        chosen = balanced_indices(features.val_labels, n, seed=self.cfg.seed)
        return features.val[chosen], features.val_labels[chosen]

    @functools.cached_property
    def activations(self) -> Activations:
        """Every named layer of both models for ``embedding_images`` validation images (cached
        on disk, shared by notebooks 04 and 05)."""
        indices = self.balanced(self.cfg.embedding_images)
        return cached_activations(
            self.cfg, self.backbone, self.heads, self.splits.val, indices, split="val"
        )


def setup(namespace: Mapping[str, Any]) -> Session:
    """The session of a notebook from its globals (see the module docstring)."""
    return Session(Config.for_notebook(namespace))
