"""``python -m flowstone``: the command line."""

from flowstone.cli import main

main()
