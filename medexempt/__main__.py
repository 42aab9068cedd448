"""`python -m medexempt` is the `medexempt` command."""

from medexempt.generator.cli import main

main()
