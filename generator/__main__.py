"""`python -m medexempt.generator`: the generator's commands alone (`medexempt` gathers them with
the service's: medexempt/cli.py)."""

from .cli import main

main()
