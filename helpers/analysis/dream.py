"""DeepDream (Mordvintsev, Olah & Tyka 2015) for the hybrid network and its classical twin.

Gradient ascent on the input image to maximise an objective: one qubit's <Z_j> (or its
negative), the norm of a layer's output, a class logit, or the difference between the hybrid's
q_out norm and the classical hidden layer's. As in the original: several octaves (scales,
smallest first), random jitter (the image is rolled by a few pixels before every step and rolled
back after) and gradients normalised by their mean magnitude. Images stay in the models' valid
input range (pixels in [0, 1] before ImageNet normalisation); every run is seeded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from helpers.analysis.activations import record_outputs
from helpers.analysis.results import absent, explore_path
from helpers.config import Config
from helpers.declare import POSITIVE, Analysis, Parameter, Tab
from helpers.io import save_torch
from helpers.model.data import normalize

ANALYSIS = Analysis(
    name="dream",
    notebook="07_deep_dream",
    title="DeepDream: what image does each qubit and unit want to see?",
    parameters=(
        Parameter("dream_steps", 20, POSITIVE, smoke=10, help="steps per octave"),
        Parameter("dream_octaves", 3, POSITIVE, smoke=2, help="octaves (scales)"),
    ),
    writes=("explore/dreams.pt",),
    tab=Tab("DeepDream", "helpers.present.explore_tabs:DreamTab"),
    results=False,
)

Objective = Callable[[torch.Tensor], torch.Tensor]  # images (B, 3, H, W) -> values (B,)


def _layer_output(model: nn.Module, layer: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with record_outputs({"layer": layer}, detach=False) as outputs:
        model(images)
    return outputs["layer"][0]


def unit_objective(model: nn.Module, layer: nn.Module, unit: int, sign: float = 1.0) -> Objective:
    """``sign`` × one unit of ``layer``'s output (e.g. qubit j's <Z_j>)."""
    return lambda images: sign * _layer_output(model, layer, images)[:, unit]


def norm_objective(model: nn.Module, layer: nn.Module) -> Objective:
    """The L2 norm of ``layer``'s output (e.g. ‖q_out‖, the whole quantum layer)."""
    return lambda images: _layer_output(model, layer, images).norm(dim=1)


def logit_objective(model: nn.Module, class_index: int) -> Objective:
    """The pre-softmax logit of one class."""
    return lambda images: model(images)[:, class_index]


def standardised_norm(model: nn.Module, layer: nn.Module, reference: torch.Tensor) -> Objective:
    """``layer``'s output norm z-scored over the ``reference`` images (mean 0, SD 1 there): a
    bounded ⟨Z⟩ layer and an unbounded ReLU layer on one scale, as the project standardises
    units before comparing them (a ReLU layer's scale is arbitrary: the next Linear undoes it)."""
    norm = norm_objective(model, layer)
    with torch.no_grad():
        values = norm(reference)
    mean, spread = values.mean(), values.std().clamp_min(1e-12)
    return lambda images: (norm(images) - mean) / spread


def difference_objective(
    hybrid: nn.Module,
    hybrid_layer: nn.Module,
    classical: nn.Module,
    classical_layer: nn.Module,
    reference: torch.Tensor,
) -> Objective:
    """z‖hybrid layer‖ − z‖classical layer‖, each norm standardised over the ``reference``
    images (:func:`standardised_norm`): what excites the quantum layer more than its classical
    twin, each relative to its own typical response (the hackathon's "difference dream")."""
    hybrid_norm = standardised_norm(hybrid, hybrid_layer, reference)
    classical_norm = standardised_norm(classical, classical_layer, reference)
    return lambda images: hybrid_norm(images) - classical_norm(images)


def valid_range() -> tuple[torch.Tensor, torch.Tensor]:
    """Lowest and highest normalised value of each channel (pixels 0 and 1), ``(3, 1, 1)``."""
    return normalize(torch.zeros(3, 1, 1)), normalize(torch.ones(3, 1, 1))


def noise_image(size: int, seed: int = 0) -> torch.Tensor:
    """A grey image with faint noise, normalised, ``(1, 3, size, size)``: a neutral start.

    Args:
        size: The image's height and width in pixels.
        seed: Seeds the noise.

    Returns:
        The image ``(1, 3, size, size)``, ImageNet-normalised.

    Example:
        >>> tuple(noise_image(32, seed=0).shape)
        (1, 3, 32, 32)
    """
    generator = torch.Generator().manual_seed(seed)
    pixels = (0.5 + 0.05 * torch.randn(1, 3, size, size, generator=generator)).clamp(0, 1)
    return normalize(pixels)


@dataclasses.dataclass
class Dream:
    """A dreamed image (normalised, like the input), the objective of the start image and of
    the dream (both at full size), and the objective before every step (at that octave's size)."""

    image: torch.Tensor
    start_value: float
    final_value: float
    history: list[float]
    octave_sizes: list[int]


def dream(
    objective: Objective,
    image: torch.Tensor,
    steps: int = 20,
    octaves: int = 3,
    octave_scale: float = 1.4,
    step_size: float = 0.05,
    jitter: int = 2,
    seed: int = 0,
) -> Dream:
    """Gradient ascent of ``objective`` on ``image`` ``(1, 3, H, W)`` over ``octaves`` scales."""
    generator = torch.Generator().manual_seed(seed)
    low, high = valid_range()
    height, width = image.shape[-2:]
    sizes = [
        (max(8, round(height / octave_scale**k)), max(8, round(width / octave_scale**k)))
        for k in reversed(range(octaves))
    ]
    base = image.detach().clone()
    with torch.no_grad():
        start_value = float(objective(base).sum())
    history: list[float] = []
    detail = torch.zeros(1, 3, *sizes[0])
    for size in sizes:
        # Mordvintsev et al.'s octaves: the image at this scale plus the detail dreamed so far
        octave_base = functional.interpolate(base, size=size, mode="bilinear", align_corners=False)
        detail = functional.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        current = octave_base + detail
        for _ in range(steps):
            dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=generator))
            shifted = current.roll((dy, dx), dims=(2, 3)).requires_grad_(True)
            value = objective(shifted).sum()
            (grad,) = torch.autograd.grad(value, shifted)
            grad = grad.roll((-dy, -dx), dims=(2, 3))
            current = current + step_size * grad / grad.abs().mean().clamp_min(1e-12)
            current = torch.maximum(torch.minimum(current, high), low).detach()
            history.append(float(value.detach()))
        detail = current - octave_base
    with torch.no_grad():
        final_value = float(objective(current).sum())
    return Dream(current, start_value, final_value, history, [size[0] for size in sizes])


@dataclasses.dataclass
class DreamTable:
    """Dreamed images in rows and columns, each run's objective history and its start and final
    objective values (keyed ``(row, column)``)."""

    images: dict[str, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)
    histories: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    values: dict[tuple[str, str], tuple[float, float]] = dataclasses.field(default_factory=dict)

    def add(self, row: str, column: str, run: Dream, label: str) -> None:
        self.images.setdefault(row, {})[column] = run.image
        self.histories[label] = run.history
        self.values[(row, column)] = (run.start_value, run.final_value)


def unit_dreams(
    models: Mapping[str, nn.Module],
    layers: Mapping[str, nn.Module],
    start: torch.Tensor,
    **settings: Any,
) -> DreamTable:
    """Each qubit's ±<Z_j> (row ``hybrid qubits``) and the classical twin's hidden units pushed
    up (row ``classical units``: a ReLU unit has no negative side), all from ``start``.

    Args:
        models: The ``"hybrid"`` and ``"classical"`` models (images to logits), by kind.
        layers: Their unit layers (``unit_layer``: the quantum layer, the hidden ReLU), by kind.
        start: The start image ``(1, 3, H, W)``, normalised.
        **settings: Passed on to :func:`dream` (``steps``, ``octaves``, ``seed``, ...).

    Returns:
        The :class:`DreamTable`: rows ``hybrid qubits`` (columns ``+⟨Z_j⟩``, ``−⟨Z_j⟩``) and
        ``classical units`` (columns ``+h_j``).

    Example:
        >>> layers = {kind: unit_layer(m, kind) for kind, m in models.items()}  # doctest: +SKIP
        >>> units = unit_dreams(models, layers, start, steps=20, octaves=3)  # doctest: +SKIP
    """
    table = DreamTable()
    kinds = [kind for kind in DREAM_ROWS if kind in models]
    units = {kind: _layer_output(models[kind], layers[kind], start).shape[1] for kind in kinds}
    for j in range(max(units.values(), default=0)):  # unit by unit, the models side by side
        for kind in kinds:
            signs = ((1.0, "+"), (-1.0, "−")) if kind == "hybrid" else ((1.0, "+"),)
            for sign, symbol in signs if j < units[kind] else ():
                name = f"{symbol}⟨Z_{j}⟩" if kind == "hybrid" else f"+h_{j}"
                run = dream(unit_objective(models[kind], layers[kind], j, sign), start, **settings)
                table.add(DREAM_ROWS[kind], name, run, f"{kind} {name}")
    return table


def target_objectives(
    models: Mapping[str, nn.Module],
    layers: Mapping[str, nn.Module],
    classes: Sequence[str],
    reference: torch.Tensor,
) -> dict[str, Objective]:
    """The norm of each head's layer, the difference dream, and every class logit of both
    (of those of the two that ``models`` holds; the difference needs both).

    Args:
        models: The ``"hybrid"`` and ``"classical"`` models (images to logits), by kind.
        layers: Their unit layers, by kind.
        classes: Class names, in logit order.
        reference: Test images ``(B, 3, H, W)`` that standardise the difference dream's norms.

    Returns:
        The objectives (images ``(B, 3, H, W)`` to values ``(B,)``), by display name.

    Example:
        >>> reference, _, _ = session.test_images(16)  # doctest: +SKIP
        >>> classes = ["cat", "dog"]
        >>> objectives = target_objectives(models, layers, classes, reference)  # doctest: +SKIP
    """
    kinds = [kind for kind in ("hybrid", "classical") if kind in models]
    targets = {}
    if "hybrid" in models:
        targets["‖q_out‖ (hybrid)"] = norm_objective(models["hybrid"], layers["hybrid"])
    if "classical" in models:
        targets["‖h_out‖ (classical)"] = norm_objective(models["classical"], layers["classical"])
    if len(kinds) == 2:
        targets["z‖q_out‖ − z‖h_out‖"] = difference_objective(
            models["hybrid"], layers["hybrid"], models["classical"], layers["classical"], reference
        )
    for index, name in enumerate(classes):
        for kind in kinds:
            targets[f"{kind} logit '{name}'"] = logit_objective(models[kind], index)
    return targets


def target_dreams(
    objectives: Mapping[str, Objective], starts: Mapping[str, torch.Tensor], **settings: Any
) -> DreamTable:
    """Every objective dreamed from every start image: one row per start.

    Args:
        objectives: The objectives to maximise, by name (the columns).
        starts: Start images ``(1, 3, H, W)``, normalised, by name (the rows).
        **settings: Passed on to :func:`dream` (``steps``, ``octaves``, ``seed``, ...).

    Returns:
        The :class:`DreamTable`, keyed ``[start][objective]``.

    Example:
        >>> starts = {"from the image": start, "from noise": noise_image(224)}  # doctest: +SKIP
        >>> targets = target_dreams(objectives, starts, steps=20)  # doctest: +SKIP
    """
    table = DreamTable()
    for origin, image in starts.items():
        for name, objective in objectives.items():
            table.add(origin, name, dream(objective, image, **settings), f"{origin} {name}")
    return table


DREAMS_FILE = "dreams.pt"
# the rows of :func:`unit_dreams` that hold each model's unit dreams
DREAM_ROWS = {"hybrid": "hybrid qubits", "classical": "classical units"}


@dataclasses.dataclass
class Dreams:
    """The unit dreams of notebook 07: images ``[row][column]`` and objective values."""

    images: dict[str, dict[str, torch.Tensor]]
    values: dict[str, list[float]]
    start: torch.Tensor

    def units(self, model: str) -> int:
        """How many units of ``model`` have a dream (a circuit's outputs, a twin's ReLUs)."""
        return sum(column.startswith("+") for column in self.images.get(DREAM_ROWS[model], {}))

    def pick(self, model: str, unit: int, sign: int = 1) -> tuple[torch.Tensor, float, float]:
        """The dream of ``model``'s unit (qubit ⟨Z_unit⟩ or ReLU unit) pushed up (``sign`` 1) or
        down (-1, qubits only), with the objective at the start image and at the dream."""
        if model not in DREAM_ROWS:
            raise ValueError(f"model={model!r} has no unit dreams; use one of {list(DREAM_ROWS)}.")
        if model == "classical" and sign < 0:
            raise ValueError("a ReLU unit has no negative side: use sign=+1 for classical units.")
        symbol = "+" if sign > 0 else "−"
        column = f"{symbol}⟨Z_{unit}⟩" if model == "hybrid" else f"+h_{unit}"
        row = DREAM_ROWS[model]
        if column not in self.images.get(row, {}):
            raise ValueError(f"no dream {column!r} of the {model} model in this run.")
        start, final = self.values[f"{row}\t{column}"]
        return self.images[row][column], start, final


def save_dreams(cfg: Config, table: DreamTable, start: torch.Tensor) -> Path:
    """Write the unit dreams of :func:`~helpers.analysis.dream.unit_dreams`, their start and
    final objective values, and the start image.

    Args:
        cfg: The run's configuration (where to write).
        table: The :func:`unit_dreams` table.
        start: The start image ``(1, 3, H, W)`` they were dreamed from.

    Returns:
        The written file, ``<artifacts_dir>/explore/dreams.pt``.

    Example:
        >>> save_dreams(cfg, units, start)  # doctest: +SKIP
    """
    values = {f"{row}\t{column}": list(value) for (row, column), value in table.values.items()}
    stored = {"images": table.images, "values": values, "start": start}
    return save_torch(stored, explore_path(cfg) / DREAMS_FILE)


def load_dreams(cfg: Config) -> tuple[Dreams | None, list[str]]:
    """The run's unit dreams (None if absent, with the line saying so)."""
    path = explore_path(cfg) / DREAMS_FILE
    if path.is_file():
        return Dreams(**torch.load(path, map_location="cpu", weights_only=True)), []
    return None, [absent(cfg, path)]
