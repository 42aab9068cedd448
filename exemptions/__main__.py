"""`python -m exemptions` is the `medexempt` command."""

from .cli import main

main()
