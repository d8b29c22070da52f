"""Everything a run needs, checked before any notebook starts, within seconds.

:func:`run_parameters` turns ``-p NAME VALUE`` pairs into validated notebook parameters, with
every path resolved once against the repository root; :func:`resource_problems` then checks what
the chosen notebooks will read and write. Both report every problem at once, one line each.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from helpers.config import WEIGHT_PRESETS, Config, ConfigError, smoke_overrides
from helpers.declare import of_notebook

PATH_PARAMETERS = ("data_dir", "weights", "user_image", "artifacts_dir", "cache_dir")


def parse_value(text: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, booleans, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _unknown(name: str) -> str:
    close = get_close_matches(name, Config.field_names(), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown parameter {name!r}: {hint}valid: {', '.join(Config.field_names())}."


def run_parameters(
    smoke: bool, overrides: Sequence[tuple[str, str]], output_dir: Path
) -> dict[str, Any]:
    """Smoke settings (if asked), then ``-p`` overrides; ``artifacts_dir`` under the output.

    Relative paths become absolute, resolved against the repository root, so that preflight and
    every notebook (whose kernels run in ``notebooks/``) read the same files. Raises
    :class:`ConfigError` listing every unknown or invalid parameter.
    """
    parameters: dict[str, Any] = smoke_overrides() if smoke else {}
    parameters["artifacts_dir"] = str((output_dir / "artifacts").resolve())
    problems = [_unknown(name) for name, _ in overrides if name not in Config.field_names()]
    parameters.update(
        {name: parse_value(value) for name, value in overrides if name in Config.field_names()}
    )
    try:
        cfg = Config(**parameters)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    for name in PATH_PARAMETERS:
        value = getattr(cfg, name)
        if name in parameters and value and value not in WEIGHT_PRESETS:
            parameters[name] = str(cfg.path(value))
    return parameters


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OSError(
            f"cannot write to {folder} ({exc.strerror or exc}): choose another --output-dir, "
            "artifacts_dir or cache_dir."
        ) from exc


def _checks(cfg: Config, output_dir: Path, notebooks: Sequence[str]) -> list[Callable[[], Any]]:
    from helpers.model.backbone import load_backbone
    from helpers.model.data import load_splits

    folders = (output_dir, cfg.artifacts_path, cfg.cache_path)
    checks: list[Callable[[], Any]] = [
        lambda: load_splits(cfg),
        lambda: load_backbone(cfg.weights_source, cfg.seed),
        *(lambda folder=folder: _writable(folder) for folder in folders),
    ]
    for name in notebooks:
        analysis = of_notebook(name)
        if analysis is not None and analysis.check is not None:
            checks.append(lambda check=analysis.check: check(cfg))
    return checks


def resource_problems(cfg: Config, output_dir: Path, notebooks: Sequence[str]) -> list[str]:
    """What the chosen notebooks need and cannot have: data (every class folder with images),
    backbone weights (a loadable ResNet18 state dict), writable output, artifact and cache
    folders, and each chosen analysis's own check (:attr:`helpers.declare.Analysis.check`, e.g.
    the user image, the fake device); one line per problem."""
    problems = []
    for check in _checks(cfg, output_dir, notebooks):
        try:
            check()
        except (OSError, ValueError) as exc:  # the data and weights errors derive from these
            problems.append(str(exc))
    return problems
