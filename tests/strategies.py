"""Hypothesis strategies built from generated dataclasses, by xsdata's own mapping of each field.

Covers the plain shapes the specialised codecs write (elements, attributes, simple content of the
common value types, nested types, lists, optionals). A dataclass does not say which XSD type an
`int` or `str` came from (xs:byte, xs:NCName, xs:language, ...), so values stay inside what every
such type accepts: small positive integers, short ASCII words. A type with a shape or facet these
strategies cannot honour (patterns, digit or range facets, wildcards, compound fields, lists of
tokens) yields None: the generic path is xsdata itself, and the construct samples cover it.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from hypothesis import strategies as st
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlVar
from xsdata.models.datatype import XmlDate, XmlDateTime

WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNSUPPORTED_FACETS = {
    "pattern",
    "total_digits",
    "fraction_digits",
    "min_inclusive",
    "max_inclusive",
    "min_exclusive",
    "max_exclusive",
    "white_space",
}


@st.composite
def xml_datetimes(draw: st.DrawFn) -> XmlDateTime:
    """Any xs:dateTime Python holds: fractions of every precision, any offset or none."""
    moment = draw(st.datetimes())
    fraction = draw(st.sampled_from([0, 500_000_000, 667_000_000, 123_456_000, 1]))
    offset = draw(st.none() | st.integers(-14 * 60, 14 * 60))
    return XmlDateTime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        fraction,
        offset,
    )


def _xml_date(day: date) -> XmlDate:
    return XmlDate(day.year, day.month, day.day)


_VALUES: dict[Any, st.SearchStrategy[Any]] = {
    int: st.integers(1, 127),
    bool: st.booleans(),
    float: st.floats(allow_nan=False, width=64),
    Decimal: st.decimals(min_value=-(10**9), max_value=10**9, places=4),
    XmlDateTime: xml_datetimes(),
    XmlDate: st.dates().map(_xml_date),
    bytes: st.binary(max_size=40),
}


def _element_of(cls: Any) -> bool:
    """xsdata's class for a global element of a named type: the type's fields, a Meta.namespace."""
    base = cls.__mro__[1]
    meta = vars(cls).get("Meta")
    return (
        dataclasses.is_dataclass(base)
        and meta is not None
        and "namespace" in vars(meta)
        and {f.name for f in dataclasses.fields(cls)} == {f.name for f in dataclasses.fields(base)}
    )


class Strategies:
    """Strategies for the dataclasses of one generated models module."""

    def __init__(self, models: Any, depth: int = 3) -> None:
        self.context = XmlContext()
        self.depth = depth
        classes = [
            v for v in vars(models).values() if isinstance(v, type) and dataclasses.is_dataclass(v)
        ]
        # A base type with derived ones may be abstract, and xsi:type picks among them: skipped.
        self.bases = {base for cls in classes if not _element_of(cls) for base in cls.__mro__[1:]}

    def of(self, cls: type[Any], depth: int = 0) -> st.SearchStrategy[Any] | None:
        meta = self.context.build(cls)
        if meta.wildcards or meta.any_attributes or meta.choices or cls in self.bases:
            return None
        facets = {f.name: f.metadata for f in dataclasses.fields(cls) if f.init}
        fields: dict[str, st.SearchStrategy[Any]] = {}
        variables = [*meta.get_attribute_vars(), *meta.get_element_vars()]
        if meta.text is not None:
            variables.append(meta.text)
        for var in variables:
            if var.name not in facets:
                return None  # fixed values are not the sender's to choose
            found = self._field(var, facets[var.name], depth)
            if found is None:
                return None
            fields[var.name] = found
        return st.builds(cls, **fields)

    def _field(self, var: XmlVar, facets: Any, depth: int) -> st.SearchStrategy[Any] | None:
        if var.is_elements or var.is_wildcard or var.tokens or var.mixed or var.any_type:
            return None
        if len(var.types) != 1 or _UNSUPPORTED_FACETS & set(facets):
            return None
        if var.default not in (None, "") and not callable(var.default):
            return None
        if var.nillable:
            return None
        value = self._value(var, facets, depth)
        if value is None:
            return None
        if var.list_element:  # as many items as minOccurs and maxOccurs allow, at most a few
            low = int(facets.get("min_occurs", 1 if var.required else 0))
            high = min(int(facets.get("max_occurs", low + 2)), low + 2)
            return st.lists(value, min_size=low, max_size=high if depth < self.depth else low)
        if var.required or var.is_text:
            return value
        return st.none() | value

    def _value(self, var: XmlVar, facets: Any, depth: int) -> st.SearchStrategy[Any] | None:
        tp = var.types[0]
        if var.clazz is not None:
            if depth >= self.depth and var.required:
                return None
            return self.of(var.clazz, depth + 1) if depth < self.depth else None
        if isinstance(tp, type) and issubclass(tp, Enum):
            return st.sampled_from(list(tp))
        if tp is str:
            exact = facets.get("length")
            low = exact if exact is not None else max(facets.get("min_length", 1), 1)
            high = exact if exact is not None else facets.get("max_length", 8)
            return st.text(WORD, min_size=low, max_size=max(low, min(high, 8)))
        if tp is bytes and var.format not in ("base64", "base16"):
            return None
        return _VALUES.get(tp)
