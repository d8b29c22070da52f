"""A sweep's grid: the points it runs, each one series run with its own parameters, checked
before anything starts.

A grid maps parameter names to the values to sweep; the points are every combination, in the
grid's order (the first parameter varies slowest). Every point also gets the sweep's fixed
parameters (``-p``). Grids come from the command line (``--grid NAME VALUE...``) or a YAML or
JSON file::

    grid:
      q_depth: [0, 1, 2, 3, 4]
      circuit: [mari, reuploading]
    parameters:          # optional: the same for every point
      dataset: imagefolder
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from helpers.config import Config, ConfigError
from helpers.run.preflight import parse_value, resource_problems, run_parameters, unknown_name

# Set by the sweep for each point (its own folder), not swept.
NOT_SWEPT = ("artifacts_dir",)


@dataclasses.dataclass(frozen=True)
class Point:
    """One configuration of the grid: its swept ``values``, a readable ``name``
    (``q_depth=3, circuit=mari``) and its ``folder`` name (``q_depth-3_circuit-mari``)."""

    values: dict[str, Any]

    @property
    def name(self) -> str:
        return ", ".join(f"{key}={_text(value)}" for key, value in self.values.items())

    @property
    def folder(self) -> str:
        parts = (f"{key}-{_text(value)}" for key, value in self.values.items())
        return re.sub(r"[^A-Za-z0-9_.=-]+", "-", "_".join(parts)).strip("-")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclasses.dataclass
class Grid:
    """The swept values by parameter, and the fixed parameters of every point.

    Example:
        >>> grid = Grid({"q_depth": [0, 2], "lr": [0.001, 0.01]}, {"epochs": 2})
        >>> [point.name for point in grid.points()][:2]
        ['q_depth=0, lr=0.001', 'q_depth=0, lr=0.01']
    """

    swept: dict[str, list[Any]]
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)

    def points(self) -> list[Point]:
        """Every combination of the swept values (the first parameter varies slowest)."""
        combos = itertools.product(*self.swept.values())
        return [Point(dict(zip(self.swept, combo, strict=True))) for combo in combos]

    def parameters(self, point: Point) -> dict[str, Any]:
        """The parameters a point's series runs with: the fixed ones, then its swept values."""
        return {**self.fixed, **point.values}


def grid_from_arguments(
    pairs: Sequence[Sequence[str]], fixed: Sequence[tuple[str, str]], path: Path | None = None
) -> Grid:
    """The grid of ``--grid NAME VALUE...`` options (values parsed as ``-p`` parses them) and of
    the file ``path``, if given, with the ``-p NAME VALUE`` pairs as fixed parameters.

    Raises :class:`ConfigError` for an unreadable file or a malformed option."""
    swept: dict[str, list[Any]] = {}
    given: dict[str, Any] = {}
    if path is not None:
        loaded = read_grid_file(path)
        swept.update(loaded.swept)
        given.update(loaded.fixed)
    problems = []
    for pair in pairs:
        if len(pair) < 2:
            problems.append(f"--grid {' '.join(pair)}: give a parameter name and its values.")
            continue
        swept[pair[0]] = [parse_value(text) for text in pair[1:]]
    if problems:
        raise ConfigError(problems)
    given.update({name: parse_value(value) for name, value in fixed})
    return Grid(swept, given)


def read_grid_file(path: Path) -> Grid:
    """A grid from a YAML or JSON file (see the module docstring)."""
    try:
        content = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"cannot read the grid file {path} ({exc})."]) from None
    if not isinstance(content, Mapping) or not isinstance(content.get("grid"), Mapping):
        raise ConfigError([f"{path}: expected a mapping with a 'grid' of parameter: [values]."])
    fixed = content.get("parameters") or {}
    if not isinstance(fixed, Mapping):
        raise ConfigError([f"{path}: 'parameters' must map names to values."])
    swept = {
        name: list(values) if isinstance(values, list) else [values]
        for name, values in content["grid"].items()
    }
    return Grid(swept, dict(fixed))


def as_overrides(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Parameters as the pipeline's ``-p NAME VALUE`` pairs (non-strings as JSON)."""
    return [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in parameters.items()]


def grid_problems(grid: Grid, smoke: bool, output_dir: Path, notebooks: Sequence[str]) -> list[str]:
    """Everything wrong with a sweep before it starts, one line each: unknown or unsweepable
    parameter names, empty or repeated values, every point whose parameters are invalid (named),
    and what each distinct point cannot read or write (:func:`resource_problems`)."""
    problems = []
    for name, values in grid.swept.items():
        if name not in Config.field_names():
            problems.append(f"--grid {name}: {unknown_name(name)}")
        elif name in NOT_SWEPT:
            problems.append(f"--grid {name}: each point has its own {name}; it cannot be swept.")
        elif not values:
            problems.append(f"--grid {name}: no values to sweep.")
        elif len({json.dumps(v, sort_keys=True) for v in values}) < len(values):
            problems.append(f"--grid {name}: a value is repeated ({values}).")
    for name in grid.fixed:
        if name not in Config.field_names():
            problems.append(f"-p {name}: {unknown_name(name)}")
        elif name in NOT_SWEPT:
            problems.append(f"-p {name}: each point has its own {name} (in its folder).")
    if problems:
        return problems
    checked: set[str] = set()
    for point in grid.points():
        folder = output_dir / point.folder
        try:
            parameters = run_parameters(smoke, as_overrides(grid.parameters(point)), folder)
        except ConfigError as exc:
            problems += [f"point {point.name}: {problem}" for problem in exc.problems]
            continue
        key = json.dumps({**parameters, "artifacts_dir": None}, sort_keys=True, default=str)
        if key in checked:
            continue
        checked.add(key)
        for problem in resource_problems(Config(**parameters), folder, notebooks):
            problems.append(f"point {point.name}: {problem}")
    if len({point.folder for point in grid.points()}) < len(grid.points()):
        problems.append("two points would share a folder: give the values distinct names.")
    return problems
