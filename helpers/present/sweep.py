"""A sweep's figures: every measure of an analysis against the swept parameters.

One figure per analysis, one panel per measure (its name and labels), mean ± SE over the
measure's unit (error bars) against the first swept parameter; one line per model and per
combination of the other swept parameters. A categorical parameter (a circuit family, a
dataset) is spread evenly with its values as tick labels.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.present.style import MODEL_COLOURS, PALETTE

COLUMNS = 3
LINE_STYLES = ("-", "--", ":", "-.")


def _panel_title(series: Mapping[str, Any]) -> str:
    labels = ", ".join(f"{key} {value}" for key, value in series["labels"].items())
    return f"{series['name']} ({labels})" if labels else series["name"]


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def measure_figure(
    analysis: str,
    found: Sequence[Mapping[str, Any]],
    swept: Mapping[str, Sequence[Any]],
    values_of: Mapping[str, Mapping[str, Any]],
) -> Figure:
    """The analysis's measures against the swept parameters (see the module docstring).

    Args:
        analysis: The analysis whose measures ``found`` holds (the figure's title).
        found: Its measures, as :func:`helpers.run.sweep_results.measures` gives them.
        swept: The swept values by parameter (the first is the x axis).
        values_of: Each point's swept values, by point name.

    Returns:
        The figure.

    Example:
        >>> measure_figure("lens", found, {"q_depth": [0, 2]}, values_of)  # doctest: +SKIP
    """
    first, *others = list(swept)
    panels: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for series in found:
        panels[json.dumps([series["name"], series["labels"]], sort_keys=True)].append(series)
    rows = math.ceil(len(panels) / COLUMNS)
    fig, axes = plt.subplots(
        rows, min(COLUMNS, len(panels)), figsize=(4.2 * min(COLUMNS, len(panels)), 3.2 * rows),
        squeeze=False,
    )  # fmt: skip
    numeric = _numeric(swept[first])
    position = {json.dumps(v): (v if numeric else i) for i, v in enumerate(swept[first])}
    combos = sorted({", ".join(f"{o}={values_of[v['point']][o]}" for o in others)
                     for s in found for v in s["values"]})  # fmt: skip
    for ax, group in zip(axes.flat, panels.values(), strict=False):
        for index, series in enumerate(group):
            lines: dict[str, list[tuple[Any, float, float]]] = defaultdict(list)
            for value in series["values"]:
                values = values_of[value["point"]]
                combo = ", ".join(f"{o}={values[o]}" for o in others)
                x = position[json.dumps(values[first])]
                lines[combo].append((x, value["mean"], value["se"]))
            for combo, line in lines.items():
                line.sort()
                model = series["model"] or "value"
                colour = MODEL_COLOURS.get(model, PALETTE[(index + 2) % len(PALETTE)])
                ax.errorbar(
                    [p[0] for p in line], [p[1] for p in line], yerr=[p[2] for p in line],
                    color=colour, linestyle=LINE_STYLES[combos.index(combo) % len(LINE_STYLES)],
                    marker="o", markersize=3, capsize=2,
                    label=f"{model}, {combo}" if combo else model,
                )  # fmt: skip
        ax.set_title(_panel_title(group[0]), fontsize=9)
        ax.set_xlabel(first)
        ax.set_ylabel(f"mean ± SE over {group[0]['unit']}", fontsize=8)
        ticks = list(swept[first]) if numeric else list(range(len(swept[first])))
        ax.set_xticks(ticks, [str(v) for v in swept[first]])
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(f"{analysis}: every measure against {first}")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))  # room for the title
    return fig
