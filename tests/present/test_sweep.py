"""A sweep's figure: every measure against the swept parameter, a line per model and value of
the other swept parameters, the means and SEs it was given."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.present.sweep import measure_figure
from tests.present.figure_checks import check_figure, panels


def _series(name, model, means, points, labels=None):
    values = [{"point": p, "mean": m, "se": 0.01 * (i + 1), "n": 5}
              for i, (p, m) in enumerate(zip(points, means, strict=True))]  # fmt: skip
    return {"analysis": "lens", "name": name, "labels": labels or {}, "model": model,
            "unit": "seeds", "values": values}  # fmt: skip


def test_every_measure_is_a_panel_with_a_line_per_model_and_other_value():
    swept = {"q_depth": [0, 2, 4], "circuit": ["mari", "reuploading"]}
    values_of = {f"q_depth={d}, circuit={c}": {"q_depth": d, "circuit": c}
                 for d in swept["q_depth"] for c in swept["circuit"]}  # fmt: skip
    found = []
    for circuit, shift in (("mari", 0.0), ("reuploading", 0.1)):
        points = [f"q_depth={d}, circuit={circuit}" for d in swept["q_depth"]]
        found.append(_series("Meyer-Wallach Q", "hybrid", [0.0 + shift, 0.4, 0.01], points))
        found.append(_series("Meyer-Wallach Q", "product", [0.0, 0.0, 0.0], points))
        found.append(_series("share", "hybrid", [0.0, 0.05, 0.0], points, {"setting": "trained"}))
    fig = check_figure(measure_figure("lens", found, swept, values_of), "every measure")
    axes = panels(fig)
    drawn = [ax for ax in axes if ax.lines]
    assert [ax.get_title() for ax in drawn] == ["Meyer-Wallach Q", "share (setting trained)"]
    assert all(ax.get_xlabel() == "q_depth" and "SE over seeds" in ax.get_ylabel() for ax in drawn)
    legend = [text.get_text() for text in drawn[0].get_legend().get_texts()]
    assert legend == ["hybrid, circuit=mari", "product, circuit=mari",
                      "hybrid, circuit=reuploading", "product, circuit=reuploading"]  # fmt: skip
    line = drawn[0].lines[0]  # hybrid on mari: the means at the swept depths
    np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float), [0, 2, 4])
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), [0.0, 0.4, 0.01])
    fig.clf()


def test_a_categorical_parameter_is_spread_evenly_with_its_values_as_ticks():
    swept = {"circuit": ["mari", "efficient_su2"]}
    values_of = {f"circuit={c}": {"circuit": c} for c in swept["circuit"]}
    found = [_series("test accuracy", "hybrid", [0.6, 0.7], list(values_of))]
    ax = panels(measure_figure("accuracy", found, swept, values_of))[0]
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_xdata(), dtype=float), [0, 1])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["mari", "efficient_su2"]
    assert list(ax.lines[0].get_ydata()) == pytest.approx([0.6, 0.7])
