"""Datasets: CIFAR-10 class pairs, any ImageFolder tree, and synthetic images with object masks.

Every loader returns :class:`Splits` whose datasets yield ``(normalised image, label)`` with labels
``0..len(classes)-1`` in the order of ``Config.classes``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets, transforms

from helpers.config import Config

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
SYNTHETIC_CLASSES = ("red", "blue")
SYNTHETIC_SIZES = {"train": 512, "val": 128}
OBJECT_FRACTION = (
    0.5  # side of the square object / image side (a random 32 px backbone needs it large)
)
SMOKE_COMMAND = "python -m helpers.pipeline --smoke"


class DataUnavailableError(FileNotFoundError):
    """The dataset is not on disk and cannot be downloaded; the message says what to put where."""


@dataclasses.dataclass
class Splits:
    train: Dataset
    val: Dataset
    classes: list[str]


def image_transform(cfg: Config) -> transforms.Compose:
    """Mari's evaluation transform: resize, centre crop, ImageNet normalisation."""
    return transforms.Compose(
        [
            transforms.Resize(cfg.resize),
            transforms.CenterCrop(cfg.image_size),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def normalize(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] ``(..., 3, H, W)`` -> the backbone's input space."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (images - mean) / std


def denormalize(images: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize`, clipped to [0, 1] for display."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (images * std + mean).clamp(0, 1)


class ClassSubset(Dataset):
    """The samples of chosen classes of a labelled dataset, relabelled 0..k-1 in the given order."""

    def __init__(self, base: Dataset, targets: Sequence[int], class_indices: Sequence[int]) -> None:
        self.base = base
        self.label_of = {original: new for new, original in enumerate(class_indices)}
        self.indices = [i for i, target in enumerate(targets) if target in self.label_of]
        self.targets = [self.label_of[targets[i]] for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, target = self.base[self.indices[index]]
        return image, self.label_of[target]


def _check_classes(requested: Sequence[str], available: Sequence[str], source: str) -> list[int]:
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ValueError(
            f"unknown class name(s) {unknown} for {source}; valid names: {', '.join(available)}."
        )
    return [list(available).index(name) for name in requested]


def load_splits(cfg: Config) -> Splits:
    """The train and validation splits of ``cfg.dataset`` restricted to ``cfg.classes``."""
    loaders = {"cifar10": _cifar10, "imagefolder": _imagefolder, "synthetic": _synthetic}
    return loaders[cfg.dataset](cfg)


def _cifar10(cfg: Config) -> Splits:
    class_indices = _check_classes(cfg.classes, CIFAR10_CLASSES, "CIFAR-10")
    root = cfg.data_path
    transform = image_transform(cfg)
    try:
        train = datasets.CIFAR10(root, train=True, download=True, transform=transform)
        val = datasets.CIFAR10(root, train=False, download=True, transform=transform)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise DataUnavailableError(
            f"CIFAR-10 is not in {root / 'cifar-10-batches-py'} and could not be downloaded "
            f"({exc}). Put the python version of CIFAR-10 (cifar-10-python.tar.gz from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html) in {root}/, or its unpacked folder "
            f"cifar-10-batches-py/ there, or run the offline demo: {SMOKE_COMMAND}"
        ) from exc
    return Splits(
        ClassSubset(train, train.targets, class_indices),
        ClassSubset(val, val.targets, class_indices),
        list(cfg.classes),
    )


def _imagefolder(cfg: Config) -> Splits:
    root = cfg.data_path
    missing = [split for split in ("train", "val") if not (root / split).is_dir()]
    if missing:
        raise DataUnavailableError(
            f"data_dir={str(root)!r} has no {' or '.join(missing)} folder: an ImageFolder dataset "
            f"needs {root}/train/<class>/*.jpg and {root}/val/<class>/*.jpg (e.g. the ants/bees "
            f"hymenoptera_data of Mari et al.). Offline demo: {SMOKE_COMMAND}"
        )
    empty = [problem for split in ("train", "val") if (problem := _empty_classes(root / split))]
    if empty:
        raise DataUnavailableError(
            f"{'; '.join(empty)}. ImageFolder needs one folder per class, each holding at least "
            f"one image: a file ending in {', '.join(datasets.folder.IMG_EXTENSIONS)} (in any "
            "case, subfolders included)."
        )
    transform = image_transform(cfg)
    parts = {}
    for split in ("train", "val"):
        folder = datasets.ImageFolder(root / split, transform=transform)
        class_indices = _check_classes(cfg.classes, folder.classes, f"{root / split}")
        parts[split] = ClassSubset(folder, folder.targets, class_indices)
    return Splits(parts["train"], parts["val"], list(cfg.classes))


def _empty_classes(split_dir: Path) -> str | None:
    """What in ``split_dir`` would make ``ImageFolder`` fail for want of images, if anything."""
    classes = sorted(entry.name for entry in os.scandir(split_dir) if entry.is_dir())
    if not classes:
        return f"{split_dir} has no class folders"
    empty = [
        f"{name}/"
        for name in classes
        if not any(
            datasets.folder.has_file_allowed_extension(file, datasets.folder.IMG_EXTENSIONS)
            for _, _, files in os.walk(split_dir / name, followlinks=True)
            for file in files
        )
    ]
    return f"{split_dir} has class folders without images: {', '.join(empty)}" if empty else None


def _synthetic(cfg: Config) -> Splits:
    if list(cfg.classes) != list(SYNTHETIC_CLASSES):
        raise ValueError(
            f"the synthetic dataset has classes {list(SYNTHETIC_CLASSES)}; "
            f"got classes={cfg.classes}."
        )
    return Splits(
        SyntheticObjects(SYNTHETIC_SIZES["train"], cfg.image_size, seed=cfg.seed),
        SyntheticObjects(SYNTHETIC_SIZES["val"], cfg.image_size, seed=cfg.seed + 10_000),
        list(SYNTHETIC_CLASSES),
    )


class SyntheticObjects(Dataset):
    """Grey noise images with one coloured square, red (class 0) or blue (class 1).

    Only the object tells the classes apart: the background has the same distribution in both,
    and the square sits at a random place, so ``masks`` (True on the object) are ground truth for
    where a classifier should look. Images are generated deterministically from ``seed``.

    Attributes:
        images: ``(n, 3, H, W)`` in [0, 1]; ``masks``: ``(n, H, W)`` bool; ``targets``: labels.
    """

    classes = SYNTHETIC_CLASSES

    def __init__(self, n: int, image_size: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        side = max(3, round(image_size * OBJECT_FRACTION))
        self.targets = [int(label) for label in rng.integers(0, 2, n)]
        images = np.clip(0.5 + 0.12 * rng.standard_normal((n, 3, image_size, image_size)), 0, 1)
        masks = np.zeros((n, image_size, image_size), dtype=bool)
        colours = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.9]])
        for i, label in enumerate(self.targets):
            top, left = rng.integers(0, image_size - side + 1, 2)
            masks[i, top : top + side, left : left + side] = True
            colour = colours[label] + 0.05 * rng.standard_normal(3)
            images[i][:, masks[i]] = np.clip(colour, 0, 1)[:, None]
        self.images = torch.from_numpy(images.astype(np.float32))
        self.masks = torch.from_numpy(masks)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return normalize(self.images[index]), self.targets[index]


def dataset_images(dataset: Dataset, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised images ``(k, 3, H, W)`` and labels ``(k,)`` of chosen samples."""
    pairs = [dataset[int(i)] for i in indices]
    return torch.stack([image for image, _ in pairs]), torch.tensor([label for _, label in pairs])


def balanced_indices(labels: Sequence[int] | torch.Tensor, n: int, seed: int = 0) -> list[int]:
    """``n`` indices drawn at random (seeded) with the classes as equal as possible.

    ``labels`` are the samples' labels (e.g. ``dataset.targets``). Folder datasets are sorted by
    class, so "the first n images" would be one class only.
    """
    targets = np.asarray(labels)
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(targets == label)) for label in np.unique(targets)]
    interleaved = [
        int(i) for group in itertools.zip_longest(*per_class) for i in group if i is not None
    ]
    return interleaved[: min(n, len(interleaved))]


def pil_image(image: torch.Tensor) -> Image.Image:
    """A normalised image ``(3, H, W)`` as a PIL image (e.g. to stand in for a user's photo)."""
    array = (denormalize(image).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)
