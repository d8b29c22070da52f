"""Preflight: every parameter and resource checked before any notebook starts, one line each."""

import re
import time

import pytest
import torch
from PIL import Image

from helpers.config import PROJECT_ROOT, Config, ConfigError, smoke_overrides
from helpers.io import save_json
from helpers.run import pipeline
from helpers.run.preflight import changed_since_training, recorded_run, run_parameters

BAD_VALUES = [
    ("epochs", "three", "epochs='three': must be an integer."),
    ("epochs", "2.5", "epochs=2.5: must be an integer."),
    ("lr", "-1", "lr=-1: must be positive."),
    ("lr_gamma", "-1", "lr_gamma=-1: must be in (0, 1]: the factor the rate is multiplied by."),
    ("batch_size", "0", "batch_size=0: must be a positive integer."),
    ("classes", '["cat"]', "classes=['cat']: give two or more distinct class names."),
    ("classes", '["cat", "cat"]', "classes=['cat', 'cat']: give two or more distinct"),
    ("classes", "cat", "classes=['cat']: give two or more distinct class names."),
    ("dataset", "mnist", "dataset='mnist': must be one of cifar10, imagefolder, synthetic."),
    ("shots", "[0]", "shots=[0]: must be positive."),
    ("seed", "-1", "seed=-1: must be an integer in [0, 2**32)."),
    ("q_delta", "-0.5", "q_delta=-0.5: must be >= 0."),
    ("resize_size", "16", "resize_size=16: must be 0 (Mari's 256/224 ratio) or at least"),
    ("backend", "qpu", "backend='qpu': must be one of fast, reference, aer."),
    ("n_qubits", "12", "n_qubits=12: the fast simulator handles up to 10 qubits"),
    ("umap_metric", "cosinus", "umap_metric='cosinus': must be one of euclidean"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_VALUES)
def test_bad_values_exit_2_with_one_line_naming_the_parameter(name, value, message, capsys):
    code = pipeline.main(["--output-dir", "unused", "-p", name, value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == ["[pipeline] cannot start:", f"- {err.splitlines()[1][2:]}"]
    assert err.splitlines()[1].startswith(f"- {message}")
    assert "Traceback" not in err


def test_every_parameter_problem_is_listed_at_once(tmp_path):
    with pytest.raises(ConfigError) as caught:
        run_parameters(False, [("depth", "3"), ("epochs", "0"), ("noise_device", "")], tmp_path)
    assert caught.value.problems[0].startswith("unknown parameter 'depth': did you mean")
    assert caught.value.problems[1] == "epochs=0: must be a positive integer."
    assert len(caught.value.problems) == 2


def test_parameters_are_parsed_and_paths_resolved_against_the_repository_root(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the shell's folder must not matter
    parameters = run_parameters(
        True,
        [
            ("q_depth", "2"),
            ("weights", "../shared/models/resnet.pt"),
            ("data_dir", "data/trees"),
            ("user_image", "photos/dog.jpg"),
        ],
        tmp_path / "out",
    )
    assert parameters["q_depth"] == 2 and parameters["dataset"] == "synthetic"
    assert parameters["artifacts_dir"] == str((tmp_path / "out" / "artifacts").resolve())
    assert parameters["weights"] == str(PROJECT_ROOT.parent / "shared" / "models" / "resnet.pt")
    assert parameters["data_dir"] == str(PROJECT_ROOT / "data" / "trees")
    assert parameters["user_image"] == str(PROJECT_ROOT / "photos" / "dog.jpg")
    assert run_parameters(False, [("weights", "none")], tmp_path)["weights"] == "none"


def _tree(root, empty=()):
    for split in ("train", "val"):
        for name in ("ants", "bees"):
            folder = root / split / name
            folder.mkdir(parents=True)
            if name not in empty:
                for i in range(2):
                    Image.new("RGB", (8, 8), (i * 90, 20, 30)).save(folder / f"{i}.png")
    return root


def test_missing_and_broken_resources_are_named_together_within_seconds(tmp_path, capsys):
    data = _tree(tmp_path / "data", empty=("bees",))
    weights = tmp_path / "weights.pt"
    weights.write_text("not a state dict")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    start = time.perf_counter()
    code = pipeline.main(
        [
            "--output-dir",
            str(blocker / "out"),
            "-p", "dataset", "imagefolder",
            "-p", "classes", '["ants", "bees"]',
            "-p", "data_dir", str(data),
            "-p", "weights", str(weights),
            "-p", "user_image", str(tmp_path / "missing.jpg"),
            "-p", "noise_device", "FakeNowhereV2",
        ]
    )  # fmt: skip
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2 and seconds < 20, seconds
    lines = err.splitlines()[1:]
    assert all(line.startswith("- ") for line in lines) and "Traceback" not in err
    expected = [
        re.escape(str(data / "train")) + r" has class folders without images: bees/",
        re.escape(str(weights)) + r".*not a ResNet18 state dict",
        r"cannot write to " + re.escape(str(blocker / "out")),
        r"user_image=.*missing\.jpg.*no such file",
        r"noise_device='FakeNowhereV2' is not a qiskit-ibm-runtime fake device",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in lines), (pattern, lines)


def test_a_loadable_weights_file_of_another_architecture_is_refused(tmp_path, capsys):
    weights = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), weights)
    code = pipeline.main(
        ["--smoke", "--output-dir", str(tmp_path / "out"), "-p", "weights", str(weights)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is not a ResNet18 state dict" in err and "Traceback" not in err


def test_a_failing_preflight_creates_no_folder(tmp_path, capsys):
    out = tmp_path / "new" / "out"
    code = pipeline.main(
        ["--smoke", "--output-dir", str(out), "-p", "weights", str(tmp_path / "absent.pt")]
    )
    assert code == 2 and "absent.pt" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_preflight_continues_the_run_it_was_given(tmp_path):
    out = tmp_path / "out"
    run = Config(**{**smoke_overrides(), "artifacts_dir": str(out / "artifacts")})
    save_json(run.to_dict(), out / "artifacts" / "config.json")
    recorded = recorded_run(out, [])
    parameters = run_parameters(False, [("saliency_images", "3")], out, recorded)
    assert parameters["dataset"] == "synthetic" and parameters["saliency_images"] == 3
    assert changed_since_training(parameters, recorded, ["03_saliency.ipynb"]) == []
    shifted = run_parameters(False, [("q_depth", "4")], out, recorded)
    [line] = changed_since_training(shifted, recorded, ["03_saliency.ipynb"])
    assert line == (
        "q_depth=4 differs from the run's trained heads (q_depth=5, hybrid): include "
        "02_hybrid_train in --only to train them again, or drop -p q_depth."
    )
    assert changed_since_training(shifted, recorded, ["02_hybrid_train.ipynb"]) == []
    fewer = run_parameters(False, [("seeds", "[0]")], out, recorded)
    [line] = changed_since_training(fewer, recorded, ["02_hybrid_train.ipynb"])
    assert "(seeds=[0, 1, 2], classical)" in line and "include 01_classical" in line
    assert recorded_run(tmp_path / "elsewhere", []) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("embedding_images", "5", "embedding_images=5: the k-NN accuracy and trustworthiness "
         "(5 neighbours) need at least 12 test images for 2 classes; give embedding_images >= 12."),
        ("perplexity", "200", "perplexity=200: t-SNE needs a perplexity below the number of "
         "images (128 test images for embedding_images=128); give a smaller perplexity or more "
         "images."),
        ("saliency_images", "1", "saliency_images=1: the scores' standard errors over images "
         "need at least two images of each class; give saliency_images >= 4."),
        ("noise_images", "1", "noise_images=1: the accuracy's standard error over images needs "
         "at least 2; give noise_images >= 2."),
    ],
)  # fmt: skip
def test_sizes_are_checked_against_what_they_feed(tmp_path, capsys, name, value, message):
    code = pipeline.main(["--smoke", "--output-dir", str(tmp_path / "out"), "-p", name, value])
    assert code == 2
    assert f"- {message}" in capsys.readouterr().err.splitlines()
