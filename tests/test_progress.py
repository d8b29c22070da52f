"""Progress bars: widgets in JupyterLab, text on the pipeline's terminal."""

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

from helpers.progress import PROGRESS_ENV, TERMINAL, progress


def test_under_the_pipeline_bars_are_text_on_the_kernels_own_stderr(monkeypatch, capfd):
    monkeypatch.setenv(PROGRESS_ENV, TERMINAL)
    bar = progress(range(3), desc="curves")
    assert type(bar) is text_tqdm
    assert list(bar) == [0, 1, 2]
    assert "curves" in capfd.readouterr().err  # the process's stderr, not the notebook's output


def test_elsewhere_bars_are_tqdm_auto(monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    bar = progress(range(2), desc="features")
    assert isinstance(bar, auto_tqdm)
    assert list(bar) == [0, 1]
