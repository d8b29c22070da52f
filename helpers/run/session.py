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

from helpers.analysis.activations import (
    Activations,
    cached_activations,
    head_activations,
    head_outputs,
)
from helpers.config import Config, set_seed
from helpers.model.backbone import Features, cached_features, load_backbone
from helpers.model.checkpoints import load_models_by_seed
from helpers.model.data import Splits, balanced_indices, dataset_images, load_splits
from helpers.model.device import run_device
from helpers.model.heads import TransferModel


class NotebookSession:
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
    def models_by_seed(self) -> dict[int, dict[str, TransferModel]]:
        """Every trained model of ``cfg.models`` for every seed on one frozen backbone
        (images -> logits), keyed [seed][kind]."""
        backbone = load_backbone(self.cfg.weights_source, self.cfg.seed).to(self.device)
        return load_models_by_seed(self.cfg, backbone)

    @functools.cached_property
    def device(self) -> torch.device:
        """Where the backbone runs (``cfg.device``); the heads stay on the CPU, beside the
        quantum layer's simulator, and features cross to them."""
        return run_device(self.cfg)

    @property
    def models(self) -> dict[str, TransferModel]:
        """The first seed's models, keyed by kind: the ones figures show."""
        return self.models_by_seed[self.cfg.seeds[0]]

    @property
    def heads(self) -> dict[str, nn.Module]:
        return {kind: model.head for kind, model in self.models.items()}

    @property
    def heads_by_seed(self) -> dict[int, dict[str, nn.Module]]:
        return {
            seed: {kind: model.head for kind, model in models.items()}
            for seed, models in self.models_by_seed.items()
        }

    @property
    def backbone(self) -> nn.Module:
        return next(iter(self.models.values())).backbone

    def balanced(self, n: int) -> list[int]:
        """``n`` test indices with balanced classes, drawn with the run's seed."""
        return balanced_indices(self.splits.test.targets, n, seed=self.cfg.seed)

    def test_images(self, n: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Images, labels and indices of :meth:`balanced` test samples.

        Args:
            n: How many test images (balanced classes, drawn with the run's seed).

        Returns:
            Normalised images ``(n, 3, H, W)``, labels ``(n,)`` and their test-split indices.

        Example:
            >>> images, labels, indices = session.test_images(16)  # doctest: +SKIP
        """
        indices = self.balanced(n)
        images, labels = dataset_images(self.splits.test, indices)
        return images, labels, indices

    def object_masks(self, indices: list[int]) -> torch.Tensor | None:
        """Ground-truth object masks of test samples (synthetic data), else None.

        Args:
            indices: Test-split indices (e.g. from :meth:`test_images`).

        Returns:
            Boolean masks ``(k, H, W)``, True on the object, or None without masks.

        Example:
            >>> masks = session.object_masks(indices)  # doctest: +SKIP
        """
        masks = getattr(self.splits.test, "masks", None)
        return None if masks is None else masks[indices]

    def test_features(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Cached backbone features and labels of ``n`` balanced test samples.

        Args:
            n: How many test samples (balanced classes, drawn with the run's seed).

        Returns:
            Features ``(n, 512)`` and labels ``(n,)``.

        Example:
            >>> inputs, labels = session.test_features(500)  # doctest: +SKIP
        """
        features = self.features
        chosen = balanced_indices(features.test_labels, n, seed=self.cfg.seed)
        return features.test[chosen], features.test_labels[chosen]

    @functools.cached_property
    def activations(self) -> Activations:
        """Every named layer of the first seed's models for ``embedding_images`` test images
        (cached on disk, shared by notebooks 04 and 05)."""
        indices = self.balanced(self.cfg.embedding_images)
        return cached_activations(
            self.cfg, self.backbone, self.heads, self.splits.test, indices, split="test"
        )

    def activations_of(self, seed: int) -> Activations:
        """:attr:`activations` with the head layers of ``seed``'s models (the backbone's are
        shared: the heads run on the captured avgpool features).

        Args:
            seed: A seed of ``cfg.seeds``.

        Returns:
            The same images' activations, with that seed's head layers.

        Example:
            >>> per_seed = {s: session.activations_of(s) for s in cfg.seeds}  # doctest: +SKIP
        """
        return head_activations(self.activations, self.heads_by_seed[seed])

    def reference_activations_of(self, seed: int) -> Activations:
        """The head layers of ``seed``'s models on the training images (no backbone layers):
        the fixed reference a test image's k-NN prediction is made against.

        Args:
            seed: A seed of ``cfg.seeds``.

        Returns:
            The training images' head activations, with their labels.

        Example:
            >>> reference = session.reference_activations_of(cfg.seeds[0])  # doctest: +SKIP
        """
        features = self.features
        with torch.no_grad():
            layers = {
                kind: head_outputs(head, kind, features.train)
                for kind, head in self.heads_by_seed[seed].items()
            }
        indices = list(range(len(features.train)))
        return Activations({"backbone": {}, **layers}, features.train_labels, indices)


def setup(namespace: Mapping[str, Any]) -> NotebookSession:
    """The session of a notebook from its globals (see the module docstring).

    Args:
        namespace: The notebook's globals: its parameters cell's values (and papermill's).

    Returns:
        The :class:`NotebookSession`, with the run's configuration and seeded generator.

    Example:
        >>> session = setup(globals())  # doctest: +SKIP
        >>> cfg = session.cfg  # doctest: +SKIP
    """
    return NotebookSession(Config.for_notebook(namespace))
