"""Progress bars of the long loops, wherever the code runs.

In JupyterLab a bar is tqdm's notebook widget. Under the pipeline, whose kernels have no one
watching their widgets, the executor sets ``HQNN_PROGRESS=terminal``: bars then go to the
kernel's own standard error, which is the pipeline's terminal, below the notebook's cell bar, and
never into the executed notebook.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

PROGRESS_ENV = "HQNN_PROGRESS"
TERMINAL = "terminal"
Item = TypeVar("Item")


def progress(iterable: Iterable[Item], desc: str, **options: Any) -> Iterable[Item]:
    """``iterable`` wrapped in a transient progress bar (see the module docstring)."""
    if os.environ.get(PROGRESS_ENV) == TERMINAL:
        stream = sys.__stderr__ or sys.stderr
        return text_tqdm(
            iterable,
            desc=f"  {desc}",
            file=stream,
            leave=False,
            dynamic_ncols=True,
            position=1,  # the line below the pipeline's cell bar
            **options,
        )
    return auto_tqdm(iterable, desc=desc, leave=False, **options)
