"""Make ``import torchvision`` work when its compiled ops cannot load (pytorch/vision#9077).

The torchvision 0.28.0 wheel on PyPI is a CUDA build. Next to a CPU build of torch its ``_C``
extension fails to load, and ``torchvision/_meta_registrations.py`` then registers fake kernels for
``torchvision::nms`` and ``torchvision::qnms`` without checking that the ops exist, so the import
dies with ``RuntimeError: operator torchvision::nms does not exist``. This project uses none of
torchvision's C++ ops (models, transforms and datasets are pure Python), so when the extension is
missing we declare the two schemas ourselves; the ops keep no kernel and calling them still raises
torchvision's own "Couldn't load custom C++ ops" error.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

_MISSING_OP_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_fragment: torch.library.Library | None = None


def torchvision_extension_loads() -> bool:
    """Whether torchvision's compiled ``_C`` extension loads next to this torch build."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for candidate in sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd")):
        try:
            torch.ops.load_library(str(candidate))
        except (OSError, ImportError):
            return False
        return True
    return False


def ensure_torchvision_importable() -> bool:
    """Declare the op schemas torchvision's import needs if its extension cannot load.

    Must run before the first ``import torchvision``. Returns True when the workaround was applied.
    """
    global _fragment
    if _fragment is not None or "torchvision" in sys.modules or torchvision_extension_loads():
        return False
    _fragment = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _MISSING_OP_SCHEMAS:
        _fragment.define(schema)
    return True
