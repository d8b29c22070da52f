"""The layer's additive part: its terms of interaction order 0 and 1, and what is left.

Every output of the quantum layer is a trigonometric polynomial in its inputs
(:mod:`helpers.analysis.lens.fourier`). Grouping its Fourier terms by the inputs they couple is
the functional ANOVA of the output under uniformly random angles: the constant f₀, one main
effect ``f_i(x_i)`` per input, and the rest, the terms coupling two or more inputs. The main
effects follow from one-dimensional averages, ``f₀ + f_i(t) = E_{x_−i}[f(t, x_−i)]``, and each
is a polynomial of degree ``K_i`` in ``t``, fixed by its values at ``2K_i + 1`` angles:

* **exact** when the other inputs' grid (``2K_j + 1`` angles each) is small enough
  (:data:`EXACT_EVALUATIONS`): a trigonometric polynomial's mean over that grid is its constant
  term, with no error;
* **estimated** otherwise, by averaging over ``samples`` uniform draws of the other inputs, with
  the standard error of that mean (reported, never hidden).

The additive part needs no full spectrum, so it is available at any width; the surrogate
``f₀ + Σ f_i(x_i)`` is what a circuit without any multi-input coupling could compute at best in
this sense, and ``f − (f₀ + Σ f_i)`` is everything the multi-qubit gates contribute.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from helpers.analysis.lens.fourier import input_degrees
from helpers.quantum import QuantumLayer

EXACT_EVALUATIONS = 2**18  # layer evaluations allowed for an exact additive part
SAMPLES = 4096  # uniform draws of the other inputs for an estimated one


@dataclasses.dataclass(frozen=True)
class AdditivePart:
    """``f₀ + Σ_i f_i(x_i)`` for every output ``j``.

    ``constant`` ``(J,)`` is f₀; ``main_effects[i]`` ``(J, 2K_i + 1)`` holds the complex Fourier
    coefficients of ``f₀ + f_i`` in ``x_i`` at frequencies ``−K_i..K_i``; ``error`` ``(J,)`` is
    the surrogate's approximate standard error at a point, ``sqrt(Σ_i s_i²)`` with ``s_i`` the
    largest standard error of input i's averages (0 when ``exact``).
    """

    constant: np.ndarray
    main_effects: tuple[np.ndarray, ...]
    error: np.ndarray
    exact: bool

    def main_effects_at(self, inputs: np.ndarray) -> np.ndarray:
        """Each input's main effect ``f_i(x_i)`` on every output: ``(B, n_inputs, J)``."""
        inputs = np.asarray(inputs, dtype=float)
        effects = []
        for i, coefficients in enumerate(self.main_effects):
            degree = (coefficients.shape[1] - 1) // 2
            phases = np.exp(1j * np.outer(inputs[:, i], np.arange(-degree, degree + 1)))
            effects.append((phases @ coefficients.T).real - self.constant)
        return np.stack(effects, axis=1)

    def evaluate(self, inputs: np.ndarray) -> np.ndarray:
        """The additive surrogate at ``inputs`` ``(B, n_inputs)``: ``(B, J)``."""
        return self.constant + self.main_effects_at(inputs).sum(axis=1)


def _angles(degree: int) -> np.ndarray:
    return 2 * np.pi * np.arange(2 * degree + 1) / (2 * degree + 1)


def _others(degrees: np.ndarray, i: int, samples: int, rng: np.random.Generator):
    """Points for the other inputs: their full grid (exact) or uniform draws (estimated)."""
    rest = [int(d) for j, d in enumerate(degrees) if j != i]
    size = math.prod(2 * d + 1 for d in rest)
    if size * (2 * degrees[i] + 1) * len(degrees) <= EXACT_EVALUATIONS:
        grids = np.meshgrid(*[_angles(d) for d in rest], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).reshape(size, len(rest)), True
    return rng.uniform(0, 2 * np.pi, (samples, len(rest))), False


def additive_part(layer: QuantumLayer, samples: int = SAMPLES, seed: int = 0) -> AdditivePart:
    """The additive part of the layer's outputs at its current weights.

    Args:
        layer: The quantum layer (any circuit whose inputs enter with integer frequencies).
        samples: Uniform draws of the other inputs where their grid is too large to average
            over exactly (see the module docstring).
        seed: Seed of those draws.

    Returns:
        The :class:`AdditivePart`; ``exact`` says whether every average was over the full grid.

    Example:
        >>> part = additive_part(QuantumLayer(2, 0))  # ⟨Z_j⟩ = −sin(x_j): additive
        >>> bool(part.exact and np.allclose(part.evaluate(np.ones((1, 2))), -np.sin(1)))
        True
    """
    degrees = input_degrees(layer)
    rng = np.random.default_rng(seed)
    effects, errors, exact = [], [], True
    for i, degree in enumerate(degrees):
        others, on_grid = _others(degrees, i, samples, rng)
        exact &= on_grid
        angles = _angles(int(degree))
        points = np.insert(
            np.repeat(others, len(angles), axis=0), i, np.tile(angles, len(others)), axis=1
        )
        with torch.no_grad():
            values = layer(torch.from_numpy(points)).double().numpy()
        values = values.reshape(len(others), len(angles), -1)  # (draws, angles, J)
        means = values.mean(axis=0)
        spread = 0.0 if on_grid else values.std(axis=0, ddof=1).max(axis=0)
        errors.append(np.zeros(values.shape[-1]) + spread / math.sqrt(len(others)))
        effects.append(np.fft.fftshift(np.fft.fft(means, axis=0), axes=0).T / len(angles))
    constant = np.mean([effect[:, (effect.shape[1] - 1) // 2].real for effect in effects], axis=0)
    return AdditivePart(
        constant=constant,
        main_effects=tuple(effects),
        error=np.sqrt(np.sum(np.square(errors), axis=0)),
        exact=exact,
    )
