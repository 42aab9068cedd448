"""The generator's own layout of rendered Python (no formatter is run)."""

from __future__ import annotations

import pytest

from medexempt.generator.errors import GeneratorError
from medexempt.generator.formatting import format_python
from medexempt.generator.render import _RUNTIME, _runtime_source


def test_trailing_white_space_and_blank_runs_go_outside_strings_only() -> None:
    source = 'x = 1   \n\n\n\n\ny = """a  \n\n\n\n  b"""\t\n'
    assert format_python(source, "m.py") == 'x = 1\n\n\ny = """a  \n\n\n\n  b"""\n'


def test_f_strings_keep_their_lines() -> None:
    source = 'x = f"""{1}  \n\n\n\n"""  \n'
    assert format_python(source, "m.py") == 'x = f"""{1}  \n\n\n\n"""\n'


def test_a_laid_out_source_is_returned_as_it_is() -> None:
    source = '"""Doc."""\n\nx = 1\n\n\ny = [\n    1,\n]\n'
    assert format_python("\n\n" + source + "\n\n", "m.py") == source


@pytest.mark.parametrize("source", ["x = (\n", "def f(:\n    pass\n", "x = 1\x00\n"])
def test_a_source_that_does_not_parse_is_a_generator_error(source: str) -> None:
    with pytest.raises(GeneratorError, match=r"m\.py.*does not parse"):
        format_python(source, "m.py")


@pytest.mark.parametrize("path", _RUNTIME)
def test_the_runtime_is_already_in_its_final_layout(path: str) -> None:
    text = _runtime_source(path)
    assert format_python(text, path) == text


def test_the_lines_between_implicitly_joined_strings_are_left_as_they_are() -> None:
    """Joined literals are one string to the layout: what lies between them is kept, never less."""
    source = 'x = (\n    "a"   \n\n\n\n    "b"\n)   \n'
    assert format_python(source, "m.py") == 'x = (\n    "a"   \n\n\n\n    "b"\n)\n'
