"""The notebooks' one-line setup: the run's configuration continued, data and models on demand."""

import torch

from helpers.model.data import balanced_indices, load_splits
from helpers.run.session import setup


def test_setup_continues_the_trained_run_and_loads_its_models(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    session = setup({"artifacts_dir": cfg.artifacts_dir, "saliency_images": 6, "other": 1})
    assert session.cfg.to_dict() == {**cfg.to_dict(), "saliency_images": 6}
    assert set(session.models) == {"classical", "hybrid", "product"}
    assert set(session.models_by_seed) == set(cfg.seeds)
    assert session.models["classical"].backbone is session.backbone  # one frozen backbone
    assert session.models_by_seed[2]["hybrid"].backbone is session.backbone
    assert session.heads["hybrid"] is session.models["hybrid"].head
    assert session.heads_by_seed[1]["product"] is session.models_by_seed[1]["product"].head
    images, labels, indices = session.test_images(6)
    assert indices == balanced_indices(load_splits(cfg).test.targets, 6, seed=cfg.seed)
    assert images.shape == (6, 3, 32, 32) and labels.bincount().tolist() == [3, 3]
    masks = session.object_masks(indices)
    assert masks.shape == (6, 32, 32) and masks.any(dim=(1, 2)).all()
    features, feature_labels = session.test_features(6)
    assert features.shape == (6, 512)
    torch.testing.assert_close(feature_labels, labels)


def test_activations_of_the_session_are_the_embedding_images(trained_smoke_cfg):
    cfg = trained_smoke_cfg
    session = setup({"artifacts_dir": cfg.artifacts_dir, "embedding_images": 10})
    acts = session.activations
    assert acts.indices == session.balanced(10)
    assert acts.layers["hybrid"]["q_out"].shape == (10, 4)
    assert session.activations is acts  # captured once per session
    other = session.activations_of(1)
    assert other.layers["backbone"] is acts.layers["backbone"]  # shared, not recomputed
    head = session.heads_by_seed[1]["hybrid"]
    with torch.no_grad():
        expected = head(acts.layers["backbone"]["avgpool"].flatten(1))
    torch.testing.assert_close(other.layers["hybrid"]["logits"], expected)
    assert not torch.equal(other.layers["hybrid"]["logits"], acts.layers["hybrid"]["logits"])
