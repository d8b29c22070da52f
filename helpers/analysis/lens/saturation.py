"""Saturation: where the pre-net drives the angle encoding ``tanh(·)·π/2`` to its ends, and what
the circuit computes there.

At an input of ±π/2, ``RY`` prepares ``|±⟩``-like states whose every sine is ±1: a circuit fed
only saturated inputs acts as a Boolean function of their signs. Its truth table (one row per
sign pattern the test images reach: the images of each class, the outputs and the head's
decision at the corner ``s·π/2``) is then the whole story of what the trained layer computes
on those images.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from helpers.model.heads import DressedQuantumHead

THRESHOLD = 0.99  # |tanh| at or above it: the input is at the end of its range


def saturated(angles: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Whether each circuit input is within ``1 − threshold`` of ±π/2, ``(N, n_inputs)``."""
    return np.abs(np.asarray(angles)) >= threshold * math.pi / 2


@torch.no_grad()
def truth_table(
    head: DressedQuantumHead,
    angles: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    threshold: float = THRESHOLD,
) -> list[dict[str, object]]:
    """The circuit's truth table: the test images grouped by the signs of their inputs.

    Args:
        head: A trained dressed head.
        angles: Its circuit inputs on the test images, ``(N, n_inputs)`` (e.g.
            :func:`~helpers.analysis.lens.function.circuit_inputs`).
        labels: The images' labels ``(N,)``.
        n_classes: The number of classes.
        threshold: ``|tanh|`` at or above which an input counts as saturated.

    Returns:
        One row per sign pattern reached, most frequent first: ``signs`` (a string of + and −,
        input 0 first), ``images`` per class (a list), ``saturated`` (how many of them have
        every input saturated: for those the corner is what the circuit computes), ``outputs``
        (⟨O_j⟩ at the corner ``signs·π/2``) and ``decision`` (the class the head gives it).

    Example:
        >>> rows = truth_table(head, angles, labels.numpy(), 2)  # doctest: +SKIP
    """
    angles, labels = np.asarray(angles), np.asarray(labels)
    signs = np.where(angles >= 0, 1, -1)
    every = saturated(angles, threshold).all(axis=1)
    patterns, which = np.unique(signs, axis=0, return_inverse=True)
    which = which.ravel()
    corners = torch.from_numpy(patterns * math.pi / 2)
    outputs = head.q_layer(corners).double()
    decisions = head.post_net(outputs.to(head.post_net.weight)).argmax(dim=1)
    rows = [
        {
            "signs": "".join("+" if s > 0 else "−" for s in pattern),
            "images": np.bincount(labels[which == k], minlength=n_classes).tolist(),
            "saturated": int(every[which == k].sum()),
            "outputs": outputs[k].tolist(),
            "decision": int(decisions[k]),
        }
        for k, pattern in enumerate(patterns)
    ]
    return sorted(rows, key=lambda row: -sum(row["images"]))
