import shutil
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.config import Config
from helpers.model import data
from helpers.model.backbone import extract_features, load_backbone
from helpers.model.data import DecodeError, load_splits
from tests.conftest import shared_path


def _image_tree(root, classes=("ants", "bees", "wasps"), per_class=3, size=40):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 255, (size, size + 10, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_unknown_cifar_class_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown class name.*'kitten'.*airplane, automobile"):
        data.load_splits(Config(classes=["kitten", "dog"]))


def test_cifar_offline_error_names_files_and_smoke_command(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(data.datasets, "CIFAR10", offline)
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_splits(Config(data_dir=str(tmp_path)))
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and "cifar-10-batches-py" in message
    assert str(tmp_path) in message and "--smoke" in message


def test_cifar_pair_is_filtered_and_relabelled(monkeypatch, tmp_path):
    class FakeCifar:
        def __init__(self, root, train, download, transform):
            self.targets = [3, 5, 0, 5, 3, 9, 5] if train else [5, 3]

        def __getitem__(self, index):
            return torch.zeros(3, 2, 2), self.targets[index]

    monkeypatch.setattr(data.datasets, "CIFAR10", FakeCifar)
    cfg = Config(classes=["dog", "cat"], data_dir=str(tmp_path), val_fraction=0.4)
    splits = data.load_splits(cfg)
    assert splits.classes == ["dog", "cat"]
    assert splits.pool.indices == [0, 1, 3, 4, 6]
    assert splits.pool.targets == [1, 0, 0, 1, 0]
    assert sorted(splits.train.indices + splits.val.indices) == [0, 1, 2, 3, 4]
    assert sorted(splits.val.targets) == [0, 1]  # stratified: one of each class
    assert splits.test.targets == [0, 1]


def test_imagefolder_subset_order_and_transform(tmp_path):
    root = _image_tree(tmp_path / "tree")
    cfg = Config(dataset="imagefolder", data_dir=str(root), classes=["bees", "ants"], image_size=32)
    splits = data.load_splits(Config(**{**cfg.to_dict(), "val_fraction": 1 / 3}))
    assert (len(splits.train), len(splits.val), len(splits.test)) == (4, 2, 6)
    image, _label = splits.train[0]
    assert image.shape == (3, 32, 32)
    assert sorted(splits.train.targets) == [0, 0, 1, 1] and sorted(splits.val.targets) == [0, 1]
    # ants are folder index 0 and become label 1 because the user listed bees first
    assert splits.pool.label_of == {1: 0, 0: 1}
    assert Path(splits.test.base.root).name == "val"  # no test/: val/ is the held-out split
    shutil.copytree(root / "val", root / "test")
    third = Config(**{**cfg.to_dict(), "val_fraction": 1 / 3})
    assert Path(data.load_splits(third).test.base.root).name == "test"
    with pytest.raises(ValueError, match=r"val_fraction=0.1 of 6 training images .* every class"):
        data.load_splits(cfg)


def test_imagefolder_errors(tmp_path):
    root = _image_tree(tmp_path / "tree")
    with pytest.raises(ValueError, match=r"unknown class name.*'cats'.*ants, bees, wasps"):
        data.load_splits(
            Config(dataset="imagefolder", data_dir=str(root), classes=["cats", "ants"])
        )
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataUnavailableError, match=r"no train or val folder.*train/<class>"):
        data.load_splits(
            Config(dataset="imagefolder", data_dir=str(tmp_path / "empty"), classes=["a", "b"])
        )


def test_imagefolder_empty_class_folder_is_named(tmp_path):
    root = _image_tree(tmp_path / "tree", classes=("ants", "bees"), per_class=2)
    empty = root / "train" / "bees"
    for image in empty.iterdir():
        image.unlink()
    (empty / "notes.txt").write_text("no images yet")
    cfg = Config(dataset="imagefolder", data_dir=str(root), classes=["ants", "bees"])
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_splits(cfg)
    message = str(info.value)
    assert f"{root / 'train'} has class folders without images: bees/." in message
    assert ".jpg, .jpeg, .png" in message and str(root / "val") not in message
    shutil.rmtree(root / "train")
    (root / "train").mkdir()
    with pytest.raises(data.DataUnavailableError, match=r"train has no class folders\. "):
        data.load_splits(cfg)


def test_synthetic_objects_masks_and_classes():
    dataset = data.SyntheticObjects(64, 32, seed=3)
    side = round(32 * data.OBJECT_FRACTION)
    assert dataset.images.shape == (64, 3, 32, 32) and dataset.masks.shape == (64, 32, 32)
    assert set(dataset.targets) == {0, 1}
    for image, mask, label in zip(dataset.images, dataset.masks, dataset.targets, strict=True):
        assert mask.sum() == side * side
        rows, cols = torch.nonzero(mask, as_tuple=True)
        assert rows.max() - rows.min() == side - 1 and cols.max() - cols.min() == side - 1
        red, blue = image[0][mask].mean(), image[2][mask].mean()
        assert (red > blue) if label == 0 else (blue > red)
        background = image[:, ~mask]
        assert abs(background.mean() - 0.5) < 0.05
    again = data.SyntheticObjects(64, 32, seed=3)
    assert torch.equal(again.images, dataset.images) and again.targets == dataset.targets
    assert not torch.equal(data.SyntheticObjects(64, 32, seed=4).images, dataset.images)


def test_synthetic_items_are_normalised_images():
    dataset = data.SyntheticObjects(4, 16, seed=0)
    image, _ = dataset[1]
    assert torch.allclose(data.denormalize(image), dataset.images[1], atol=1e-6)


def test_synthetic_rejects_other_class_names():
    with pytest.raises(ValueError, match="synthetic dataset has classes"):
        data.load_splits(Config(dataset="synthetic", classes=["cat", "dog"]))


def test_shared_hymenoptera_reads_244_training_images():
    root = shared_path("data", "hymenoptera_data")
    splits = data.load_splits(
        Config(dataset="imagefolder", data_dir=str(root), classes=["ants", "bees"], image_size=64)
    )
    assert (len(splits.train) + len(splits.val), len(splits.test)) == (244, 153)
    assert len(splits.val) == 25  # 10 % of the training images, stratified
    assert splits.train[0][0].shape == (3, 64, 64)


def test_balanced_indices_mix_the_classes_and_are_seeded():
    targets = [0] * 30 + [1] * 10
    chosen = data.balanced_indices(targets, 12, seed=0)
    labels = [targets[i] for i in chosen]
    assert len(set(chosen)) == 12 and labels.count(0) == 6 and labels.count(1) == 6
    assert chosen == data.balanced_indices(torch.tensor(targets), 12, seed=0)
    assert chosen != data.balanced_indices(targets, 12, seed=1)
    assert len(data.balanced_indices(targets, 100)) == 40


def test_stratified_split_is_seeded_disjoint_and_keeps_class_shares():
    labels = [0] * 60 + [1] * 40
    train, val = data.stratified_split(labels, 0.2, seed=3)
    assert not set(train) & set(val) and sorted(train + val) == list(range(100))
    assert [labels[i] for i in val].count(0) == 12 and [labels[i] for i in val].count(1) == 8
    assert data.stratified_split(labels, 0.2, seed=3) == (train, val)
    assert data.stratified_split(labels, 0.2, seed=4)[1] != val


@pytest.mark.parametrize("workers", [0, 1])
def test_a_truncated_image_is_named_at_first_decode_in_one_line(tmp_path, workers):
    root = tmp_path / "data"
    for split in ("train", "val"):
        for name in ("ants", "bees"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(10):
                pixels = (np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=95)
    broken = root / "train" / "bees" / "1.jpg"
    content = broken.read_bytes()
    broken.write_bytes(content[: len(content) * 2 // 3])  # cut short: verify() still passes
    with Image.open(broken) as image:
        image.verify()
    cfg = Config(
        dataset="imagefolder", classes=["ants", "bees"], data_dir=str(root), weights="none",
        image_size=32, resize_size=32, artifacts_dir=str(tmp_path / "a"), val_fraction=0.2,
    )  # fmt: skip
    splits = load_splits(cfg)
    backbone = load_backbone("none", 0)
    with pytest.raises(DecodeError) as raised:
        extract_features(backbone, splits.pool, batch_size=2, num_workers=workers)
    message = str(raised.value)
    assert message.startswith(f"{broken} cannot be decoded (OSError: image file is truncated")
    assert message.endswith("remove or replace the file, then rerun.") and "\n" not in message
