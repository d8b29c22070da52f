"""``python -m helpers.pipeline``: the notebook series (see :mod:`helpers.run.pipeline`)."""

from helpers.run.pipeline import main

if __name__ == "__main__":
    raise SystemExit(main())
