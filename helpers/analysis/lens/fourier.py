"""The quantum layer as a trigonometric polynomial in its inputs: exact Fourier coefficients.

Each input x_i enters the circuit through rotations exp(−i·a·x_i/2·P); the outputs are then
trigonometric polynomials in x_i with integer frequencies up to K_i, the sum of those gates'
frequencies (Schuld, Sweke & Meyer 2021, arXiv:2008.08605). Sampling the layer on the grid of
2K_i + 1 equally spaced angles per input determines every coefficient exactly: the grid's
discrete Fourier transform is the polynomial's (no aliasing, since no frequency exceeds K_i).
A term's interaction order is the number of inputs it couples (its non-zero frequencies).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from helpers.analysis.landscape.invariant import gate_frequency
from helpers.quantum import QuantumLayer

MAX_GRID = 2**18  # layer evaluations for one exact spectrum (Mari at 10 qubits: 3**10)


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """Fourier coefficients of every output: ``f_j(x) = Σ_ω coefficients[j][ω] · e^{iω·x}``.

    ``frequencies`` ``(T, n_inputs)`` lists the terms ω, ``coefficients`` ``(J, T)`` their
    complex coefficients (``c_{−ω} = c_ω*``, the outputs being real).
    """

    frequencies: np.ndarray
    coefficients: np.ndarray

    @property
    def orders(self) -> np.ndarray:
        """Each term's interaction order: how many inputs it couples, ``(T,)``."""
        return np.count_nonzero(self.frequencies, axis=1)

    def evaluate(self, inputs: np.ndarray, max_order: int | None = None) -> np.ndarray:
        """The polynomial at ``inputs``, all its terms or those up to an interaction order.

        Args:
            inputs: Circuit inputs ``(B, n_inputs)``.
            max_order: Keep only terms coupling at most that many inputs (0: the constant,
                1: the additive part); None keeps every term.

        Returns:
            The outputs ``(B, J)``.

        Example:
            >>> spectrum.evaluate(np.zeros((1, 4)), max_order=1)  # doctest: +SKIP
        """
        keep = slice(None) if max_order is None else self.orders <= max_order
        phases = np.exp(1j * np.asarray(inputs, dtype=float) @ self.frequencies[keep].T)
        return (phases @ self.coefficients[:, keep].T).real

    def power_by_order(self) -> np.ndarray:
        """``Σ |c_ω|²`` over the terms of each interaction order, per output.

        Under uniformly random inputs the terms are orthogonal, so this splits each output's
        variance by order exactly (order 0 is the squared mean).

        Returns:
            ``(J, n_inputs + 1)``: the power of orders 0..n of every output.

        Example:
            >>> spectrum.power_by_order()[:, 2:].sum()  # the multi-body power  # doctest: +SKIP
        """
        power = np.abs(self.coefficients) ** 2
        n_inputs = self.frequencies.shape[1]
        return np.stack(
            [power[:, self.orders == k].sum(axis=1) for k in range(n_inputs + 1)], axis=1
        )


def input_degrees(layer: QuantumLayer) -> np.ndarray:
    """K_i per input: the largest frequency in x_i of the layer's outputs, the sum of the
    frequencies of the gates x_i drives (1 per RY(x_i); a re-uploaded input adds one per layer).

    Args:
        layer: The quantum layer.

    Returns:
        The integer degrees ``(n_inputs,)``.

    Raises:
        ValueError: an input's frequencies are not whole numbers (e.g. RY(x/2)), so the spectrum
            is not on the integer grid this module samples.

    Example:
        >>> input_degrees(QuantumLayer(4, 2)).tolist()
        [1, 1, 1, 1]
    """
    spec = layer.spec
    degrees = dict.fromkeys(spec.inputs, 0.0)
    for item in spec.circuit.data:
        driven = {p for a in item.operation.params for p in getattr(a, "parameters", ())}
        for parameter in driven & set(degrees):
            frequency = gate_frequency(item.operation, parameter)
            if not math.isclose(frequency, round(frequency), abs_tol=1e-9):
                raise ValueError(
                    f"input {parameter} enters gate '{item.operation.name}' with frequency "
                    f"{frequency:g}, not a whole number; scale the input so that each gate's "
                    "frequency in it is an integer (e.g. RY(x) rather than RY(x/2))."
                )
            degrees[parameter] += round(frequency)
    return np.array([int(degrees[p]) for p in spec.inputs])


def exact_spectrum(layer: QuantumLayer) -> Spectrum:
    """Every Fourier coefficient of the layer's outputs, at its current weights.

    The layer is evaluated on the grid of ``2K_i + 1`` angles per input (:func:`input_degrees`);
    the grid's DFT gives the coefficients exactly (up to floating-point error).

    Args:
        layer: The quantum layer (any circuit the series runs).

    Returns:
        The :class:`Spectrum`, terms in the order of ``itertools.product`` over
        ``−K_i..K_i``.

    Raises:
        ValueError: the grid holds more than :data:`MAX_GRID` points.

    Example:
        >>> spectrum = exact_spectrum(QuantumLayer(2, 0))  # ⟨Z_j⟩ = −sin(x_j): 1-body terms
        >>> float(np.abs(spectrum.coefficients[:, spectrum.orders > 1]).max()) < 1e-12
        True
    """
    degrees = input_degrees(layer)
    sizes = 2 * degrees + 1
    if math.prod(sizes.tolist()) > MAX_GRID:
        raise ValueError(
            f"the exact spectrum needs {math.prod(sizes.tolist()):,} layer evaluations (grid "
            f"{' x '.join(map(str, sizes))}), more than {MAX_GRID:,}; use fewer inputs or "
            "re-uploads."
        )
    axes = [2 * np.pi * np.arange(size) / size for size in sizes]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(sizes))
    with torch.no_grad():
        values = layer(torch.from_numpy(grid)).double().numpy()
    values = values.reshape(*sizes, -1)
    coefficients = np.fft.fftn(values, axes=range(len(sizes))) / grid.shape[0]
    frequencies = np.stack(
        np.meshgrid(*[np.fft.fftfreq(size, 1 / size).round() for size in sizes], indexing="ij"),
        axis=-1,
    ).reshape(-1, len(sizes))
    return Spectrum(
        frequencies=frequencies.astype(int),
        coefficients=coefficients.reshape(-1, values.shape[-1]).T,
    )


@dataclasses.dataclass(frozen=True)
class OrderPower:
    """Each output's power under uniformly random inputs by interaction order.

    ``orders`` names the columns of ``power`` ``(J, K)``: ``"0"``, ``"1"``, ... ``"n"`` from the
    exact spectrum, or ``"0"``, ``"1"``, ``"≥2"`` where the spectrum's grid is too large and the
    power is estimated (``error`` ``(J,)``: the standard error of the ``"≥2"`` column; 0 when
    exact). ``deviation`` is the exact spectrum's largest deviation from the circuit on random
    inputs (NaN when estimated).
    """

    orders: tuple[str, ...]
    power: np.ndarray
    error: np.ndarray
    deviation: float

    @property
    def exact(self) -> bool:
        """Whether every column is exact."""
        return not np.any(self.error)


def order_power(layer: QuantumLayer, samples: int = 4096, seed: int = 0) -> OrderPower:
    """The layer's power by interaction order, exact when the spectrum fits, else estimated.

    Exact: :meth:`Spectrum.power_by_order` of :func:`exact_spectrum`, with the spectrum checked
    against the circuit on 256 random inputs. Estimated (a grid over :data:`MAX_GRID`): orders 0
    and 1 from the additive part (:func:`~helpers.analysis.lens.additive.additive_part`, itself
    exact or estimated), and the multi-body power as the rest of the mean square ``E[f²]``
    over ``samples`` uniform inputs, with that mean's standard error (the main effects' own
    estimate, when estimated, adds its error, see :class:`AdditivePart`).

    Args:
        layer: The quantum layer.
        samples: Uniform inputs for the estimate.
        seed: Seed of the random inputs.

    Returns:
        The :class:`OrderPower`.

    Example:
        >>> order_power(QuantumLayer(3, 0)).orders
        ('0', '1', '2', '3')
    """
    from helpers.analysis.lens.additive import additive_part  # builds on this module

    rng = np.random.default_rng(seed)
    degrees = input_degrees(layer)
    probe = rng.uniform(
        -np.pi, np.pi, (256 if _grid_size(degrees) <= MAX_GRID else samples, len(degrees))
    )
    with torch.no_grad():
        values = layer(torch.from_numpy(probe)).double().numpy()
    if _grid_size(degrees) <= MAX_GRID:
        spectrum = exact_spectrum(layer)
        power = spectrum.power_by_order()
        deviation = float(np.abs(spectrum.evaluate(probe) - values).max())
        orders = tuple(str(k) for k in range(power.shape[1]))
        return OrderPower(orders, power, np.zeros(len(power)), deviation)
    part = additive_part(layer, samples, seed)
    first = np.stack([np.sum(np.abs(e) ** 2, axis=1) for e in part.main_effects]).sum(axis=0)
    constant = part.constant**2
    first -= len(part.main_effects) * constant  # each main effect array holds f₀ at frequency 0
    squares = values**2
    rest = squares.mean(axis=0) - constant - first
    error = squares.std(axis=0, ddof=1) / math.sqrt(len(squares))
    return OrderPower(("0", "1", "≥2"), np.stack([constant, first, rest], axis=1), error, math.nan)


def _grid_size(degrees: np.ndarray) -> int:
    return math.prod((2 * degrees + 1).tolist())
