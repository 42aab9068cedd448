"""All name conversion of the generator in one place."""

from __future__ import annotations

import keyword
import re

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`MedicalExemptionSearch` -> `medical_exemption_search`; keywords get a trailing
    underscore."""
    words = re.split(r"[^0-9A-Za-z]+", _WORD_BOUNDARY.sub("_", name))
    result = "_".join(w.lower() for w in words if w)
    if not result or result[0].isdigit():
        result = f"_{result}"
    return f"{result}_" if keyword.iskeyword(result) else result


def local_name(qname: str) -> str:
    """`{ns}Name` -> `Name`."""
    return qname.rpartition("}")[2]


def namespace(qname: str) -> str:
    """`{ns}Name` -> `ns` (empty when unqualified)."""
    return qname[1:].partition("}")[0] if qname.startswith("{") else ""


def service_method(service_id: str, request_type: str) -> str:
    """The method name for a service: from its request type, minus a `Request` suffix."""
    base = local_name(request_type)
    base = base.removesuffix("Request") or base
    return snake_case(base)


def ident(class_name: str) -> str:
    """A class's qualified name as one identifier (`Outer.Inner` -> `Outer_Inner`)."""
    return class_name.replace(".", "_")
