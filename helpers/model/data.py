"""Datasets: CIFAR-10 class pairs, any ImageFolder tree, and synthetic images with object masks.

Every loader returns :class:`Splits` whose datasets yield ``(normalised image, label)`` with labels
``0..len(classes)-1`` in the order of ``Config.classes``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset, Subset
from torchvision import datasets, transforms

from helpers.config import Config
from helpers.io import error_summary

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
SYNTHETIC_SIZES = {"train": 512, "test": 128}
OBJECT_FRACTION = (
    0.5  # side of the square object / image side (a random 32 px backbone needs it large)
)
SMOKE_COMMAND = "python -m helpers.pipeline --smoke"


class DataUnavailableError(FileNotFoundError):
    """The dataset is not on disk and cannot be downloaded; the message says what to put where."""


class LabelledSubset(Subset):
    """A :class:`~torch.utils.data.Subset` that keeps its samples' labels (``targets``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        super().__init__(dataset, list(indices))
        self.targets = [dataset.targets[i] for i in self.indices]


@dataclasses.dataclass
class Splits:
    """Three splits: ``train`` and ``val`` (model selection) are carved from the training data
    ``pool`` (stratified by class, seeded); ``test`` is held out for every reported number."""

    train: LabelledSubset
    val: LabelledSubset
    test: Dataset
    classes: list[str]

    @property
    def pool(self) -> Dataset:
        return self.train.dataset


def stratified_split(
    labels: Sequence[int], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices of a seeded, class-stratified split: (train, val) with ``fraction`` in val."""
    counts = np.bincount(np.asarray(labels))
    n_val = math.ceil(fraction * len(labels))
    if min(n_val, len(labels) - n_val) < len(counts) or counts.min() < 2:
        raise ValueError(
            f"val_fraction={fraction:g} of {len(labels)} training images (per class: "
            f"{counts.tolist()}) leaves a split without every class: use more images or another "
            "val_fraction."
        )
    indices = np.arange(len(labels))
    train, val = train_test_split(
        indices, test_size=fraction, stratify=np.asarray(labels), random_state=seed
    )
    return sorted(int(i) for i in train), sorted(int(i) for i in val)


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


class DecodeError(ValueError):
    """An image file that cannot be decoded; the message names it and says what to do."""


def decode_image(path: str) -> Image.Image:
    """An image file as RGB, or a :class:`DecodeError` naming the file (a truncated JPEG passes
    ``Image.verify()`` and fails only here, when its pixels are decoded)."""
    try:
        with open(path, "rb") as handle:
            return Image.open(handle).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DecodeError(
            f"{path} cannot be decoded ({error_summary(exc)}): remove or replace the file, then "
            "rerun."
        ) from None


def worker_error(exc: DecodeError) -> DecodeError:
    """The :class:`DecodeError` a DataLoader worker raised, without the worker's traceback that
    the DataLoader puts in its message: one line naming the file."""
    last = str(exc).strip().splitlines()[-1]
    return DecodeError(last.split("DecodeError: ", 1)[-1])


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
    """The train / val / test splits of ``cfg.dataset`` restricted to ``cfg.classes``: val is
    ``cfg.val_fraction`` of the training data (stratified, seeded by ``cfg.seed``); test is
    CIFAR-10's test set, an ImageFolder's ``test/`` (or ``val/`` when there is no ``test/``)."""
    loaders = {"cifar10": _cifar10, "imagefolder": _imagefolder, "synthetic": _synthetic}
    pool, test = loaders[cfg.dataset](cfg)
    train, val = stratified_split(pool.targets, cfg.val_fraction, cfg.seed)
    return Splits(LabelledSubset(pool, train), LabelledSubset(pool, val), test, list(cfg.classes))


def _cifar10(cfg: Config) -> tuple[Dataset, Dataset]:
    class_indices = _check_classes(cfg.classes, CIFAR10_CLASSES, "CIFAR-10")
    root = cfg.data_path
    transform = image_transform(cfg)
    try:
        train = datasets.CIFAR10(root, train=True, download=True, transform=transform)
        test = datasets.CIFAR10(root, train=False, download=True, transform=transform)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise DataUnavailableError(
            f"CIFAR-10 is not in {root / 'cifar-10-batches-py'} and could not be downloaded "
            f"({exc}). Put the python version of CIFAR-10 (cifar-10-python.tar.gz from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html) in {root}/, or its unpacked folder "
            f"cifar-10-batches-py/ there, or run the offline demo: {SMOKE_COMMAND}"
        ) from exc
    return (
        ClassSubset(train, train.targets, class_indices),
        ClassSubset(test, test.targets, class_indices),
    )


def _imagefolder(cfg: Config) -> tuple[Dataset, Dataset]:
    root = cfg.data_path
    held_out = "test" if (root / "test").is_dir() else "val"
    missing = [split for split in ("train", held_out) if not (root / split).is_dir()]
    if missing:
        raise DataUnavailableError(
            f"data_dir={str(root)!r} has no {' or '.join(missing)} folder: an ImageFolder dataset "
            f"needs {root}/train/<class>/*.jpg and {root}/val/<class>/*.jpg or test/<class>/ "
            "(the held-out split; e.g. the ants/bees hymenoptera_data of Mari et al.). "
            f"Offline demo: {SMOKE_COMMAND}"
        )
    splits = ("train", held_out)
    empty = [problem for split in splits if (problem := _empty_classes(root / split))]
    if empty:
        raise DataUnavailableError(
            f"{'; '.join(empty)}. ImageFolder needs one folder per class, each holding at least "
            f"one image: a file ending in {', '.join(datasets.folder.IMG_EXTENSIONS)} (in any "
            "case, subfolders included)."
        )
    transform = image_transform(cfg)
    parts = []
    for split in splits:
        folder = datasets.ImageFolder(root / split, transform=transform, loader=decode_image)
        class_indices = _check_classes(cfg.classes, folder.classes, f"{root / split}")
        parts.append(ClassSubset(folder, folder.targets, class_indices))
    return parts[0], parts[1]


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


def _synthetic(cfg: Config) -> tuple[Dataset, Dataset]:
    if list(cfg.classes) != list(SYNTHETIC_CLASSES):
        raise ValueError(
            f"the synthetic dataset has classes {list(SYNTHETIC_CLASSES)}; "
            f"got classes={cfg.classes}."
        )
    return (
        SyntheticObjects(SYNTHETIC_SIZES["train"], cfg.image_size, seed=cfg.seed),
        SyntheticObjects(SYNTHETIC_SIZES["test"], cfg.image_size, seed=cfg.seed + 10_000),
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
    """Normalised images ``(k, 3, H, W)`` and labels ``(k,)`` of chosen samples.

    Args:
        dataset: A dataset of (normalised image ``(3, H, W)``, label) pairs.
        indices: The k samples' indices.

    Returns:
        The stacked images ``(k, 3, H, W)`` and labels ``(k,)``.

    Example:
        >>> images, labels = dataset_images(SyntheticObjects(4, 32), range(4))
        >>> tuple(images.shape), tuple(labels.shape)
        ((4, 3, 32, 32), (4,))
    """
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


def drawn_per_class(cfg: Config, n: int) -> list[int] | None:
    """How many test images of each class :func:`balanced_indices` gives for ``n`` (fewer than
    asked where the test split is small), in class order; None when the data cannot be read
    (preflight names that problem on its own)."""
    try:
        targets = np.asarray(load_splits(cfg).test.targets)
    except (OSError, ValueError):
        return None
    chosen = targets[balanced_indices(targets, n, seed=cfg.seed)]
    return np.bincount(chosen, minlength=cfg.n_classes).tolist()


def pil_image(image: torch.Tensor) -> Image.Image:
    """A normalised image ``(3, H, W)`` as a PIL image (e.g. to stand in for a user's photo).

    Args:
        image: A normalised image ``(3, H, W)``; it is clipped to [0, 1] after denormalising.

    Returns:
        An 8-bit RGB image, ``W`` x ``H`` pixels.

    Example:
        >>> pil_image(normalize(torch.full((3, 8, 8), 0.5))).size
        (8, 8)
    """
    array = (denormalize(image).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def loader_workers() -> int:
    """Processes that decode images for a DataLoader: every core but the one running the
    network (none on a single core, where they would only compete with it)."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))
