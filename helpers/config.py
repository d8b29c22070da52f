"""One dataclass of experiment parameters, shared by every notebook and the pipeline."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DATASETS = ("cifar10", "imagefolder", "synthetic")
CLASSICAL_HEADS = ("512_n", "512_nq_n", "551_512_n")

# What `--smoke` changes: synthetic data, random weights, small images, one short epoch.
SMOKE_OVERRIDES: dict[str, Any] = {
    "smoke": True,
    "dataset": "synthetic",
    "classes": ["red", "blue"],
    "weights": "none",
    "image_size": 32,
    "resize_size": 32,
    "epochs": 1,
    "batch_size": 8,
    "lr": 0.003,
    "saliency_images": 16,
    "embedding_images": 128,
    "perplexity": 10.0,
    "landscape_resolution": 11,
    "landscape_samples": 256,
    "dream_steps": 10,
    "dream_octaves": 2,
    "shots": [64, 1024],
    "shot_repeats": 2,
    "noise_images": 64,
}


@dataclasses.dataclass
class Config:
    """Experiment parameters; the names are those of every notebook's ``parameters`` cell.

    Defaults reproduce Mari et al.'s CIFAR-10 cats-vs-dogs setting (arXiv:1912.08278).
    """

    dataset: str = "cifar10"  # cifar10 | imagefolder | synthetic
    classes: list[str] = dataclasses.field(default_factory=lambda: ["cat", "dog"])
    data_dir: str = "data"  # CIFAR-10 download folder, or an ImageFolder root with train/ val/
    weights: str = "imagenet"  # imagenet | none | path to a ResNet18 state dict
    image_size: int = 224  # centre-crop size fed to the backbone
    resize_size: int = 0  # resize before cropping; 0 means Mari's 256/224 ratio
    n_qubits: int = 4
    q_depth: int = 5  # Mari: 6 ants/bees, 5 cats/dogs, 4 planes/cars
    q_delta: float = 0.01  # spread of the initial circuit weights
    epochs: int = 3
    batch_size: int = 8
    lr: float = 0.001
    lr_step: int = 10  # StepLR step size (epochs)
    lr_gamma: float = 1.0  # Mari's gamma_lr_scheduler; 1.0 keeps the rate constant
    classical_head: str = "512_nq_n"  # Mari's classical twins: 512_n | 512_nq_n | 551_512_n
    backend: str = "fast"  # quantum backend: fast | reference | aer
    seed: int = 0
    saliency_images: int = 64  # validation images scored by notebook 03
    user_image: str = ""  # a photo to explain in notebook 03; empty: a validation image
    embedding_images: int = 500  # validation images embedded by notebooks 04 and 05
    perplexity: float = 30.0  # t-SNE perplexity (notebook 04)
    umap_metric: str = "euclidean"  # UMAP distance in notebook 05: euclidean | cosine | ...
    landscape_resolution: int = 51  # grid points per direction (notebook 06)
    landscape_samples: int = 1000  # cached feature vectors the landscape loss averages over
    dream_steps: int = 20  # gradient-ascent steps per octave (notebook 07)
    dream_octaves: int = 3  # image scales of a dream, smallest first
    shots: list[int] = dataclasses.field(default_factory=lambda: [64, 256, 1024, 8192])
    shot_repeats: int = 5  # repeated finite-shot evaluations per setting (notebook 08)
    noise_device: str = "FakeManilaV2"  # qiskit-ibm-runtime fake device whose noise is simulated
    noise_images: int = 500  # validation images evaluated with shots and noise
    artifacts_dir: str = "artifacts"
    cache_dir: str = "data/features"  # extracted backbone features
    smoke: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.classes, str):
            self.classes = [name.strip() for name in self.classes.split(",") if name.strip()]
        self.classes = list(self.classes)
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the offending parameter and its valid values."""
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset={self.dataset!r} is unknown; use one of {DATASETS}.")
        if self.classical_head not in CLASSICAL_HEADS:
            raise ValueError(
                f"classical_head={self.classical_head!r} is unknown; use one of {CLASSICAL_HEADS}."
            )
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes={self.classes!r}: give two or more distinct class names.")
        positive = (
            "image_size",
            "n_qubits",
            "epochs",
            "batch_size",
            "lr_step",
            "saliency_images",
            "embedding_images",
            "landscape_resolution",
            "landscape_samples",
            "dream_steps",
            "dream_octaves",
            "shot_repeats",
            "noise_images",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be a positive integer.")
        if self.q_depth < 0:
            raise ValueError(f"q_depth={self.q_depth!r} must be >= 0.")
        if self.lr <= 0:
            raise ValueError(f"lr={self.lr!r} must be positive.")
        if not self.shots or any(int(n) < 1 for n in self.shots):
            raise ValueError(f"shots={self.shots!r}: give a list of positive shot counts.")
        if self.perplexity <= 0:
            raise ValueError(f"perplexity={self.perplexity!r} must be positive (typically 5-50).")

    # ----------------------------------------------------------------- construction
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> Config:
        """Build from a notebook's globals (the parameters cell), ignoring everything else."""
        return cls(**{name: namespace[name] for name in cls.field_names() if name in namespace})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    # ----------------------------------------------------------------- derived values
    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def resize(self) -> int:
        """Side the short edge is resized to before centre-cropping ``image_size``."""
        return self.resize_size or round(self.image_size * 256 / 224)

    def path(self, value: str) -> Path:
        """Resolve a configured path: absolute as given, relative to the project root."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def data_path(self) -> Path:
        return self.path(self.data_dir)

    @property
    def artifacts_path(self) -> Path:
        return self.path(self.artifacts_dir)

    @property
    def figures_path(self) -> Path:
        return self.artifacts_path / "figures"

    @property
    def cache_path(self) -> Path:
        return self.path(self.cache_dir)


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
