"""``python -m vrpkit``: the ``vrpkit`` command."""

from vrpkit.cli import main

main()
