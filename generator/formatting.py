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
import functools

from .errors import GeneratorError, Problem


def format_python(source: str, filename: str) -> str:
    """`source` with trailing white space removed and at most two blank lines in a row, outside
    strings; a source that does not parse is a GeneratorError (a template bug)."""
    try:
        return _laid_out(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        problem = f"generated code does not parse: {getattr(exc, 'msg', None) or exc}"
        raise GeneratorError([Problem(filename, line, problem)]) from exc


# The same text comes again and again: every runtime file's header, and every file of a schema set
# generated twice in one process (a build tool's watch loop, another package name, a test suite).
@functools.lru_cache(maxsize=256)
def _laid_out(source: str) -> str:
    tree = ast.parse(source)
    if not _needs_layout(source):  # the runtime's files, and much of the templates' output
        return source.strip("\n") + "\n"
    spans = _multiline_strings(tree)
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
    the strings' lines have to be found."""
    if any(line != line.rstrip() for line in source.split("\n")):
        return True
    return "\n\n\n\n" in source.strip("\n")  # blank lines are empty here


def _multiline_strings(tree: ast.Module) -> list[tuple[int, int]]:
    """The first and last line of every string literal that spans lines. Implicitly concatenated
    literals count as one, so the lines between them are kept as they are: never less than the
    strings' own lines."""
    spans: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
        ):
            last = node.end_lineno or node.lineno
            if last > node.lineno:
                spans.append((node.lineno, last))
    return spans
