import pytest

from helpers.config import PROJECT_ROOT, SMOKE_OVERRIDES, Config


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
        ("dataset", "mnist", "dataset='mnist' is unknown"),
        ("classes", ["cat"], "two or more distinct"),
        ("classes", ["cat", "cat"], "two or more distinct"),
        ("classical_head", "512_x", "classical_head='512_x' is unknown"),
        ("batch_size", 0, "batch_size=0 must be a positive integer"),
    ],
)
def test_invalid_values_name_the_parameter(field, value, message):
    with pytest.raises(ValueError, match=message):
        Config(**{field: value})


def test_classes_accept_comma_separated_string():
    assert Config(classes="airplane, automobile").classes == ["airplane", "automobile"]


def test_from_namespace_takes_only_config_fields():
    cfg = Config.from_namespace({"q_depth": 6, "lr": 0.0004, "unrelated": 1, "__name__": "x"})
    assert (cfg.q_depth, cfg.lr) == (6, 0.0004)


def test_relative_paths_resolve_against_project_root(tmp_path):
    assert Config().data_path == PROJECT_ROOT / "data"
    assert Config(artifacts_dir=str(tmp_path)).artifacts_path == tmp_path


def test_smoke_overrides_form_a_valid_config():
    assert Config(**SMOKE_OVERRIDES).dataset == "synthetic"
