"""The one Jinja environment of the generator, and the filters its templates use."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from . import naming
from .model import Field, Kind

_PY_TYPES = {
    "str": "str",
    "int": "int",
    "bool": "bool",
    "float": "float",
    "decimal": "Decimal",
    "datetime": "XmlDateTime",
    "date": "XmlDate",
    "time": "XmlTime",
    "duration": "XmlDuration",
    "base64": "bytes",
    "hex": "bytes",
    "any": "object",
}
ELEMENT_KINDS = (Kind.ELEMENT, Kind.COMPLEX, Kind.ANY)


def templates_dir() -> Path:
    """`templates/` beside the package in a checkout, or inside it when installed from a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the generator's templates/ folder is missing")


@functools.cache
def environment() -> jinja2.Environment:
    """The environment every render uses: strict about undefined names, escaping only XML. One per
    process, so each template is compiled once (rendering does not change it)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=_is_xml_template,  # noqa: S701 - Python source is not escaped, XML (WSDL) is
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        py=py_literal,
        ident=naming.ident,
        ns=naming.namespace,
        local=naming.local_name,
        py_type=py_type,
        parser=parser,
        read_expr=read_expr,
        format_expr=format_expr,
        write_stmt=write_stmt,
    )
    env.globals["element_kinds"] = ELEMENT_KINDS
    return env


def _is_xml_template(name: str | None) -> bool:
    return name is not None and name.endswith(".wsdl.jinja")


def py_literal(value: str) -> str:
    """A Python string literal for `value`."""
    return repr(value)


def _members(field: Field) -> list[str]:
    return field.value.removeprefix("union:").split("|")


def _py_value_type(value: str) -> str:
    if value.startswith("enum:"):
        return f"models.{value[5:]}"
    return _PY_TYPES[value]


def _value_parser(value: str) -> str:
    if value.startswith("enum:"):
        return f"_values.enum_parser(models.{value[5:]})"
    return f"_values.parse_{value}"


def py_type(field: Field) -> str:
    """The Python type of a field's single value, as the generated code spells it."""
    if field.kind is Kind.COMPLEX:
        return f"models.{field.value}"
    if field.value.startswith("union:"):
        return " | ".join(_py_value_type(member) for member in _members(field))
    return _py_value_type(field.value)


def parser(field: Field) -> str:
    """The callable turning a field's text into its value."""
    if field.value.startswith("union:"):
        # An enumeration member by its exact value: " fast " of a union of an enumeration and
        # xs:string is the string, not the value "fast" with its white space collapsed.
        members = ", ".join(
            f"models.{member[5:]}" if member.startswith("enum:") else _strict_parser(member)
            for member in _members(field)
        )
        return f"_values.union_parser({members})"
    return _strict_parser(field.value)


def _strict_parser(value: str) -> str:
    # Each number by its own lexical space: a union's members are tried in turn, and xsdata's
    # converter would take 1E9999999 for an xs:decimal (ten million digits written back), NaN, or
    # Arabic-Indic digits.
    if value in ("decimal", "float"):
        return f"_values.parse_{value}_strict"
    return _value_parser(value)


def read_expr(field: Field, item: bool = False) -> str:
    """The expression reading one child element (`child`) into the field's value (`item`: one
    value of a list, which may not be empty)."""
    if field.kind is Kind.COMPLEX:
        return f"read_{naming.ident(field.value)}(child)"
    if field.kind is Kind.ANY:
        return "read_any(child)"
    if field.value == "str":
        return "_text(child)"
    if field.value in ("base64", "hex") or "|str" in field.value or ":str|" in field.value:
        # bytes, and a union with a string member: an empty element is an empty value
        return f"_exact(child, {parser(field)})"
    return f"_{'item' if item else 'value'}(child, {parser(field)})"


def format_expr(field: Field, value: str) -> str:
    """The expression turning a field's value into text (a string checked against its facets)."""
    if field.value == "str":
        if field.min_length or field.max_length is not None:
            name = py_literal(field.name)
            return f"_length({value}, {field.min_length}, {field.max_length}, {name})"
        return value
    if field.value.startswith("enum:"):
        return f"{value}.value"
    if field.value.startswith("union:"):
        pairs = ", ".join(
            f"({_py_value_type(member)}, {_formatter(member)})" for member in _members(field)
        )
        return f"_values.format_union({value}, ({pairs},))"
    return f"_values.format_{field.value}({value})"


def _formatter(value: str) -> str:
    if value.startswith("enum:"):
        return "_values.format_enum"
    return f"_values.format_{value}"


def write_stmt(field: Field, value: str) -> str:
    """The statement writing one value of an element field under `el`."""
    tag = py_literal(field.tag)
    if field.kind is Kind.COMPLEX:
        return f"write_{naming.ident(field.value)}({value}, _SE(el, {tag}))"
    if field.kind is Kind.ANY:
        return f"write_any({value}, el, {tag})"
    if field.value == "base64":
        if field.min_length or field.max_length is not None:
            # As text, not spliced in after the message is validated: its length facets are.
            return f"_SE(el, {tag}).text = _values.format_base64({value})"
        return f"_values.set_base64(_SE(el, {tag}), {value})"
    return f"_SE(el, {tag}).text = {format_expr(field, value)}"
