"""``python -m helpers.sweep``: a grid of series runs on Ray (see :mod:`helpers.run.sweep`)."""

from helpers.run.sweep import Options, sweep
from helpers.run.sweep import main as main

__all__ = ["Options", "main", "sweep"]

if __name__ == "__main__":
    raise SystemExit(main())
