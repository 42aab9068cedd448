"""`python -m medexempt` is the `medexempt` command."""

from medexempt.cli import main

main()
