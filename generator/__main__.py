"""`python -m generator` is the `medexempt` command."""

from .cli import main

main()
