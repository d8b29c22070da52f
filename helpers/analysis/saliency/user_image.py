"""A photo of the user's explained by every model (:func:`explain_user_image`), and the checks
notebook 03 runs in preflight on its sizes and the user image (:func:`check_inputs`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from helpers.analysis.saliency.maps import explain
from helpers.config import Config
from helpers.model.data import drawn_per_class, image_transform


@dataclasses.dataclass
class Explanation:
    """Every model's saliency map of one image and its class probabilities."""

    name: str
    method: str
    image: torch.Tensor  # (1, 3, S, S), normalised
    maps: dict[str, torch.Tensor]  # model -> (1, S, S)
    probabilities: dict[str, torch.Tensor]  # model -> (1, C)


def explain_user_image(
    source: Image.Image | str | Path,
    models: Mapping[str, nn.Module],
    cfg: Config,
    method: str = "integrated_gradients",
) -> Explanation:
    """Both models' maps of any photo (a PIL image or a path), through the models' transform.

    Args:
        source: A PIL image, or the path of an image file.
        models: The models to explain (images to logits), by name.
        cfg: The run's configuration (the image transform and the seed).
        method: A method of :data:`METHODS`, or ``"random"``.

    Returns:
        The :class:`Explanation`: the image ``(1, 3, S, S)``, each model's map ``(1, S, S)`` of
        its predicted class and its probabilities ``(1, C)``.

    Example:
        >>> explanation = explain_user_image("photo.jpg", models, cfg)  # doctest: +SKIP
    """
    image = load_user_image(source, cfg)
    maps, probabilities = explain(models, image, method, seed=cfg.seed)
    name = str(source) if isinstance(source, str | Path) else "your image"
    return Explanation(name, method, image, maps, probabilities)


def check_inputs(cfg: Config) -> None:
    """Raise if ``user_image`` is set but is no image Pillow can read, or if ``saliency_images``
    (or the test split) gives fewer than two images of a class, which an SE over images and a
    curve for each class need (preflight)."""
    path, least = cfg.user_image_path, 2 * cfg.n_classes
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"user_image={str(path)!r}: no such file.")
    try:
        if path is not None:
            with Image.open(path) as image:
                image.verify()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(
            f"user_image={str(path)!r} is not an image Pillow can read: {exc}"
        ) from exc
    if cfg.saliency_images < least:
        raise ValueError(
            f"saliency_images={cfg.saliency_images}: the scores' standard errors over images need "
            f"at least two images of each class; give saliency_images >= {least}."
        )
    if min(counts := drawn_per_class(cfg, cfg.saliency_images) or [2]) < 2:
        raise ValueError(
            f"saliency_images={cfg.saliency_images}: the test split gives {counts} images per "
            "class, and the scores' standard errors need two of each; use a larger test split."
        )


def load_user_image(source: Image.Image | str | Path, cfg: Config) -> torch.Tensor:
    """A PIL image or an image file, through the models' transform: ``(1, 3, S, S)``."""
    if not isinstance(source, Image.Image):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"user_image={str(path)!r}: no such image file.")
        source = Image.open(path)
    return image_transform(cfg)(source.convert("RGB"))[None]
