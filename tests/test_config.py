import re

import pytest

from helpers.analysis.whitening import UMAP_METRICS
from helpers.config import (
    PROJECT_ROOT,
    Config,
    ConfigError,
    smoke_overrides,
)
from helpers.declare import analysis
from helpers.fingerprints import fingerprint, resolved


def test_defaults_are_mari_cats_vs_dogs():
    cfg = Config()
    assert (cfg.dataset, cfg.classes, cfg.weights, cfg.image_size) == (
        "cifar10",
        ["cat", "dog"],
        "imagenet",
        224,
    )
    assert (cfg.n_qubits, cfg.q_depth, cfg.q_delta, cfg.lr, cfg.batch_size, cfg.epochs) == (
        4,
        5,
        0.01,
        0.001,
        8,
        3,
    )
    assert cfg.resize == 256


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dataset", "mnist", "dataset='mnist': must be one of cifar10, imagefolder, synthetic."),
        ("classes", ["cat"], "classes=['cat']: give two or more distinct class names."),
        ("classes", ["cat", "cat"], "give two or more distinct"),
        ("classes", "cat", "classes=['cat']: give two or more distinct"),
        ("classical_head", "512_x", "classical_head='512_x': must be one of 512_n, 512_nq_n"),
        ("batch_size", 0, "batch_size=0: must be a positive integer."),
        ("epochs", "three", "epochs='three': must be an integer."),
        ("epochs", 2.5, "epochs=2.5: must be an integer."),
        ("epochs", True, "epochs=True: must be an integer."),
        ("lr", -1, "lr=-1: must be positive."),
        ("lr_gamma", -1, "lr_gamma=-1: must be in (0, 1]"),
        ("lr_gamma", 1.5, "lr_gamma=1.5: must be in (0, 1]"),
        ("q_delta", -0.1, "q_delta=-0.1: must be >= 0."),
        ("resize_size", -3, "resize_size=-3: must be >= 0."),
        ("resize_size", 100, "resize_size=100: must be 0 (Mari's 256/224 ratio) or at least"),
        ("seed", -1, "seed=-1: must be an integer in [0, 2**32)."),
        ("shots", [0], "shots=[0]: must be positive."),
        ("shots", [], "shots=[]: must be positive."),
        ("shots", [64.5], "shots=[64.5]: must be a list of integers."),
        ("n_qubits", 11, "n_qubits=11: the fast simulator handles up to 10 qubits"),
        ("umap_metric", "cosinus", "umap_metric='cosinus': must be one of euclidean"),
        ("smoke", "yes", "smoke='yes': must be true or false."),
        ("backend", "qpu", "backend='qpu': must be one of fast, reference, aer."),
    ],
)
def test_invalid_values_name_the_parameter(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        Config(**{field: value})
    assert len(caught.value.problems) == 1


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        Config(epochs=0, lr=-1, dataset="mnist", seed=-2)
    assert [line.split("=")[0] for line in caught.value.problems] == [
        "dataset",
        "epochs",
        "lr",
        "seed",
    ]


def test_umap_metrics_are_umaps_own():
    from umap.distances import named_distances

    assert set(UMAP_METRICS) <= set(named_distances)


def test_classes_accept_comma_separated_string():
    assert Config(classes="airplane, automobile").classes == ["airplane", "automobile"]


def test_from_namespace_takes_only_config_fields():
    cfg = Config.from_namespace({"q_depth": 6, "lr": 0.0004, "unrelated": 1, "__name__": "x"})
    assert (cfg.q_depth, cfg.lr) == (6, 0.0004)


def test_relative_paths_resolve_against_project_root(tmp_path):
    assert Config().data_path == PROJECT_ROOT / "data"
    assert Config(artifacts_dir=str(tmp_path)).artifacts_path == tmp_path


def test_smoke_overrides_form_a_valid_config():
    assert Config(**smoke_overrides()).dataset == "synthetic"


def test_analysis_parameters_come_from_their_declarations():
    assert analysis("saliency").declared == (
        "saliency_images",
        "score_all_methods",
        "user_image",
        "saliency_margin",
        "artifacts_dir",
    )
    assert Config().saliency_images == 20 and Config(saliency_images=3).saliency_images == 3
    assert Config(**smoke_overrides()).saliency_images == 16
    with pytest.raises(ConfigError, match="saliency_images=0: must be a positive integer"):
        Config(saliency_images=0)
    with pytest.raises(ConfigError, match="unknown parameter 'saliency_image'"):
        Config(saliency_image=3)
    assert Config(shots=[64]) != Config() and Config(shots=[64]) == Config(shots=[64])


def test_every_field_names_the_artifacts_it_changes():
    assert set(Config.fields_affecting("features")) == {
        "dataset",
        "classes",
        "data_dir",
        "weights",
        "image_size",
        "resize_size",
        "seed",
    }
    assert "q_depth" in Config.fields_affecting("hybrid")
    assert "q_depth" not in Config.fields_affecting("classical")
    # a head trained on other data is another head: the data folder is in its fingerprint
    assert {"data_dir", "epochs", "lr", "q_delta"} <= set(Config.fields_affecting("hybrid"))
    assert {"device", "memory_budget_mb", "saliency_images"}.isdisjoint(
        Config.fields_affecting("hybrid")
    )


def test_fingerprint_depends_on_exactly_the_fields_that_matter(tmp_path):
    base = Config(dataset="synthetic", classes=["red", "blue"], weights="none")
    key = fingerprint(base, "features", split="train")
    assert fingerprint(base, "features", split="train") == key
    assert fingerprint(base, "features", split="val") != key
    for name, value in (("image_size", 16), ("seed", 1), ("classes", ["blue", "red"])):
        assert fingerprint(Config(**{**base.to_dict(), name: value}), "features") != fingerprint(
            base, "features"
        ), name
    for name, value in (("epochs", 9), ("lr", 0.1), ("q_depth", 2), ("data_dir", "elsewhere")):
        changed = Config(**{**base.to_dict(), name: value})
        assert fingerprint(changed, "features") == fingerprint(base, "features"), name
    assert fingerprint(Config(**{**base.to_dict(), "q_depth": 2}), "hybrid") != fingerprint(
        base, "hybrid"
    )
    imagenet = Config(dataset="imagefolder", data_dir=str(tmp_path), classes=["a", "b"])
    assert resolved(imagenet, "seed") is None  # the seed changes no pretrained feature
    assert resolved(imagenet, "data_dir") == str(tmp_path.resolve())
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"abc")
    assert resolved(Config(weights=str(weights)), "weights").startswith("file:ba7816bf")


def test_a_notebook_continues_the_saved_run_unless_it_overrides(tmp_path):
    namespace = {"artifacts_dir": str(tmp_path), "saliency_images": 8}
    assert Config.for_notebook(namespace) == Config(artifacts_dir=str(tmp_path), saliency_images=8)
    run = Config(artifacts_dir=str(tmp_path), classes=["airplane", "automobile"], q_depth=4)
    (tmp_path / "config.json").write_text(run.to_json())
    continued = Config.for_notebook(namespace)
    assert continued == Config(**{**run.to_dict(), "saliency_images": 8})
    overridden = Config.for_notebook({**namespace, "q_depth": 2})
    assert overridden.q_depth == 2 and overridden.classes == ["airplane", "automobile"]


def test_a_damaged_run_configuration_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"classes": ["cat", ')
    with pytest.raises(
        ConfigError, match=r"config\.json is not readable JSON .*rerun 01_classical"
    ):
        Config.for_notebook({"artifacts_dir": str(tmp_path)})


def test_degenerate_settings_are_said_in_words():
    assert Config().notes() == []
    flat = Config(q_depth=0)
    assert flat.models == ["hybrid", "classical"]  # the product model would be the hybrid again
    assert flat.notes()[0].startswith("q_depth=0: the hybrid is its own depth-0 control")
    assert "its own unentangled control" in flat.notes()[1]
    everything = ["hybrid", "classical", "product", "unentangled"]
    library = Config(q_depth=0, circuit="real_amplitudes", models=everything)
    assert library.models == ["hybrid", "classical", "product"]  # cos(x_j) differs from it
    assert Config(q_depth=1, models=everything).models == everything
    single = Config(seeds=[7])
    assert "no comparison between models is testable" in single.notes()[0]
