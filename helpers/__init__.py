"""Helpers for the notebooks: Mari et al.'s hybrid transfer-learning network and its analyses.

Importing the package first makes ``torchvision`` importable on CPU-only torch builds (see
:mod:`helpers._torchvision_compat`), so import ``helpers`` before ``torchvision``.
"""

from helpers._torchvision_compat import ensure_torchvision_importable

ensure_torchvision_importable()

from helpers.config import Config  # noqa: E402

__all__ = ["Config"]
