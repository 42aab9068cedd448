"""`python -m medexempt.generator` is the `medexempt` command too (see medexempt/__main__.py)."""

from .cli import main

main()
