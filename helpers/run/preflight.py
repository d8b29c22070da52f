"""Everything a run needs, checked before any notebook starts, within seconds.

:func:`run_parameters` turns ``-p NAME VALUE`` pairs into validated notebook parameters, with
every path resolved once against the repository root; :func:`resource_problems` then checks what
the chosen notebooks will read and write. Both report every problem at once, one line each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from helpers.config import (
    PATH_PARAMETERS,
    RUN_CONFIG,
    WEIGHT_PRESETS,
    Config,
    ConfigError,
    smoke_overrides,
)
from helpers.declare import of_notebook, parameters, trainer
from helpers.fingerprints import resolved


def parse_value(text: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, booleans, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def unknown_name(name: str) -> str:
    """Why ``name`` is not a parameter, with the closest valid name and the valid ones."""
    close = get_close_matches(name, Config.field_names(), n=1)
    what = parameters().get(close[0]) if close else None
    hint = f"did you mean {close[0]!r}{f' ({what.help})' if what else ''}? " if close else ""
    return f"unknown parameter {name!r}: {hint}valid: {', '.join(Config.field_names())}."


def recorded_run(output_dir: Path, overrides: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The configuration the run in ``output_dir`` recorded (``artifacts/config.json``, or that of
    an ``artifacts_dir`` given with ``-p``), empty when there is none yet."""
    given = dict(overrides).get("artifacts_dir")
    folder = Config().path(given) if given else (output_dir / "artifacts").resolve()
    path = folder / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        recorded = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError([f"{path} is not readable JSON ({exc}): rerun the series."]) from exc
    return {name: value for name, value in recorded.items() if name in Config.field_names()}


def run_parameters(
    smoke: bool,
    overrides: Sequence[tuple[str, str]],
    output_dir: Path,
    recorded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's recorded configuration (``recorded``, when a run continues), smoke settings (if
    asked), then ``-p`` overrides; ``artifacts_dir`` under the output.

    Relative paths become absolute, resolved against the repository root, so that preflight and
    every notebook (whose kernels run in ``notebooks/``) read the same files. Raises
    :class:`ConfigError` listing every unknown or invalid parameter.
    """
    parameters: dict[str, Any] = dict(recorded or {})
    parameters.update(smoke_overrides() if smoke else {})
    parameters["artifacts_dir"] = str((output_dir / "artifacts").resolve())
    problems = [unknown_name(name) for name, _ in overrides if name not in Config.field_names()]
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
    """Raise unless ``folder`` can be written or created; creates nothing (a run that cannot
    start leaves no folder behind)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    reason = None
    if not existing.is_dir():
        reason = f"{existing} is not a directory"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f"{existing} is not writable"
    if reason:
        raise OSError(
            f"cannot write to {folder} ({reason}): choose another --output-dir, artifacts_dir "
            "or cache_dir."
        )


def changed_since_training(
    parameters: dict[str, Any], recorded: dict[str, Any], notebooks: Sequence[str]
) -> list[str]:
    """The run parameters that differ from those the run's heads were trained with, when the
    chosen notebooks do not train them again; one line each, saying what to do."""
    trains = {model for name in notebooks if (a := of_notebook(name)) for model in a.trains}
    if not recorded:
        return []
    now, before = Config(**parameters), Config(**recorded)
    kept = [kind for kind in before.models if kind not in trains]  # heads read, not retrained
    lines = []
    for name in Config.run_names():
        shaped = [k for k in kept if name in Config.fields_affecting(k)]
        if name in ("seeds", "models"):
            shaped = kept
        if not shaped:
            continue
        old, new = getattr(before, name), getattr(now, name)
        if resolved(before, name, shaped[0]) != resolved(now, name, shaped[0]):  # paths resolved
            retrain = sorted({trainer(kind).notebook for kind in shaped})
            lines.append(
                f"{name}={new!r} differs from the run's trained heads ({name}={old!r}, "
                f"{', '.join(shaped)}): include {' and '.join(retrain)} in --only to train them "
                f"again, or drop -p {name}."
            )
    return lines


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
