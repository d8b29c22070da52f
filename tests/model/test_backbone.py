import re
from urllib.error import URLError

import pytest
import torch
from torchvision import models

from helpers.config import Config
from helpers.io import read_computed
from helpers.model import backbone
from helpers.model.data import load_splits


def test_random_backbone_is_frozen_deterministic_and_512d():
    first, second = backbone.load_backbone("none", seed=1), backbone.load_backbone("none", seed=1)
    assert not first.training
    assert all(not p.requires_grad for p in first.parameters())
    x = torch.randn(2, 3, 32, 32)
    assert first(x).shape == (2, 512)
    assert torch.equal(first(x), second(x))
    assert not torch.equal(first(x), backbone.load_backbone("none", seed=2)(x))


def test_fast_copy_is_the_same_function_with_batchnorm_folded():
    original = backbone.load_backbone("none", seed=1)
    generator = torch.Generator().manual_seed(0)
    for module in original.modules():  # trained-like BatchNorm statistics, not the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            for buffer in (module.running_mean, module.weight, module.bias):
                buffer.copy_(torch.randn(buffer.shape, generator=generator) * 0.3)
            variance = torch.rand(module.running_var.shape, generator=generator) + 0.5
            module.running_var.copy_(variance)
    fast = backbone.fast_copy(original)
    assert fast is backbone.fast_copy(original)  # built once
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert isinstance(original.bn1, torch.nn.BatchNorm2d)  # the original is untouched
    assert all(not p.requires_grad for p in fast.parameters())
    x = torch.randn(3, 3, 64, 64, generator=generator)
    expected, got = (x.clone().requires_grad_(True) for _ in range(2))
    torch.testing.assert_close(fast(got), original(expected), rtol=1e-4, atol=1e-4)
    cotangent = torch.randn(3, 512, generator=generator)
    (grad_fast,) = torch.autograd.grad(fast(got), got, cotangent)
    (grad,) = torch.autograd.grad(original(expected), expected, cotangent)
    torch.testing.assert_close(grad_fast, grad, rtol=1e-3, atol=1e-4 * float(grad.abs().max()))


def test_state_dict_path_ignores_fc_of_any_size(tmp_path):
    source = models.resnet18(weights=None, num_classes=10).eval()
    path = tmp_path / "resnet.pt"
    torch.save(source.state_dict(), path)
    loaded = backbone.load_backbone(str(path))
    x = torch.randn(2, 3, 32, 32)
    source.fc = torch.nn.Identity()
    assert torch.allclose(loaded(x), source(x))


def test_missing_weights_path_is_explained(tmp_path):
    with pytest.raises(backbone.WeightsUnavailableError, match=r"no such file.*'imagenet', 'none'"):
        backbone.load_backbone(str(tmp_path / "nope.pt"))


def test_wrong_state_dict_names_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "other.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(ValueError, match=r"not a ResNet18 state dict.*missing keys.*unexpected"):
        backbone.load_backbone(str(path))


@pytest.mark.parametrize(
    "write",
    [
        lambda path: path.write_text("resnet18 weights, see the README\n"),
        lambda path: torch.save(models.resnet18(weights=None), path),
        lambda path: path.write_bytes(b""),
    ],
    ids=["text", "pickled-module", "empty"],
)
def test_unreadable_weights_file_is_explained(tmp_path, write):
    path = tmp_path / "weights.pt"
    write(path)
    with pytest.raises(ValueError) as info:
        backbone.load_backbone(str(path))
    message = str(info.value)
    assert str(path) in message and "not a ResNet18 state dict" in message
    assert "torch.save(model.state_dict(), path)" in message
    assert "\n" not in message


def test_imagenet_offline_error_names_the_file_and_the_demo(monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(backbone.models, "resnet18", offline)
    with pytest.raises(backbone.WeightsUnavailableError) as info:
        backbone.load_backbone("imagenet")
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message and "--smoke" in message


def test_feature_cache_second_run_extracts_nothing(smoke_cfg, monkeypatch):
    first = backbone.cached_features(smoke_cfg)
    assert first.train.shape == (460, 512) and first.val.shape == (52, 512)  # 10 % carved
    assert first.test.shape == (128, 512)

    def no_backbone(*args, **kwargs):
        raise AssertionError("the backbone was built although the features are cached")

    monkeypatch.setattr(backbone, "load_backbone", no_backbone)
    second = backbone.cached_features(smoke_cfg)
    logged = [(line["what"], line["split"]) for line in read_computed(smoke_cfg.cache_path)]
    assert logged == [("features", "train"), ("features", "test")]  # the first run's, once
    assert torch.equal(first.train, second.train) and torch.equal(
        first.val_labels, second.val_labels
    )


def test_cache_key_changes_with_everything_that_changes_features(smoke_cfg, tmp_path):
    base = backbone.feature_cache_path(smoke_cfg, "train", 10)
    variants = [
        backbone.feature_cache_path(smoke_cfg, "test", 10),
        backbone.feature_cache_path(smoke_cfg, "train", 11),
        backbone.feature_cache_path(
            Config(**{**smoke_cfg.to_dict(), "image_size": 16}), "train", 10
        ),
        backbone.feature_cache_path(Config(**{**smoke_cfg.to_dict(), "seed": 1}), "train", 10),
        backbone.feature_cache_path(
            Config(**{**smoke_cfg.to_dict(), "dataset": "cifar10", "classes": ["cat", "dog"]}),
            "train",
            10,
        ),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert backbone.feature_cache_path(smoke_cfg, "train", 10) == base
    assert base.parent == smoke_cfg.cache_path
    same_features = Config(**{**smoke_cfg.to_dict(), "epochs": 9, "q_depth": 1, "lr": 0.1})
    assert backbone.feature_cache_path(same_features, "train", 10) == base


def test_truncated_feature_cache_is_discarded_and_extracted_again(smoke_cfg):
    first = backbone.cached_features(smoke_cfg)
    pool = len(first.train) + len(first.val)  # the training pool is cached as one entry
    path = backbone.feature_cache_path(smoke_cfg, "train", pool)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"{re.escape(str(path))} \(.*central directory"):
        again = backbone.cached_features(smoke_cfg)
    torch.testing.assert_close(again.train, first.train)
    assert torch.equal(again.train_labels, first.train_labels)
    stored = torch.load(path, weights_only=True)["features"]
    train_indices = load_splits(smoke_cfg).train.indices
    assert stored.shape == (pool, 512) and torch.equal(stored[train_indices], again.train)
