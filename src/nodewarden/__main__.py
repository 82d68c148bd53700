"""`python -m nodewarden`: the same entry point as the `nodewarden` console script."""

from nodewarden.cli.main import run

run()
