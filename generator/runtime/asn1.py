"""A small, strict reader of ASN.1 BER/DER: just what the certificates and PKCS#12 files of НУЦ need.

`cryptography` reads X.509 certificates but not GOST keys, and НУЦ's PKCS#12 files are BER with
indefinite lengths. The ASN.1 libraries on PyPI are untyped, and the generated package must pass
`mypy --strict` in its users' projects, so the few structures are walked here: `parse` reads one
value (with everything inside it, bounded in depth), and the `Node` accessors check the tag they
expect and raise `Asn1Error` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Asn1Error", "Node", "parse"]

_MAX_DEPTH = 40

BOOLEAN, INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
SEQUENCE, SET = 0x30, 0x31


class Asn1Error(ValueError):
    """The bytes are not the ASN.1 value expected."""


@dataclass(frozen=True)
class Node:
    """One TLV: its identifier octet, its content (primitive) or children (constructed), its bytes."""

    tag: int
    content: bytes = field(repr=False)
    children: tuple[Node, ...] = ()
    encoded: bytes = field(default=b"", repr=False)

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def expect(self, tag: int, what: str) -> Node:
        if self.tag != tag:
            raise Asn1Error(f"{what}: expected tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self

    def items(self, what: str, tag: int = SEQUENCE) -> tuple[Node, ...]:
        """The children of a SEQUENCE (or of `tag`)."""
        return self.expect(tag, what).children

    def oid(self) -> str:
        content = self.expect(OID, "an OBJECT IDENTIFIER").content
        if not content or content[-1] & 0x80:
            raise Asn1Error("a malformed OBJECT IDENTIFIER")
        arcs: list[int] = []
        value = 0
        for byte in content:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        first = min(arcs[0] // 40, 2)
        return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])

    def integer(self) -> int:
        content = self.expect(INTEGER, "an INTEGER").content
        if not content:
            raise Asn1Error("an empty INTEGER")
        return int.from_bytes(content, "big", signed=True)

    def octets(self) -> bytes:
        """An OCTET STRING's bytes (the pieces of a constructed BER one joined)."""
        if self.tag == OCTET_STRING:
            return self.content
        if self.tag == OCTET_STRING | 0x20:
            return b"".join(child.octets() for child in self.children)
        raise Asn1Error(f"an OCTET STRING: found tag 0x{self.tag:02x}")

    def bits(self) -> bytes:
        """A BIT STRING's bytes; it must have no unused bits."""
        content = self.expect(BIT_STRING, "a BIT STRING").content
        if not content or content[0] != 0:
            raise Asn1Error("a BIT STRING with unused bits")
        return content[1:]


def parse(data: bytes) -> Node:
    """The one ASN.1 value `data` holds (nothing may follow it)."""
    node, end = _read(bytes(data), 0, 0)
    if end != len(data):
        raise Asn1Error(f"{len(data) - end} bytes follow the ASN.1 value")
    return node


def _read(data: bytes, offset: int, depth: int) -> tuple[Node, int]:
    if depth > _MAX_DEPTH:
        raise Asn1Error("ASN.1 nested too deeply")
    if offset + 2 > len(data):
        raise Asn1Error("ASN.1 value cut short")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise Asn1Error("ASN.1 tags above 30 are not used here")
    first = data[offset + 1]
    position = offset + 2
    constructed = bool(tag & 0x20)
    if first == 0x80:  # indefinite length (BER): children up to the end-of-contents octets
        if not constructed:
            raise Asn1Error("a primitive ASN.1 value with an indefinite length")
        children: list[Node] = []
        while True:
            if data[position : position + 2] == b"\x00\x00":
                end = position + 2
                content = data[offset + 2 : position]
                break
            child, position = _read(data, position, depth + 1)
            children.append(child)
        return Node(tag, content, tuple(children), data[offset:end]), end
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or position + count > len(data):
            raise Asn1Error("an ASN.1 length out of range")
        length = int.from_bytes(data[position : position + count], "big")
        position += count
    else:
        length = first
    end = position + length
    if end > len(data):
        raise Asn1Error("ASN.1 value cut short")
    content = data[position:end]
    if not constructed:
        return Node(tag, content, (), data[offset:end]), end
    children = []
    inner = position
    while inner < end:
        child, inner = _read(data, inner, depth + 1)
        children.append(child)
    if inner != end:
        raise Asn1Error("an ASN.1 value overruns its container")
    return Node(tag, content, tuple(children), data[offset:end]), end
