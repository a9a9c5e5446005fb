"""python -m palcli: the same command line as the palcli script."""

from .cli import main

main()
