"""Where each analysis computes: numbers and dataclasses only, no figures and no prose (those are
drawn by :mod:`helpers.present`)."""
