"""One dataclass of experiment parameters, shared by every notebook and the pipeline.

Each field says, in its metadata, which notebooks declare it in their ``parameters`` cell
(``notebooks``) and which artifacts it changes (``affects``: the cached backbone ``features``,
the ``classical`` and the ``hybrid`` checkpoints). :func:`fingerprint` derives every cache and
checkpoint key from those fields, so there is one list of "what invalidates what".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DATASETS = ("cifar10", "imagefolder", "synthetic")
CLASSICAL_HEADS = ("512_n", "512_nq_n", "551_512_n")
QUANTUM_BACKENDS = ("fast", "reference", "aer")
WEIGHT_PRESETS = ("imagenet", "none")
DEVICES = ("auto", "cpu", "cuda", "mps")  # "auto": cuda, else mps, else cpu; also "cuda:N"
FAST_MAX_QUBITS = 10  # the fast statevector simulator's limit (helpers.quantum.simulator)
DEFAULT_Q_DEPTH = 5  # Mari et al.'s depth for CIFAR-10 cats vs dogs, the default experiment
RUN_CONFIG = "config.json"  # the run's configuration, beside its artifacts

# What `--smoke` changes: synthetic data, random weights, small images, one short epoch.
SMOKE_OVERRIDES: dict[str, Any] = {
    "smoke": True,
    "dataset": "synthetic",
    "classes": ["red", "blue"],
    "weights": "none",
    "image_size": 32,
    "resize_size": 32,
    "epochs": 1,
    "seeds": [0, 1, 2],
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

MODELS = ("hybrid", "classical", "product")  # the dressed circuit, its twin, its depth-0 control
FEATURES = ("features", *MODELS)  # what a field that changes the features affects
EVERY_NOTEBOOK = ("01", "02", "03", "04", "05", "06", "07", "08", "09")


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a parameter's value must be, as a test and the words that say it."""

    holds: Callable[[Any], bool]
    text: str


def at_least(low: float) -> Rule:
    return Rule(lambda value: value >= low, f">= {low:g}")


def one_of(*choices: str) -> Rule:
    return Rule(lambda value: value in choices, f"one of {', '.join(choices)}")


POSITIVE = Rule(lambda value: value >= 1, "a positive integer")
POSITIVE_NUMBER = Rule(lambda value: value > 0, "positive")
DECAY = Rule(lambda value: 0 < value <= 1, "in (0, 1]: the factor the rate is multiplied by")
SEED = Rule(lambda value: 0 <= value < 2**32, "an integer in [0, 2**32)")
FRACTION = Rule(lambda value: 0 < value < 1, "a fraction in (0, 1)")
SEED_LIST = Rule(
    lambda values: bool(values) and len(set(values)) == len(values) and min(values) >= 0,
    "a list of distinct non-negative integers (each trains every model once)",
)
MODEL_LIST = Rule(
    lambda values: bool(values) and set(values) <= set(MODELS) and len(set(values)) == len(values),
    f"a list of distinct model names among {', '.join(MODELS)}",
)
DEVICE = Rule(
    lambda value: value in DEVICES or (value.startswith("cuda:") and value[5:].isdigit()),
    f"one of {', '.join(DEVICES)} (or cuda:N for the N-th GPU)",
)
POSITIVE_LIST = Rule(lambda values: bool(values) and min(values) >= 1, "positive")
# UMAP distances (umap-learn's named metrics that need no extra arguments)
UMAP_METRICS = (
    "euclidean", "manhattan", "chebyshev", "minkowski", "canberra", "braycurtis", "cosine",
    "correlation", "hamming", "jaccard", "dice", "russellrao", "kulsinski", "rogerstanimoto",
    "sokalmichener", "sokalsneath", "yule", "hellinger",
)  # fmt: skip
TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "list[str]": "a list of names",
    "list[int]": "a list of integers",
}


class ConfigError(ValueError):
    """Invalid parameters; ``problems`` holds one line per offending parameter."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parameter(
    default: Any,
    *,
    notebooks: tuple[str, ...] = (),
    affects: tuple[str, ...] = (),
    rule: Rule | None = None,
) -> Any:
    """A Config field: its default, the notebooks that declare it, the artifacts it changes and
    the rule its value must follow (beyond its type)."""
    metadata = {"notebooks": notebooks, "affects": affects, "rule": rule}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class Config:
    """Experiment parameters; the names are those of the notebooks' ``parameters`` cells.

    Defaults reproduce Mari et al.'s CIFAR-10 cats-vs-dogs setting (arXiv:1912.08278).
    """

    dataset: str = parameter("cifar10", notebooks=("01",), affects=FEATURES, rule=one_of(*DATASETS))
    classes: list[str] = parameter(["cat", "dog"], notebooks=("01",), affects=FEATURES)
    data_dir: str = parameter("data", notebooks=("01",), affects=("features",))
    weights: str = parameter("imagenet", notebooks=("01",), affects=FEATURES)
    image_size: int = parameter(224, notebooks=("01",), affects=FEATURES, rule=POSITIVE)
    resize_size: int = parameter(0, notebooks=("01",), affects=FEATURES, rule=at_least(0))
    n_qubits: int = parameter(4, notebooks=("01",), affects=MODELS, rule=POSITIVE)
    q_depth: int = parameter(
        DEFAULT_Q_DEPTH, notebooks=("02",), affects=("hybrid",), rule=at_least(0)
    )
    q_delta: float = parameter(0.01, notebooks=("02",), rule=at_least(0))
    epochs: int = parameter(3, notebooks=("01",), rule=POSITIVE)
    batch_size: int = parameter(8, notebooks=("01",), rule=POSITIVE)
    lr: float = parameter(0.001, notebooks=("01",), rule=POSITIVE_NUMBER)
    lr_step: int = parameter(10, notebooks=("01",), rule=POSITIVE)
    lr_gamma: float = parameter(1.0, notebooks=("01",), rule=DECAY)
    classical_head: str = parameter(
        "512_nq_n", notebooks=("01",), affects=("classical",), rule=one_of(*CLASSICAL_HEADS)
    )
    backend: str = parameter("fast", notebooks=("02",), rule=one_of(*QUANTUM_BACKENDS))
    seed: int = parameter(0, notebooks=("01",), affects=FEATURES, rule=SEED)
    # Where the networks run (the quantum layer's simulator always runs on the CPU), and the
    # memory that one batch of images may take there: every batch is sized from it.
    device: str = parameter("auto", notebooks=("01",), rule=DEVICE)
    memory_budget_mb: int = parameter(1024, notebooks=("01",), rule=at_least(64))
    val_fraction: float = parameter(0.1, notebooks=("01",), affects=MODELS, rule=FRACTION)
    seeds: list[int] = parameter([0, 1, 2, 3, 4], notebooks=("01",), rule=SEED_LIST)
    models: list[str] = parameter(list(MODELS), notebooks=("01",), rule=MODEL_LIST)
    saliency_images: int = parameter(40, notebooks=("03",), rule=POSITIVE)
    user_image: str = parameter("", notebooks=("03",))
    embedding_images: int = parameter(500, notebooks=("04", "05"), rule=POSITIVE)
    perplexity: float = parameter(30.0, notebooks=("04",), rule=POSITIVE_NUMBER)
    umap_metric: str = parameter("euclidean", notebooks=("05",), rule=one_of(*UMAP_METRICS))
    landscape_resolution: int = parameter(51, notebooks=("06",), rule=at_least(2))
    landscape_samples: int = parameter(1000, notebooks=("06",), rule=POSITIVE)
    dream_steps: int = parameter(20, notebooks=("07",), rule=POSITIVE)
    dream_octaves: int = parameter(3, notebooks=("07",), rule=POSITIVE)
    shots: list[int] = parameter([64, 256, 1024, 8192], notebooks=("08",), rule=POSITIVE_LIST)
    shot_repeats: int = parameter(5, notebooks=("08",), rule=POSITIVE)
    noise_device: str = parameter("FakeManilaV2", notebooks=("08",))
    noise_images: int = parameter(500, notebooks=("08",), rule=POSITIVE)
    artifacts_dir: str = parameter("artifacts", notebooks=EVERY_NOTEBOOK)
    cache_dir: str = parameter("data/features", notebooks=("01",))
    smoke: bool = parameter(False, notebooks=("01",))

    def __post_init__(self) -> None:
        if isinstance(self.classes, str):  # "cat, dog"
            self.classes = [name.strip() for name in self.classes.split(",") if name.strip()]
        for name in ("classes", "shots", "seeds", "models"):
            if isinstance(getattr(self, name), tuple):
                setattr(self, name, list(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` with one line per problem (see :meth:`problems`)."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)

    def problems(self) -> list[str]:
        """Every invalid parameter, one line each, naming it, its value and what it must be."""
        found = []
        for field in dataclasses.fields(self):
            value, rule = getattr(self, field.name), field.metadata["rule"]
            if not _has_type(value, field.type):
                found.append(f"{field.name}={value!r}: must be {TYPE_WORDS[field.type]}.")
            elif rule is not None and not rule.holds(value):
                found.append(f"{field.name}={value!r}: must be {rule.text}.")
        if found:
            return found
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            found.append(f"classes={self.classes!r}: give two or more distinct class names.")
        if 0 < self.resize_size < self.image_size:
            found.append(
                f"resize_size={self.resize_size}: must be 0 (Mari's 256/224 ratio) or at least "
                f"image_size={self.image_size}, the centre crop taken from the resized image."
            )
        if self.backend == "fast" and self.n_qubits > FAST_MAX_QUBITS:
            found.append(
                f"n_qubits={self.n_qubits}: the fast simulator handles up to {FAST_MAX_QUBITS} "
                "qubits; use backend 'reference' or 'aer' for more."
            )
        return found

    # ----------------------------------------------------------------- construction
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def notebook_parameters(cls, notebook: str) -> tuple[str, ...]:
        """The fields notebook ``NN`` (e.g. ``"03"``) declares in its parameters cell."""
        return tuple(
            field.name
            for field in dataclasses.fields(cls)
            if notebook in field.metadata["notebooks"]
        )

    @classmethod
    def fields_affecting(cls, artifact: str) -> tuple[str, ...]:
        """The fields that change ``artifact`` (``features``, ``classical`` or ``hybrid``)."""
        return tuple(
            field.name for field in dataclasses.fields(cls) if artifact in field.metadata["affects"]
        )

    @classmethod
    def from_namespace(
        cls, namespace: Mapping[str, Any], base: Mapping[str, Any] | None = None
    ) -> Config:
        """Build from a notebook's globals (the parameters cell), ignoring everything else.

        Fields missing from ``namespace`` come from ``base`` (e.g. a saved run configuration),
        then from the defaults.
        """
        values = {name: value for name, value in (base or {}).items() if name in cls.field_names()}
        values.update({name: namespace[name] for name in cls.field_names() if name in namespace})
        return cls(**values)

    @classmethod
    def for_notebook(cls, namespace: Mapping[str, Any]) -> Config:
        """The configuration of the run a notebook continues: the run's saved configuration
        (``<artifacts_dir>/config.json``, written by training) overridden by the parameters the
        notebook sets (its ``parameters`` cell and whatever papermill injects)."""
        artifacts = cls(**{"artifacts_dir": namespace.get("artifacts_dir", "artifacts")})
        saved = artifacts.artifacts_path / RUN_CONFIG
        try:
            base = json.loads(saved.read_text()) if saved.is_file() else None
        except ValueError as exc:
            raise ConfigError(
                [f"{saved} is not readable JSON ({exc}): rerun notebook 01 to rewrite it."]
            ) from exc
        return cls.from_namespace(namespace, base)

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
        return Path(os.path.normpath(path if path.is_absolute() else PROJECT_ROOT / path))

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

    @property
    def weights_source(self) -> str:
        """``imagenet``, ``none``, or the weights file as an absolute path."""
        return self.weights if self.weights in WEIGHT_PRESETS else str(self.path(self.weights))

    @property
    def user_image_path(self) -> Path | None:
        """The photo to explain in notebook 03 as an absolute path, or None."""
        return self.path(self.user_image) if self.user_image else None


def _has_type(value: Any, kind: str) -> bool:
    """Whether ``value`` is of the annotated type ``kind`` (booleans are not numbers)."""
    if isinstance(value, bool):
        return kind == "bool"
    if kind.startswith("list["):
        item = kind[5:-1]
        return isinstance(value, list) and all(_has_type(entry, item) for entry in value)
    return isinstance(value, {"int": int, "float": int | float, "str": str}.get(kind, type(None)))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolved(cfg: Config, name: str, artifact: str = "features") -> Any:
    """What a field means for an artifact: the data folder as an absolute path (nothing for
    generated data), weights files by their content hash, and the seed, which carves the
    validation split for every model but changes the features only where it makes them
    (synthetic data, random weights)."""
    if name == "data_dir":
        return "generated" if cfg.dataset == "synthetic" else str(cfg.data_path.resolve())
    if name == "weights" and cfg.weights not in WEIGHT_PRESETS:
        path = Path(cfg.weights_source)
        return f"file:{_file_digest(path)}" if path.is_file() else f"missing:{path}"
    if name == "seed" and artifact == "features":
        return cfg.seed if cfg.dataset == "synthetic" or cfg.weights == "none" else None
    return getattr(cfg, name)


def describe(cfg: Config, artifact: str) -> dict[str, Any]:
    """The resolved values of every field that changes ``artifact``."""
    return {name: resolved(cfg, name, artifact) for name in Config.fields_affecting(artifact)}


def fingerprint(cfg: Config, artifact: str, **extra: Any) -> str:
    """The one cache and checkpoint key: a hash of :func:`describe` and any ``extra`` details
    (a split, a sample count, trained weights, ...)."""
    text = json.dumps({**describe(cfg, artifact), **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
