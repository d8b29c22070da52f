"""Where the networks run, and how many images one batch may hold there.

The ``device`` parameter (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) places the frozen
backbone and the classical heads; the quantum layer always simulates on the CPU and moves its
tensors across at its boundary (:class:`helpers.quantum.QuantumLayer`). Every batch of images is
sized from ``memory_budget_mb`` by :func:`images_per_batch`, so results do not depend on the
budget, only the time and memory they take.
"""

from __future__ import annotations

import torch

from helpers.config import Config

# Peak working memory of ResNet18 per input pixel (float32), measured at 224 px on the CPU with
# batches of 8 and 32 and rounded up by about 15 %: a forward pass without autograd keeps ~7 MB
# per image alive, a forward pass kept for a backward pass to the pixels ~30 MB.
BYTES_PER_PIXEL = {"inference": 160, "gradient": 700}
# On a CPU, inference slows as a batch outgrows the caches: ResNet18 (BatchNorm folded, channels
# last, 2 cores) took 8.6-9.3 ms per 224 px image in batches of 8-16, 11.6 at 64 and 12.5 at
# 128. CPU inference batches hold at most this many pixels (16 images at 224 px); gradient passes
# are flat in the batch size (68-72 ms for 1 forward + 4 backward at 8-32 images).
CPU_INFERENCE_PIXELS = 16 * 224**2
DEFAULT_MEMORY_BUDGET_MB = Config.memory_budget_mb


class DeviceUnavailableError(RuntimeError):
    """The requested device is not usable by this torch build on this machine."""


def available_devices() -> list[str]:
    """The devices torch can use here, best first after ``cpu``: ``cpu``, ``cuda:N``, ``mps``."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> torch.device:
    """The torch device for a ``device`` parameter value; ``auto`` picks CUDA, then MPS, then CPU.

    Raises :class:`DeviceUnavailableError` naming what is available when the choice is not.
    """
    available = available_devices()
    if name == "auto":
        gpus = [device for device in available if device != "cpu"]
        return torch.device(gpus[0] if gpus else "cpu")
    wanted = "cuda:0" if name == "cuda" else name
    if wanted not in available:
        build = f"torch {torch.__version__}" + (
            "" if torch.backends.cuda.is_built() else ", a build without CUDA"
        )
        raise DeviceUnavailableError(
            f"device={name!r} is not available here ({build}); available: "
            f"{', '.join(available)}. Use device='auto' to take the best of them."
        )
    return torch.device(wanted)


def images_per_batch(
    memory_budget_mb: int, mode: str, image_size: int, device: torch.device | None = None
) -> int:
    """How many images of ``image_size`` px one ``mode`` pass (``inference``, or ``gradient``:
    the graph kept for a backward pass) may hold within ``memory_budget_mb``; at least 1. On a
    CPU ``device``, inference batches also stay within ``CPU_INFERENCE_PIXELS`` (faster)."""
    if mode not in BYTES_PER_PIXEL:
        raise ValueError(f"mode={mode!r}: use one of {', '.join(BYTES_PER_PIXEL)}.")
    fits = memory_budget_mb * 2**20 // (BYTES_PER_PIXEL[mode] * image_size**2)
    if device is not None and device.type == "cpu" and mode == "inference":
        fits = min(fits, CPU_INFERENCE_PIXELS // image_size**2)
    return max(1, fits)


def run_device(cfg: Config) -> torch.device:
    """The run's device (:func:`resolve_device` of ``cfg.device``)."""
    return resolve_device(cfg.device)
