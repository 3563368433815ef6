"""Neural solvers for vrpkit (``vrpkit.neural``); installed with the ``neural`` extra."""
