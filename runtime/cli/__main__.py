"""`python -m runtime.cli`: the same as the `loopgate` command."""

from runtime.cli import main

main()
