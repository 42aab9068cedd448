"""The template filters the codecs are rendered with: each turns a Field into the code it reads or
writes, and the generated package compiles only when they agree with generated/xmlvalues.py."""

from __future__ import annotations

import ast

import pytest

from medexempt.generated import xmlvalues
from medexempt.generator import naming
from medexempt.generator.model import Field, Kind
from medexempt.generator.templating import (
    environment,
    format_expr,
    parser,
    py_literal,
    py_type,
    read_expr,
    write_stmt,
)


def field(value: str, kind: Kind = Kind.ELEMENT, **options: object) -> Field:
    settings: dict[str, object] = {
        "name": "f",
        "tag": "{urn:x}f",
        "kind": kind,
        "value": value,
        "required": True,
        "repeated": False,
    }
    settings.update(options)
    return Field(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("str", "str"),
        ("int", "int"),
        ("decimal", "Decimal"),
        ("datetime", "XmlDateTime"),
        ("base64", "bytes"),
        ("enum:Colour", "models.Colour"),
        ("union:int|str", "int | str"),
    ],
)
def test_py_type(value: str, expected: str) -> None:
    assert py_type(field(value)) == expected


def test_py_type_of_a_complex_field_is_its_model() -> None:
    assert py_type(field("Person", Kind.COMPLEX)) == "models.Person"


def test_parsers_name_functions_that_exist() -> None:
    for value in ("str", "int", "bool", "decimal", "float", "date", "datetime", "base64", "hex"):
        name = parser(field(value)).removeprefix("_values.")
        assert callable(getattr(xmlvalues, name)), name
    # an enumeration reads white space collapsed, as an xs:token base has it and xsdata reads it
    assert parser(field("enum:Colour")) == "_values.enum_parser(models.Colour)"
    # ... but as a union's member by its exact value (" red " of enum|string is the string)
    assert parser(field("union:enum:Colour|str")) == (
        "_values.union_parser(models.Colour, _values.parse_str)"
    )
    # decimals and doubles by their own lexical space (xsdata's converter takes 1E9999999)
    assert parser(field("decimal")) == "_values.parse_decimal_strict"
    # a union tries each member strictly: a decimal member must refuse "1e3" (a double)
    assert parser(field("union:decimal|float")) == (
        "_values.union_parser(_values.parse_decimal_strict, _values.parse_float_strict)"
    )


UNION = "_values.union_parser(_values.parse_int, _values.parse_str)"


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (field("Person", Kind.COMPLEX), "read_Person(child)"),
        (field("object", Kind.ANY), "read_any(child)"),
        (field("str"), "_text(child)"),
        (field("base64"), "_exact(child, _values.parse_base64)"),
        (field("union:int|str"), f"_exact(child, {UNION})"),
        (field("int"), "_value(child, _values.parse_int)"),
    ],
)  # fmt: skip
def test_read_expr(made: Field, expected: str) -> None:
    assert read_expr(made) == expected


def test_read_expr_of_a_list_item_may_not_be_empty() -> None:
    assert read_expr(field("int"), item=True) == "_item(child, _values.parse_int)"


def test_format_expr_checks_length_facets_of_strings() -> None:
    assert format_expr(field("str"), "obj.f") == "obj.f"
    checked = format_expr(field("str", min_length=2, max_length=5), "obj.f")
    assert checked == "_length(obj.f, 2, 5, 'f')"
    assert format_expr(field("enum:Colour"), "v") == "v.value"
    assert format_expr(field("int"), "v") == "_values.format_int(v)"
    assert format_expr(field("union:int|str"), "v") == (
        "_values.format_union(v, ((int, _values.format_int), (str, _values.format_str),))"
    )


def test_write_stmt() -> None:
    assert write_stmt(field("Person", Kind.COMPLEX), "v") == "write_Person(v, _SE(el, '{urn:x}f'))"
    assert write_stmt(field("object", Kind.ANY), "v") == "write_any(v, el, '{urn:x}f')"
    assert write_stmt(field("base64"), "v") == "_values.set_base64(_SE(el, '{urn:x}f'), v)"
    assert write_stmt(field("int"), "v") == "_SE(el, '{urn:x}f').text = _values.format_int(v)"


@pytest.mark.parametrize(
    "text", ["plain", "it's", 'a "quote"', "back\\slash", "new\nline", "Қазақ"]
)
def test_py_literal_is_a_python_literal_of_the_same_text(text: str) -> None:
    assert ast.literal_eval(py_literal(text)) == text


def test_every_filter_expression_is_python() -> None:
    made = [
        read_expr(field("union:decimal|float")),
        format_expr(field("str", max_length=3), "obj.f"),
        write_stmt(field("Person", Kind.COMPLEX), "item"),
    ]
    for code in made:
        ast.parse(code)


def test_the_environment_registers_the_filters_and_refuses_undefined_names() -> None:
    env = environment()
    for name in (
        "py",
        "ident",
        "ns",
        "local",
        "py_type",
        "parser",
        "read_expr",
        "format_expr",
        "write_stmt",
    ):
        assert name in env.filters, name
    assert env.filters["ident"] is naming.ident
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
