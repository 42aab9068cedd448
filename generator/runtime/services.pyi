"""What the runtime needs of a schema's manifest: the contract `services.py` meets (see syncchannel.pyi)."""

from typing import Any

from .gateway import ServiceBinding

SERVICES: dict[str, ServiceBinding[Any, Any]]

def wsdl_text() -> str: ...
