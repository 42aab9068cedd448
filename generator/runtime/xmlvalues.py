"""Text <-> value conversions for simple XSD types, matching xsdata's own converters.

The common types are converted inline by the codec; these functions cover the rest, and each
delegates to xsdata's converter where the lexical rules are subtle, so both paths agree.
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import re
import secrets
import threading
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from enum import Enum
from typing import Any

import pybase64
from lxml import etree
from lxml.etree import _Element
from xsdata.formats.converter import converter
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlDuration, XmlTime

from .xmlsafe import SerializationError

_INTEGER = re.compile(r"[+-]?[0-9]+")
# White space to XML is these four characters. Python's str.split() and str.strip() also take
# U+00A0 (no-break space), U+2000-U+200A, U+3000 and others, which are text to XML.
XML_SPACE = " \t\n\r"
_XML_SPACES = re.compile("[ \t\n\r]+")
_PYTHON_ONLY_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def parse_str(text: str) -> str:
    return text


def format_str(value: str) -> str:
    return value


def parse_int(text: str) -> int:
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    return int(text)


def _wrong(value: object, expected: str) -> TypeError:
    # A value of another type would be written as whatever its str() is ("abc" for an xs:int, "true"
    # for the string "false" as a boolean): the writer refuses it, and `mistyped` names the field.
    return TypeError(f"expected {expected}, got {type(value).__name__}")


def format_int(value: int) -> str:
    if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise _wrong(value, "int")
    return str(value)


def parse_bool(text: str) -> bool:
    text = text.strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


def format_bool(value: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _wrong(value, "bool")


def parse_float(text: str) -> float:
    value: float = converter.deserialize(text.strip(), [float])
    return value


def format_float(value: float) -> str:
    if not isinstance(value, (float, int)) or isinstance(value, bool):
        raise _wrong(value, "float")
    return str(converter.serialize(value))


def parse_decimal(text: str) -> Decimal:
    value: Decimal = converter.deserialize(text.strip(), [Decimal])
    return value


# The most digits a decimal is written with: Decimal("1E+9999999") is ten bytes in memory and ten
# million digits on the wire (xs:decimal has no exponent).
DECIMAL_MAX_DIGITS = 10_000


def decimal_problem(value: Decimal) -> str | None:
    """Why `value` is no xs:decimal value that can be written, or None."""
    if not value.is_finite():
        return f"{value} is not an xs:decimal value"
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    written = max(len(digits), len(digits) + exponent, -exponent + 1)
    if written > DECIMAL_MAX_DIGITS:
        return f"a decimal of {written} digits written out (at most {DECIMAL_MAX_DIGITS})"
    return None


def format_decimal(value: Decimal) -> str:
    # An int is a decimal's value too; a float is not (1e+20 is no xs:decimal).
    if isinstance(value, Decimal):
        problem = decimal_problem(value)
        if problem is not None:
            raise ValueError(problem)  # the writer names the field (mistyped)
    elif not isinstance(value, int) or isinstance(value, bool):
        raise _wrong(value, "Decimal")
    return str(converter.serialize(value))


_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF)|NaN")


def parse_decimal_strict(text: str) -> Decimal:
    """xs:decimal's own lexical space: no exponent, no NaN or infinity."""
    if not _DECIMAL.fullmatch(text.strip()):
        raise ValueError(f"{text.strip()[:40]!r} is not an xs:decimal")
    return parse_decimal(text)


def parse_float_strict(text: str) -> float:
    """xs:double's own lexical space: INF, -INF and NaN spelled so, digits in ASCII."""
    if not _DOUBLE.fullmatch(text.strip()):
        raise ValueError(f"{text.strip()[:40]!r} is not an xs:double")
    return parse_float(text)


def union_parser(*members: Callable[[str], Any]) -> Callable[[str], Any]:
    """The reader of an xs:union: the first member whose lexical space holds the text."""

    def parse(text: str) -> Any:
        for member in members:
            try:
                return member(text)
            except ValueError:
                continue
        raise ValueError(f"{text.strip()[:40]!r} is in none of the union's member types")

    return parse


def format_union(value: object, members: tuple[tuple[Any, Callable[[Any], str]], ...]) -> str:
    """The text of a union's value, by the member its Python type belongs to."""
    for kind, format_member in members:
        if type(value) is kind:
            return format_member(value)
    for kind, format_member in members:
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is int):
            return format_member(value)
    raise SerializationError(f"{type(value).__name__} is none of the union's member types")


_E = typing.TypeVar("_E", bound=Enum)
_ENUM_PARSERS: dict[type, Callable[[str], Any]] = {}


def enum_parser(kind: type[_E]) -> Callable[[str], _E]:
    """The reader of an enumeration of strings: its value as written, else as xsdata reads it,
    with the white space around it stripped or collapsed (what an xs:token base does)."""
    parse = _ENUM_PARSERS.get(kind)
    if parse is None:
        members = {str(member.value): member for member in kind}

        def parse(text: str) -> _E:
            member = members.get(text)
            if member is None:
                member = members.get(text.strip(XML_SPACE))
            if member is None:
                member = members.get(_XML_SPACES.sub(" ", text).strip(" "))
            if member is None:
                raise ValueError(f"{text.strip()[:40]!r} is not a value of {kind.__name__}")
            return member

        _ENUM_PARSERS[kind] = parse
    return parse


def format_enum(value: Enum) -> str:
    return str(value.value)


def parse_datetime(text: str) -> XmlDateTime:
    # The common form is read here (xsdata's own parser costs ~10x more); anything unusual, or out of
    # range, goes to xsdata, which accepts it or raises the error that explains why.
    text = text.strip()
    match = _DATETIME.fullmatch(text)
    if match is None:
        if not _DATETIME_LEXICAL.fullmatch(text):
            raise ValueError(f"{text[:40]!r} is not an xs:dateTime")
        return XmlDateTime.from_string(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = None
    if zone == "Z":
        offset = 0
    elif zone:
        offset = int(zone[1:3]) * 60 + int(zone[4:6])
        offset = -offset if zone[0] == "-" else offset
    value = XmlDateTime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int(fraction.ljust(9, "0")) if fraction else 0,
        offset,
    )
    if not _plausible(value):
        return XmlDateTime.from_string(text)
    return value


def format_datetime(value: XmlDateTime) -> str:
    if not isinstance(value, XmlDateTime):
        raise _wrong(value, "XmlDateTime")
    year, month, day, hour, minute, second, fraction, offset = value
    if offset is not None and abs(offset) > 14 * 60:
        raise ValueError(f"offset {offset} minutes is outside -14:00..+14:00")
    if not 0 <= year <= 9999:
        return str(value)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (year, month, day, hour, minute, second)  # noqa: UP031
    if fraction:
        if fraction % 1_000_000 == 0:
            text += ".%03d" % (fraction // 1_000_000)  # noqa: UP031
        elif fraction % 1000 == 0:
            text += ".%06d" % (fraction // 1000)  # noqa: UP031
        else:
            text += ".%09d" % fraction  # noqa: UP031
    if offset is None:
        return text
    if offset == 0:
        return text + "Z"
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return "%s%s%02d:%02d" % (text, sign, hours, minutes)  # noqa: UP031


_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
# The whole lexical space of xs:dateTime (XSD 1.1 part 2, 3.3.8): ASCII digits only, minutes of
# an offset below 60, 24:00:00 only as midnight.
_DATETIME_LEXICAL = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _plausible(value: XmlDateTime) -> bool:
    """Within the ranges every year allows; the rare rest (29 February, 24:00) is xsdata's to judge."""
    month, day = value.month, value.day
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month]) or (month == 2 and day == 29):
        return False
    in_day = value.hour < 24 and value.minute < 60 and value.second < 60
    return in_day


def parse_date(text: str) -> XmlDate:
    return XmlDate.from_string(text.strip())


def format_date(value: XmlDate) -> str:
    if not isinstance(value, XmlDate):
        raise _wrong(value, "XmlDate")
    return str(value)


def parse_time(text: str) -> XmlTime:
    return XmlTime.from_string(text.strip())


def format_time(value: XmlTime) -> str:
    if not isinstance(value, XmlTime):
        raise _wrong(value, "XmlTime")
    return str(value)


def parse_duration(text: str) -> XmlDuration:
    return XmlDuration(text.strip())


def format_duration(value: XmlDuration) -> str:
    if not isinstance(value, XmlDuration):
        raise _wrong(value, "XmlDuration")
    return str(value)


def parse_base64(text: str) -> bytes:
    # Certificates make this the costliest value of a message, so it runs on pybase64's SIMD
    # decoder, strictly: white space is not data (senders wrap lines at 76 columns) and is
    # skipped, anything else outside the alphabet or bad padding is an error, never dropped.
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return pybase64.b64decode(_XML_SPACES.sub("", text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from None


def format_base64(value: bytes) -> str:
    return pybase64.b64encode_as_string(value)


# Certificates are most of an answer's bytes, and lxml checks and copies text on the way into a
# tree and escapes it again on the way out. Base64 needs neither (its alphabet has nothing to
# escape), so while a whole document is written under `spliced_base64()`, a long value is left in
# the tree as a placeholder processing instruction and `tostring_spliced` puts the encoded bytes
# in its place. The target is random per process, and the text of a value can never serialize
# as a processing instruction (its `<` is escaped), so only our own placeholders are replaced.
SPLICE_MIN_BYTES = 2048
_SPLICE_TARGET = "medexempt-base64-" + secrets.token_hex(8)
_PLACEHOLDER = re.compile(rb"<\?" + _SPLICE_TARGET.encode() + rb" ([0-9]+)\?>")
_pending: ContextVar[list[bytes] | None] = ContextVar("medexempt_pending_base64", default=None)


def set_base64(el: _Element, value: bytes) -> None:
    """Make the base64 of `value` the text of `el` (as ASCII bytes, which lxml takes at half the
    cost of a str); a long value under `spliced_base64` is spliced in later instead."""
    encoded = pybase64.b64encode(value)
    pending = _pending.get()
    if pending is None or len(encoded) < SPLICE_MIN_BYTES:
        el.text = encoded
        return
    el.append(etree.PI(_SPLICE_TARGET, str(len(pending))))
    pending.append(encoded)


@contextmanager
def spliced_base64() -> Iterator[list[bytes]]:
    """Within: long base64 values wait to be spliced in by `tostring_spliced`, in this list."""
    pending: list[bytes] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def tostring_spliced(root: _Element, pending: list[bytes]) -> bytes:
    """The UTF-8 bytes of `root` (no declaration) with the waiting base64 values in place."""
    data: bytes = etree.tostring(root, encoding="utf-8")
    if not pending:
        return data
    used: list[int] = []

    def value(match: re.Match[bytes]) -> bytes:
        used.append(int(match[1]))
        return pending[used[-1]] if used[-1] < len(pending) else b""

    spliced = _PLACEHOLDER.sub(value, data)
    if used != list(range(len(pending))):  # only if a header block copied in mimics one
        raise SerializationError("a placeholder of a base64 value was lost or repeated")
    return spliced


def parse_hex(text: str) -> bytes:
    return bytes.fromhex(text.strip())


def format_hex(value: bytes) -> str:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _wrong(value, "bytes")  # a float has a .hex() of its own
    return value.hex().upper()


def mistyped(
    value: object, hint: object = object, path: str = "", *, none_fits: bool = False
) -> str | None:
    """The first field of `value` (a tree of generated dataclasses) whose value is not of its
    declared type, as "path: expected T, got U", or None. Run after a specialised write failed,
    to say where, and around xsdata's generic parser and serializer, which take a value of another
    type for its str(); `object` fields (payloads, xs:any) are checked against the value's own
    class. `none_fits`: None is taken as an item of a list (xsdata's item of a nillable list is
    typed without it)."""

    where = path or type(value).__name__
    if hint is typing.Any or hint is object or isinstance(hint, typing.TypeVar):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return _mistyped_fields(value, where, none_fits)
        if isinstance(value, Decimal) and (problem := decimal_problem(value)):
            return f"{where}: {problem}"  # under xs:anyType or a wildcard
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        for member in members:
            if _fits(value, member):
                return mistyped(value, member, where, none_fits=none_fits)
        named = sorted(members, key=lambda member: member is type(None))  # None last
        return _expected(where, " or ".join(_type_name(member) for member in named), value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return _expected(where, _type_name(hint), value)
        (item_hint, *_) = typing.get_args(hint) or (object,)
        for index, item in enumerate(value):
            if none_fits and item is None:
                continue
            found = mistyped(item, item_hint, f"{where}[{index}]", none_fits=none_fits)
            if found:
                return found
        return None
    if not _fits(value, hint):
        return _expected(where, _type_name(hint), value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _mistyped_fields(value, where, none_fits)
    return None


def _mistyped_fields(value: Any, where: str, none_fits: bool) -> str | None:

    hints = _hints(type(value))
    for each in dataclasses.fields(value):
        found = mistyped(
            getattr(value, each.name),
            hints.get(each.name, object),
            f"{where}.{each.name}",
            none_fits=none_fits,
        )
        if found:
            return found
    return None


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _fits(value: object, hint: object) -> bool:

    if hint is type(None):
        return value is None
    if hint is typing.Any or hint is object:
        return True
    origin = typing.get_origin(hint) or hint
    if origin is typing.Union or not isinstance(origin, type):
        return True  # a form not checked here (Literal, a TypeVar): let the writer say
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is Decimal and isinstance(value, Decimal):
        return decimal_problem(value) is None  # NaN, or ten million digits from 1E9999999
    return isinstance(value, origin)


def _type_name(hint: object) -> str:

    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        args = typing.get_args(hint)
        return f"list[{_type_name(args[0]) if args else 'object'}]"
    return getattr(hint, "__name__", str(hint))


def _expected(where: str, expected: str, value: object) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    hint = ""
    if "XmlDateTime" in expected and not isinstance(value, XmlDateTime):
        hint = " (an aware datetime becomes one with XmlDateTime.from_datetime(value))"
    elif "XmlDate" in expected and not isinstance(value, XmlDate):
        hint = " (a date becomes one with XmlDate.from_date(value))"
    elif isinstance(value, Decimal) and (problem := decimal_problem(value)):
        hint = f" ({problem})"
    return f"{where}: expected {expected}, got {type(value).__name__} {shown}{hint}"


# The xsi:type index of each generated package's schema classes, by its models module's name:
# built once per process, under a lock, and copied into each thread's context.
_XSI_INDEXES: dict[str, dict[str, list[type]]] = {}
_INDEXING = threading.Lock()


def package_context(models: types.ModuleType) -> Any:
    """xsdata's XmlContext for the schema classes of one generated package (`models`: its models
    module), whose xsi:type index is built once. xsdata's own context indexes every dataclass of
    the process, and again whenever a module has been imported since its last look: 0.1 s in our
    service's process, paid by each thread's first message with an xsi:type and again after any
    lazy import. It would also let an xsi:type name one of the runtime's own dataclasses (the
    server's RequestContext, say), and find it or not by what the process had imported. This index
    holds the classes the models module defines (nested ones included) and nothing else, in
    xsdata's order, whatever is imported before or after."""
    return _package_context_class()(models)


@functools.cache
def _package_context_class() -> type:
    from xsdata.formats.dataclass.context import XmlContext

    class PackageContext(XmlContext):
        __slots__ = ("_models",)

        def __init__(self, models: types.ModuleType) -> None:
            super().__init__(models_package=models.__name__.rpartition(".")[0] + ".")
            self._models = models

        def build_xsi_cache(self) -> None:
            if self.sys_modules == -1:
                return
            with _INDEXING:
                index = _XSI_INDEXES.get(self._models.__name__)
                if index is None:
                    index = _XSI_INDEXES[self._models.__name__] = self._index()
            self.xsi_cache.clear()
            self.xsi_cache.update({qname: list(found) for qname, found in index.items()})
            self.sys_modules = -1  # indexed, for good: the models module defines no more classes

        def _index(self) -> dict[str, list[type]]:
            # xsdata walks the subclasses of `object` depth first and takes the last class of a
            # name. Only the subtrees under the schema classes' topmost bases hold them, so only
            # those are walked, in the same order, and only the schema classes are kept.
            schema = self._schema_classes()
            bases = {base for clazz in schema for base in clazz.__mro__}
            builder = self.get_builder()
            index: dict[str, list[type]] = {}
            for top in object.__subclasses__():
                if top not in bases:
                    continue
                for clazz in (*self.get_subclasses(top), top):
                    if clazz in schema and self.is_binding_model(clazz):
                        qname = builder.build_class_meta(clazz).target_qname
                        if qname:
                            index.setdefault(qname, []).append(clazz)
            return index

        def _schema_classes(self) -> set[type]:
            """The classes the models module defines, nested ones included."""
            name = self._models.__name__
            found: set[type] = set()
            pending = list(vars(self._models).values())
            while pending:
                value = pending.pop()
                if isinstance(value, type) and value not in found and value.__module__ == name:
                    found.add(value)
                    pending.extend(vars(value).values())
            return found

    return PackageContext


def python_only_space(el: _Element, cls: type, context: Any) -> _Element | None:
    """The first element under `el` (read by xsdata into `cls`) whose text, or an attribute, xsdata
    would split or strip at a character that is no white space to XML: the tree is walked with
    xsdata's own metadata of the class each element is read into (`context`: its XmlContext), so
    a no-break space in a string is left alone."""
    pending: list[tuple[_Element, type]] = [(el, _read_as(el, cls, context) or cls)]
    while pending:
        node, kind = pending.pop()
        meta = context.build(kind)
        if meta.text is not None and _splits(meta.text) and _spaced(node.text):
            return node
        for name, value in node.attrib.items():
            var = meta.find_attribute(name)
            if var is not None and _splits(var) and _PYTHON_ONLY_SPACE.search(value):
                return node
        for child in node.iterchildren(etree.Element):
            held: type | None = None
            for var in meta.find_children(child.tag):
                if var.clazz is None and not var.is_wildcard and object not in var.types:
                    if _splits(var) and _spaced(child.text):
                        return child
                elif held is None:
                    held = _read_as(child, var.clazz, context)
            if held is not None:
                pending.append((child, held))
    return None


def _splits(var: Any) -> bool:
    """Whether xsdata splits (a list) or strips (a value that is no string) a var's text."""
    return bool(var.tokens) or any(
        tp not in (str, object) and not dataclasses.is_dataclass(tp) for tp in var.types
    )


def _spaced(text: str | None) -> bool:
    return bool(text) and _PYTHON_ONLY_SPACE.search(text or "") is not None


def _read_as(node: _Element, declared: type | None, context: Any) -> type | None:
    """The class xsdata reads `node` into: the one its xsi:type names, else `declared`."""
    named = node.get("{http://www.w3.org/2001/XMLSchema-instance}type")
    if named:
        prefix, _, local = named.strip(XML_SPACE).rpartition(":")
        namespace = node.nsmap.get(prefix or None)
        found: type | None = context.find_type(f"{{{namespace}}}{local}" if namespace else local)
        if found is not None:
            return found
    return declared
