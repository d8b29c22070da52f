"""``python -m helpers.deck DIR``: the slide deck of a run (see :mod:`helpers.run.deck`)."""

from helpers.run.deck import main

if __name__ == "__main__":
    raise SystemExit(main())
