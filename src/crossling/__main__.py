"""``python -m crossling`` runs the command-line interface."""

from crossling.cli.main import main

main()
