"""Where a run's findings are shown: the key figure chosen in the section stating the verdicts."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.declare import analysis
from helpers.run.findings import figures, key_figure


def _notebook(*cells):
    """Code cells showing the named figures (a list per cell)."""
    code = []
    for names in cells:
        cell = new_code_cell("publish()")
        cell.outputs = [
            new_output("display_data", data={"image/png": "x"}, metadata={"figure": name})
            for name in names
        ]
        code.append(cell)
    return new_notebook(cells=code)


def test_key_figure_is_the_preferred_one_else_the_nearest_before_the_verdicts():
    preferred = analysis("separability").key_figure
    notebook = _notebook(["04_a"], ["04_b", "04_c"], [], [preferred, "04_d"])
    assert figures(notebook) == [(0, "04_a"), (1, "04_b"), (1, "04_c"), (3, preferred), (3, "04_d")]
    assert key_figure("separability", notebook, cell=2) == preferred  # drawn after: still it
    assert key_figure("other", notebook, cell=2) == "04_c"  # the last one up to the verdicts
    assert key_figure("other", _notebook([], ["05_late"]), cell=0) == "05_late"  # else the next
    assert key_figure("other", _notebook([]), cell=0) is None
    assert key_figure("accuracy", notebook, cell=2) is None  # the accuracy table shows it
    assert key_figure("separability", _notebook(["04_x"]), cell=0) == "04_x"  # not drawn here
