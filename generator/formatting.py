"""The final layout of rendered Python, kept inside the generator: no formatter is run.

Generated files are the same bytes on every machine whatever formatter (and version) the calling
project uses, because none is used: the templates and xsdata's dataclass templates are written in
their final form, and this module only removes trailing white space and runs of blank lines (never
inside a string). Each file's header says `# fmt: off` and `# ruff: noqa: F401, I001`, so a
project's own `ruff format` / black leave the files alone and its linter does not ask for import
pruning or sorting that depends on the schema.
"""

from __future__ import annotations

import ast
import io
import tokenize

from .errors import GeneratorError, Problem


def format_python(source: str, filename: str) -> str:
    """`source` with trailing white space removed and at most two blank lines in a row, outside
    strings; a source that does not parse is a GeneratorError (a template bug)."""
    _check_parses(source, filename)
    if not _needs_layout(source):  # the runtime's files, and much of the templates' output
        return source.strip("\n") + "\n"
    spans = _multiline_strings(source)
    ends_inside = {n for first, last in spans for n in range(first, last)}
    starts_inside = {n for first, last in spans for n in range(first + 1, last + 1)}
    lines: list[str] = []
    blank = 0
    for number, line in enumerate(source.split("\n"), start=1):
        if number not in ends_inside:  # the white space at its end is not a string's
            line = line.rstrip()
        if number in starts_inside or number in ends_inside:
            blank = 0  # a string's line, even an empty one, is the string's text
        else:
            blank = blank + 1 if not line else 0
        if blank <= 2:
            lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def _needs_layout(source: str) -> bool:
    """Whether a line has trailing white space or three blank lines come in a row: only then do
    the strings' lines have to be found (tokenizing is most of the layout's cost)."""
    if any(line != line.rstrip() for line in source.split("\n")):
        return True
    return "\n\n\n\n" in source.strip("\n")  # blank lines are empty here


def _check_parses(source: str, filename: str) -> None:
    try:
        ast.parse(source, filename)
    except (SyntaxError, ValueError) as exc:
        raise GeneratorError(
            [
                Problem(
                    filename, getattr(exc, "lineno", None), f"generated code does not parse: {exc}"
                )
            ]
        ) from exc


def _multiline_strings(source: str) -> list[tuple[int, int]]:
    """The first and last line of every string token that spans lines."""
    spans: list[tuple[int, int]] = []
    # Python 3.12 splits f-strings into START ... END tokens; earlier versions give one STRING.
    starts = {getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "TSTRING_START", -1)}
    ends = {getattr(tokenize, "FSTRING_END", -1), getattr(tokenize, "TSTRING_END", -1)}
    opened: list[int] = []
    # `source` parsed (`_check_parses`), so it tokenizes.
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in starts:
            opened.append(token.start[0])
        elif token.type in ends and opened:
            first = opened.pop()
            if token.end[0] > first:
                spans.append((first, token.end[0]))
        elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
            spans.append((token.start[0], token.end[0]))
    return spans
