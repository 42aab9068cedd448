"""The final layout of rendered Python, kept inside the generator: no formatter is run.

Generated files are the same bytes on every machine whatever formatter (and version) the calling
project uses, because none is used: the templates and xsdata's dataclass templates are written in
their final form, and this module only removes trailing white space and runs of blank lines (never
inside a string). Each file's header says `# fmt: off` and `# ruff: noqa: F401, I001`, so a
project's own `ruff format` / black leave the files alone and its linter does not ask for import
pruning or sorting that depends on the schema.
"""

from __future__ import annotations

import io
import tokenize

from .errors import GeneratorError, Problem


def format_python(source: str, filename: str) -> str:
    """`source` with trailing white space removed and at most two blank lines in a row, outside
    strings; a source that does not tokenize is a GeneratorError (a template bug)."""
    inside = _string_interiors(source, filename)
    lines: list[str] = []
    blank = 0
    for number, line in enumerate(source.split("\n"), start=1):
        if number in inside:
            lines.append(line)
            blank = 0
            continue
        line = line.rstrip()
        blank = blank + 1 if not line else 0
        if blank <= 2:
            lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def _string_interiors(source: str, filename: str) -> set[int]:
    """Lines after the first of a multi-line string token: their text is the string's."""
    inside: set[int] = set()
    # Python 3.12 splits f-strings into START ... END tokens; earlier versions give one STRING.
    starts = {getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "TSTRING_START", -1)}
    ends = {getattr(tokenize, "FSTRING_END", -1), getattr(tokenize, "TSTRING_END", -1)}
    opened: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in starts:
                opened.append(token.start[0])
            elif token.type in ends and opened:
                inside.update(range(opened.pop() + 1, token.end[0] + 1))
            elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise GeneratorError(
            [Problem(filename, None, f"generated code does not parse: {exc}")]
        ) from exc
    return inside
