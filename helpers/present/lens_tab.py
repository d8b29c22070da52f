"""The explorer's quantum-lens tab: for the chosen image, each qubit's Bloch vector and entropy
in the state the hybrid prepares, and the terms that make up each of its outputs: the constant
and each input's term of the fitted additive surrogate, and the multi-body rest
(:func:`helpers.analysis.lens.function.fit_additive`, fitted on the training and validation
images' circuit inputs, as notebook 09 does)."""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from helpers.analysis.lens.entanglement import StateSummary, summarise_states
from helpers.analysis.lens.function import AdditiveFit, circuit_inputs, fit_additive
from helpers.declare import Analysis
from helpers.present.explore import Explorer, ExplorerTab, View, html_table
from helpers.present.style import themed


@themed
def plot_image_lens(
    summary: StateSummary, effects: np.ndarray, rest: np.ndarray, constant: np.ndarray, title: str
) -> Figure:
    """One image through the lens: the qubits' Bloch vectors and entropies, and each output's
    terms.

    Args:
        summary: The image's state (one row).
        effects: Main effects ``(n_inputs, J)`` at the image's inputs.
        rest: The multi-body rest of each output ``(J,)``.
        constant: Each output's constant term ``(J,)``.
        title: The figure's title.

    Returns:
        Two panels: Bloch components and entropy per qubit; stacked terms per output.
    """
    bloch, entropy = summary.bloch[0], summary.entropies[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    qubits = np.arange(len(bloch))
    for k, axis in enumerate("xyz"):
        left.bar(qubits + (k - 1) * 0.2, bloch[:, k], 0.2, label=f"⟨{axis.upper()}⟩")
    left.plot(qubits, entropy, "ko-", label="entropy (bits)")
    left.axhline(0, color="grey", linewidth=1)
    left.set(xlabel="qubit", ylabel="value", title=f"state (Q = {summary.meyer_wallach[0]:.3f})")
    left.set_xticks(qubits)
    left.set_ylim(-1.05, 1.05)
    left.legend(fontsize="small", ncols=2)
    outputs = np.arange(len(rest))
    parts = [("constant", constant), *((f"input {i}", e) for i, e in enumerate(effects)),
             ("multi-body", rest)]  # fmt: skip
    width = 0.8 / len(parts)
    for k, (name, values) in enumerate(parts):
        right.bar(outputs + (k - (len(parts) - 1) / 2) * width, values, width, label=name)
    right.scatter(outputs, constant + effects.sum(axis=0) + rest, color="black", marker="*",
                  s=80, zorder=3, label="output")  # fmt: skip
    right.axhline(0, color="grey", linewidth=1)
    right.set(xlabel="output j", ylabel="term", title="what makes up each output")
    right.set_xticks(outputs)
    right.legend(fontsize="small", ncols=2)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class LensTab(ExplorerTab):
    """The chosen image's state in the hybrid's circuit and the terms of its outputs."""

    key = "lens"

    def __init__(self, explorer: Explorer, analysis: Analysis) -> None:
        super().__init__(explorer, analysis)
        model = explorer.models.get("hybrid")
        self.model = model
        self._fit: AdditiveFit | None = None
        if model is None:
            self.missing.append("quantum lens: the run has no hybrid model")

    @property
    def fit(self) -> AdditiveFit:
        """The hybrid's fitted additive surrogate (computed once, on first view)."""
        if self._fit is None:
            features = self.explorer.session.features
            head = self.model.head
            angles = circuit_inputs(head, torch.cat([features.train, features.val]))
            self._fit = fit_additive(head.q_layer, angles)
        return self._fit

    @torch.no_grad()
    def _lens(self) -> tuple[StateSummary, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        _, image, _ = self.explorer.chosen_image()
        head = self.model.head
        features = self.model.backbone(image.to(next(self.model.backbone.parameters()).device))
        angles = circuit_inputs(head, features.cpu().float())
        outputs = head.q_layer(torch.from_numpy(angles)).double().numpy()[0]
        constant, effects = self.fit.terms(angles)
        rest = outputs - constant - effects[0].sum(axis=0)
        return summarise_states(head.q_layer, angles), constant, effects[0], rest, outputs

    def view(self) -> View:
        if self.model is None:
            return self.absent("quantum lens")
        summary, constant, effects, rest, outputs = self._lens()
        rows = [
            [
                f"qubit {k}",
                *(f"{v:+.3f}" for v in summary.bloch[0, k]),
                f"{summary.entropies[0, k]:.3f}",
            ]
            for k in range(summary.bloch.shape[1])
        ]
        text = html_table(["", "⟨X⟩", "⟨Y⟩", "⟨Z⟩", "entropy (bits)"], rows, "explore-bloch")
        terms = [
            [f"output {j}", f"{constant[j]:+.3f}", *(f"{e:+.3f}" for e in effects[:, j]),
             f"{rest[j]:+.3f}", f"{outputs[j]:+.3f}"]
            for j in range(len(outputs))
        ]  # fmt: skip
        header = [
            "",
            "constant",
            *(f"input {i}" for i in range(len(effects))),
            "multi-body",
            "total",
        ]
        text += html_table(header, terms, "explore-terms")
        text += html.escape(f"Meyer-Wallach Q of the state: {summary.meyer_wallach[0]:.3f}")
        title = f"Quantum lens (notebook {self.analysis.number}): the chosen image in the hybrid"
        return text, [plot_image_lens(summary, effects, rest, constant, title)], []
