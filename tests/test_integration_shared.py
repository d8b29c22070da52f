"""Both heads on real images: CIFAR-10 cats vs dogs from ../shared with its 32 px backbone.

The stand-in backbone (a ResNet18 trained on 3,051 other CIFAR-10 images) reaches 58.8 % with a
linear probe on cats vs dogs (../shared/models/README.md), so heads trained for Mari's three
epochs are expected in the high 50s to low 60s; one standard error on 187 images is 3.6 points.
"""

import pytest

from helpers.config import Config
from helpers.train import train
from tests.conftest import shared_path


@pytest.mark.slow
def test_cats_vs_dogs_on_shared_cifar_subset(tmp_path, record_property):
    cfg = Config(
        dataset="imagefolder",
        classes=["cat", "dog"],
        data_dir=str(shared_path("data", "cifar10_subset")),
        weights=str(shared_path("models", "resnet18_cifar10subset_32px.pt")),
        image_size=32,
        resize_size=32,
        artifacts_dir=str(tmp_path / "artifacts"),
        cache_dir=str(tmp_path / "cache"),
    )
    results = {kind: train(cfg, kind).metrics for kind in ("classical", "hybrid")}
    for kind, metrics in results.items():
        record_property(f"{kind}_val_accuracy", metrics["val_accuracy"])
        print(
            f"{kind}: val accuracy {metrics['val_accuracy']:.3f} on {metrics['n_val']} images, "
            f"{metrics['train_samples_per_second']:.0f} samples/s"
        )
        assert (metrics["n_train"], metrics["n_val"]) == (194, 187)
        # clearly above chance (50 %): more than two standard errors
        assert metrics["val_accuracy"] > 0.5 + 2 * 0.036, kind
