"""The run's parameters: one configuration, shared by every notebook and the pipeline.

``Config``'s fields are the *shared* parameters, those every notebook reads: data, backbone,
circuit, training, seeds, models, where things go. Each says in its metadata which artifacts it
changes (``affects``: the cached backbone ``features``, the ``classical`` and the ``hybrid``
checkpoints, and whether every notebook of a run must agree on it);
:func:`helpers.fingerprints.fingerprint` derives every cache and checkpoint key from those fields,
so there is one list of "what invalidates what". Each analysis declares its own parameters
(:mod:`helpers.declare`); the configuration holds them too, by name (``cfg.saliency_images``),
with their defaults, rules and smoke values read from those declarations.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.declare import (
    DECAY,
    DEFAULT_MODELS,
    FRACTION,
    MODEL_NAMES,
    NOT_SET,
    POSITIVE,
    POSITIVE_NUMBER,
    QUANTUM_MODELS,
    SEED,
    SEED_LIST,
    TYPE_WORDS,
    Rule,
    analyses,
    at_least,
    has_type,
    one_of,
    parameters,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DATASETS = ("cifar10", "imagefolder", "synthetic")
CLASSICAL_HEADS = ("512_n", "512_nq_n", "551_512_n")
QUANTUM_BACKENDS = ("fast", "reference", "aer")
WEIGHT_PRESETS = ("imagenet", "none")
DEVICES = ("auto", "cpu", "cuda", "mps")  # "auto": cuda, else mps, else cpu; also "cuda:N"
FAST_MAX_QUBITS = 10  # the fast statevector simulator's limit (helpers.quantum.simulator)
DEFAULT_Q_DEPTH = 5  # Mari et al.'s depth for CIFAR-10 cats vs dogs, the default experiment
# helpers.quantum.circuits.FAMILIES; others: "module:function" or "file.py:function" builders
CIRCUIT_FAMILIES = ("mari", "reuploading", "real_amplitudes", "efficient_su2")
ENCODING_AT_DEPTH_0 = ("mari", "reuploading")  # at depth 0: the encoding alone, no weights
CONTROL_WORDS = {"product": "depth-0 control (its encoding alone, no weights)",
                 "unentangled": "unentangled control (no multi-qubit gates)"}  # fmt: skip
RUN_CONFIG = "config.json"  # the run's configuration, beside its artifacts
# parameters that name files or folders: relative ones resolve against the repository root
PATH_PARAMETERS = ("data_dir", "weights", "user_image", "artifacts_dir", "cache_dir")
CIRCUIT = Rule(
    lambda value: value in CIRCUIT_FAMILIES or bool(value.partition(":")[2].isidentifier()),
    f"one of {', '.join(CIRCUIT_FAMILIES)}, or your circuit's builder as 'module:function' or "
    "'path/to/file.py:function'",
)

# What `--smoke` changes in the shared parameters (each analysis declares its own smoke values):
# synthetic data, random weights, small images, one short epoch.
SMOKE_SHARED: dict[str, Any] = {
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
}

MODELS = MODEL_NAMES  # the models a run trains, declared once in helpers.declare
FEATURES = ("features", *MODELS)  # what a field that changes the features affects


def smoke_overrides() -> dict[str, Any]:
    """Every parameter ``--smoke`` changes: the shared ones and each analysis's smoke values."""
    declared = {p.name: p.smoke for p in parameters().values() if p.smoke is not NOT_SET}
    return {**SMOKE_SHARED, **declared}


MODEL_LIST = Rule(
    lambda values: bool(values) and set(values) <= set(MODELS) and len(set(values)) == len(values),
    f"a list of distinct model names among {', '.join(MODELS)}",
)
DEVICE = Rule(
    lambda value: value in DEVICES or (value.startswith("cuda:") and value[5:].isdigit()),
    f"one of {', '.join(DEVICES)} (or cuda:N for the N-th GPU)",
)


class ConfigError(ValueError):
    """Invalid parameters; ``problems`` holds one line per offending parameter."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parameter(
    default: Any, *, affects: tuple[str, ...] = (), rule: Rule | None = None, agree: bool = False
) -> Any:
    """A shared Config field: its default, the artifacts it changes, the rule its value must
    follow (beyond its type), and whether every notebook of a run must agree on it (``agree``;
    implied by ``affects``: a field that shapes the features or a head shapes every result)."""
    metadata = {"affects": affects, "rule": rule, "agree": agree or bool(affects)}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(init=False, eq=False)
class Config:
    """Experiment parameters; the names are those of the notebooks' ``parameters`` cells.

    The fields are the shared parameters; every analysis's own parameters (declared with it,
    :func:`helpers.declare.parameters`) are read as attributes too, ``cfg.saliency_images``.
    Defaults reproduce Mari et al.'s CIFAR-10 cats-vs-dogs setting (arXiv:1912.08278).

    Example:
        >>> Config(dataset="synthetic", saliency_images=8).saliency_images
        8
    """

    dataset: str = parameter("cifar10", affects=FEATURES, rule=one_of(*DATASETS))
    classes: list[str] = parameter(["cat", "dog"], affects=FEATURES)
    data_dir: str = parameter("data", affects=FEATURES)
    weights: str = parameter("imagenet", affects=FEATURES)
    image_size: int = parameter(224, affects=FEATURES, rule=POSITIVE)
    resize_size: int = parameter(0, affects=FEATURES, rule=at_least(0))
    n_qubits: int = parameter(4, affects=MODELS, rule=POSITIVE)
    circuit: str = parameter("mari", affects=QUANTUM_MODELS, rule=CIRCUIT)
    q_depth: int = parameter(DEFAULT_Q_DEPTH, affects=("hybrid", "unentangled"), rule=at_least(0))
    q_delta: float = parameter(0.01, affects=QUANTUM_MODELS, rule=at_least(0))
    epochs: int = parameter(3, affects=MODELS, rule=POSITIVE)
    batch_size: int = parameter(8, affects=MODELS, rule=POSITIVE)
    lr: float = parameter(0.001, affects=MODELS, rule=POSITIVE_NUMBER)
    lr_step: int = parameter(10, affects=MODELS, rule=POSITIVE)
    lr_gamma: float = parameter(1.0, affects=MODELS, rule=DECAY)
    classical_head: str = parameter(
        "512_nq_n", affects=("classical",), rule=one_of(*CLASSICAL_HEADS)
    )
    backend: str = parameter("fast", affects=QUANTUM_MODELS, rule=one_of(*QUANTUM_BACKENDS))
    seed: int = parameter(0, affects=FEATURES, rule=SEED)
    # Where the networks run (the quantum layer's simulator always runs on the CPU), and the
    # memory that one batch of images may take there: every batch is sized from it.
    device: str = parameter("auto", rule=DEVICE)
    memory_budget_mb: int = parameter(1024, rule=at_least(64))
    val_fraction: float = parameter(0.1, affects=MODELS, rule=FRACTION)
    seeds: list[int] = parameter([0, 1, 2, 3, 4], rule=SEED_LIST, agree=True)
    models: list[str] = parameter(list(DEFAULT_MODELS), rule=MODEL_LIST, agree=True)
    artifacts_dir: str = parameter("artifacts")
    cache_dir: str = parameter("data/features")
    smoke: bool = parameter(False)

    def __init__(self, **values: Any) -> None:
        declared = parameters()
        unknown = sorted(set(values) - set(self.field_names()))
        if unknown:
            raise ConfigError([f"unknown parameter {name!r}." for name in unknown])
        for field in dataclasses.fields(self):
            factory = field.default_factory
            default = field.default if factory is dataclasses.MISSING else factory()
            setattr(self, field.name, values.get(field.name, default))
        self._analysis = {
            name: values[name] if name in values else _copied(p.default)
            for name, p in declared.items()
        }
        if isinstance(self.classes, str):  # "cat, dog"
            self.classes = [name.strip() for name in self.classes.split(",") if name.strip()]
        for name, value in self.to_dict().items():
            if isinstance(value, tuple):
                self._set(name, list(value))
        if "hybrid" in self.models:  # not trained twice and compared with itself: see notes()
            self.models = [kind for kind in self.models if kind not in self.controls_it_is]
        self.validate()

    def notes(self) -> list[str]:
        """What the parameters make of the run, in words, where it is not what they say at face
        value: a hybrid at depth 0 is its own control(s); one seed compares nothing.

        Returns:
            One sentence per such setting (none for an ordinary run).

        Example:
            >>> Config(seeds=[7]).notes()[0].startswith("seeds=[7]: one trained model")
            True
        """
        found = []
        for control in self.controls_it_is if "hybrid" in self.models else ():
            found.append(
                f"q_depth=0: the hybrid is its own {CONTROL_WORDS[control]}; the {control} model "
                "is left out of this run rather than trained twice and compared with itself."
            )
        if len(self.seeds) == 1:
            found.append(
                f"seeds={self.seeds}: one trained model per architecture; the numbers are this "
                "seed's, and no comparison between models is testable (a paired test needs two "
                "or more seeds)."
            )
        return found

    def __getattr__(self, name: str) -> Any:
        analysis = self.__dict__.get("_analysis", {})
        if name in analysis:
            return analysis[name]
        raise AttributeError(f"{type(self).__name__} has no parameter {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_dict() == other.to_dict()

    def _set(self, name: str, value: Any) -> None:
        if name in self._analysis:
            self._analysis[name] = value
        else:
            setattr(self, name, value)

    def validate(self) -> None:
        """Raise :class:`ConfigError` with one line per problem (see :meth:`problems`)."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)

    def problems(self) -> list[str]:
        """Every invalid parameter, one line each, naming it, its value and what it must be."""
        found = []
        kinds = {
            field.name: (field.type, field.metadata["rule"]) for field in dataclasses.fields(self)
        }
        kinds.update({name: (p.kind, p.rule) for name, p in parameters().items()})
        for name, (kind, rule) in kinds.items():
            value = getattr(self, name)
            if not has_type(value, kind):
                found.append(f"{name}={value!r}: must be {TYPE_WORDS[kind]}.")
            elif rule is not None and not rule.holds(value):
                found.append(f"{name}={value!r}: must be {rule.text}.")
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
    def shared_names(cls) -> tuple[str, ...]:
        """The shared parameters (the fields), in order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every parameter: the shared ones, then every analysis's own."""
        return (*cls.shared_names(), *parameters())

    @classmethod
    def run_names(cls) -> tuple[str, ...]:
        """The parameters every notebook of a run must agree on: those that shape the features
        or a trained head (the training fingerprint), the seeds and the models. The others (each
        analysis's own, where things go, the device) may differ from notebook to notebook."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["agree"])

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
                [
                    f"{saved} is not readable JSON ({exc}): rerun {analyses()[0].notebook} to "
                    "rewrite it."
                ]
            ) from exc
        return cls.from_namespace(namespace, base)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter by name: the shared ones, then the analyses' (copies)."""
        shared = {name: _copied(getattr(self, name)) for name in self.shared_names()}
        return {**shared, **{name: _copied(value) for name, value in self._analysis.items()}}

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON, indented, keys sorted.

        Returns:
            The JSON text.

        Example:
            >>> json.loads(Config().to_json())["n_qubits"]
            4
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    # ----------------------------------------------------------------- derived values
    @property
    def controls_it_is(self) -> tuple[str, ...]:
        """The controls the hybrid is: at depth 0 no built-in family has multi-qubit gates
        (``unentangled``); Mari's and re-uploading's are their encoding alone (``product``)."""
        if self.q_depth != 0 or self.circuit not in CIRCUIT_FAMILIES:
            return ()
        return ("product",) * (self.circuit in ENCODING_AT_DEPTH_0) + ("unentangled",)

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


def _copied(value: Any) -> Any:
    """A list default or value copied, so no two configurations share it."""
    return list(value) if isinstance(value, list) else value


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
