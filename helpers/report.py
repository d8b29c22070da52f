"""``python -m helpers.report``: the HTML report of a run (see :mod:`helpers.run.report`)."""

from helpers.run.report import main

if __name__ == "__main__":
    raise SystemExit(main())
