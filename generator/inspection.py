"""`medexempt inspect`: a message, read with a generated package, as readable JSON."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

_SECRET = frozenset({"password"})


def describe_message(data: bytes, package: str) -> str:
    """JSON of the envelope's version, header block names and typed body, read with the generated
    package `package` (its `read_message`).

    Fields are named as on the wire (`requestInfo`, `nameRu`: the XML names, as `medexempt search
    --json` names them), bytes are shown by their size and passwords masked, so the output can be
    pasted into a ticket.
    """
    import importlib

    bindings = importlib.import_module(package)
    read_message = getattr(bindings, "read_message", None)
    if read_message is None:
        raise LookupError(
            f"{package} is not a package medexempt generated (it has no read_message)"
        )
    envelope = read_message(data)
    shown = {
        "soapVersion": envelope.version.value,
        "headerBlocks": None
        if envelope.header is None
        else [str(block.tag) for block in envelope.header],
        "bodyType": type(envelope.body).__name__,
        "body": _plain(envelope.body),
    }
    return json.dumps(shown, ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            _wire_name(f): "***"
            if f.name in _SECRET and getattr(value, f.name)
            else _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
        return {"@type": type(value).__name__, **fields}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _wire_name(field: dataclasses.Field[Any]) -> str:
    """The field's XML name: xsdata's metadata says it when it differs from the Python name."""
    name = field.metadata.get("name")
    return name if isinstance(name, str) and name else field.name
