"""Example messages: a complete SOAP message for a service's request or response, valid against
the schemas, with realistic values, deterministic for a seed.

The message is built as typed objects of the schema set's own models (so every construct the
generator accepts has its form), from the gateway's SendMessage or SendMessageResponse down to the
payload under `data` (typed by xsi:type), then written by xsdata and validated against the whole
schema set; a message that does not validate is an error naming why, never printed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import random
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import QName
from zoneinfo import ZoneInfo

from lxml import etree
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlVar
from xsdata.formats.dataclass.models.generics import AnyElement
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlDuration, XmlPeriod, XmlTime

from .contract import Contract
from .errors import GeneratorError, Problem
from .xmlfiles import compile_validator, staged

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ALMATY = ZoneInfo("Asia/Almaty")
_MAX_DEPTH = 12
_context = XmlContext()

_SKIP = object()
_PERIODS = {"gYear": "2026", "gMonth": "--03", "gDay": "---24", "gYearMonth": "2026-03",
            "gMonthDay": "--03-24"}  # fmt: skip
_BY_TYPE = {
    "IDREF": "id-1", "NCName": "example", "Name": "example", "NMTOKEN": "example",
    "anyURI": "https://example.kz/", "language": "kk", "token": "example",
}  # fmt: skip
_FIRST = ("Айгерім", "Нұрлан", "Дана", "Ерлан", "Жанар", "Асқар")
_LAST = ("Сәрсенбаева", "Ахметов", "Омарова", "Жақсылықов", "Нұрланова", "Бекова")
_MIDDLE = ("Қайратқызы", "Серікұлы", "Болатқызы", "Маратұлы")
_CITIES = ("Алматы", "Астана", "Шымкент", "Қарағанды")


def example_message(
    contract: Contract,
    service_id: str,
    role: str,
    *,
    minimal: bool = False,
    soap12: bool = False,
    seed: int = 1,
) -> bytes:
    """The SOAP message of `service_id`'s request or response (`role`), as bytes."""
    service = next((s for s in contract.project.services if s.id == service_id), None)
    if service is None:
        known = ", ".join(s.id for s in contract.project.services)
        raise GeneratorError(
            [Problem("services.toml", None, f"no service {service_id!r} (known: {known})")]
        )
    classes = {cls.__qualname__: cls for cls in _all_classes(contract)}
    payload_class = classes[service.request if role == "request" else service.response]
    maker = _Maker(contract, seed, minimal, service_id)
    payload = maker.instance(payload_class, "/" + payload_class.__qualname__, 0)
    gateway = contract.project.gateway
    root_class = classes[gateway.send_class if role == "request" else gateway.response_class]
    maker.payload = payload
    message = maker.instance(root_class, "/" + root_class.__qualname__, 0)
    serializer = XmlSerializer(config=SerializerConfig(xml_declaration=False))
    body = etree.fromstring(serializer.render(message).encode("utf-8"))
    _validate(contract, body)
    namespace = SOAP12 if soap12 else SOAP11
    envelope = etree.Element(f"{{{namespace}}}Envelope", nsmap={"soap": namespace})
    etree.SubElement(envelope, f"{{{namespace}}}Body").append(body)
    etree.indent(envelope)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")) + b"\n"


def _all_classes(contract: Contract) -> list[type]:
    from .contract import _classes

    return list(_classes(contract.module))


def _validate(contract: Contract, element: etree._Element) -> None:
    with staged(contract.trees) as stage:
        validator = compile_validator(stage, contract.xsd_dir)
    if not validator.validate(etree.ElementTree(element)):
        error = validator.error_log.last_error
        said = error.message if error is not None else "invalid"
        problem = f"the example does not validate against the schemas: {said}"
        raise GeneratorError([Problem("example", None, problem)])


class _Maker:
    def __init__(self, contract: Contract, seed: int, minimal: bool, service_id: str) -> None:
        rng = random.Random(seed)  # noqa: S311 - example values, not secrets
        self.contract = contract
        self.seed = seed
        self.classes = _all_classes(contract)
        self.stack: list[type] = []
        self.ids = 0
        self.rng = rng
        self.minimal = minimal
        self.service_id = service_id
        self.payload: object | None = None
        self.now = dt.datetime(2026, 1, 15, 10, 30, tzinfo=ALMATY) + dt.timedelta(
            days=rng.randrange(300), minutes=rng.randrange(600)
        )

    def instance(self, cls: type, path: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise GeneratorError(
                [Problem("example", None, f"{path}: the types nest too deeply to make an example")]
            )
        meta = _context.build(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        # The xs:choice groups of this instance that have their alternative: the alternative's path.
        chosen: dict[tuple[str | None, str], str] = {}
        self.stack.append(cls)
        try:
            for var in meta.get_all_vars():
                field = fields.get(var.name)
                if field is None or not field.init:  # a fixed value xsdata writes itself
                    continue
                local = None if var.is_wildcard else var.local_name
                found = self.contract.alternative_of(cls, local, var.is_attribute)
                if found is not None:
                    group, alternative, declared = found
                    # By place in the document (a schema may be written on one line).
                    tree = group.getroottree()
                    key = (tree.docinfo.URL, tree.getpath(group))
                    if key in chosen and chosen[key] != tree.getpath(alternative):
                        continue  # another alternative of the choice is the one given
                    first = key not in chosen
                    chosen[key] = tree.getpath(alternative)
                    if not first or not (self.minimal and group.get("minOccurs") == "0"):
                        # The alternative's elements: each one a sequence of it requires.
                        must = alternative is declared or declared.get("minOccurs", "1") != "0"
                        made = self.field(cls, var, dict(field.metadata), path, depth, must)
                        if made is not _SKIP:
                            values[var.name] = made
                        continue
                must = (
                    var.required
                    or (
                        field.default is dataclasses.MISSING
                        and field.default_factory is dataclasses.MISSING
                    )
                    or self.contract.declared_required(cls, var.local_name, var.is_attribute)
                )
                made = self.field(cls, var, dict(field.metadata), path, depth, must)
                if made is not _SKIP:
                    values[var.name] = made
        finally:
            self.stack.pop()
        return cls(**values)

    def field(
        self, cls: type, var: XmlVar, metadata: dict[str, Any], path: str, depth: int, must: bool
    ) -> Any:
        where = f"{path}/{'@' if var.is_attribute else ''}{var.local_name}"
        if var.is_attributes:  # xs:anyAttribute
            return {}
        if var.elements:  # a choice, or a repeating sequence xsdata holds as one list
            members = list(var.elements.values())
            once = self.contract.choice_of(cls, members[0].local_name, False) is not None
            if not var.list_element or once:  # (mixed content makes a single choice a list)
                first = members[0]
                made = self.value(cls, first, metadata, f"{path}/{first.local_name}", depth)
                return [made] if var.list_element else made
            # One of each member in order: a repeating sequence's one round, a repeating
            # choice's members once each.
            return [self.value(cls, m, metadata, f"{path}/{m.local_name}", depth) for m in members]
        if self.carries(var):
            return self.payload
        if var.is_wildcard:  # one element of our own the wildcard admits (lax or skip)
            if var.process_contents == "strict":
                if not must:
                    return [] if var.list_element else _SKIP
                problem = f"{where}: a required strict wildcard (xs:any) has no example element"
                raise GeneratorError([Problem("example", None, problem)])
            made = self.value(cls, var, metadata, where, depth)
            return [made] if var.list_element else made
        clazz = var.clazz
        recursive = clazz is not None and clazz in self.stack
        if not must and (recursive or (self.minimal and not var.list_element)):
            return _SKIP
        if var.list_element and not var.tokens:
            if recursive:
                return []
            minimum = int(metadata.get("min_occurs", 1))
            maximum = int(metadata.get("max_occurs", 2))
            count = max(minimum, 1) if self.minimal else max(minimum, min(2, maximum))
            return [self.value(cls, var, metadata, where, depth) for _ in range(count)]
        if must and var.nillable and (self.minimal or recursive):
            return None
        return self.value(cls, var, metadata, where, depth)

    def carries(self, var: XmlVar) -> bool:
        """Whether `var` is the gateway's `data`, which holds the payload."""
        typed_by_xsi = var.any_type or var.is_wildcard or object in var.types
        return var.local_name == "data" and self.payload is not None and typed_by_xsi

    def value(
        self, holder: type, var: XmlVar, metadata: dict[str, Any], path: str, depth: int
    ) -> Any:
        name = var.local_name
        if self.carries(var):
            return self.payload
        if var.is_wildcard:
            return AnyElement(qname=_wildcard_name(var.namespaces), text="example")
        clazz = var.clazz
        if clazz is not None and dataclasses.is_dataclass(clazz):
            return self.instance(self.concrete(clazz), path, depth + 1)
        kinds = [t for t in var.types if t is not type(None)]
        if not kinds or kinds == [object]:
            return "example"
        kind = kinds[0]
        declared = self.contract.declared_type(holder, name, var.is_attribute)
        if var.tokens:
            return [self.simple(kind, name, metadata, path, declared)]
        return self.simple(kind, name, metadata, path, declared)

    def concrete(self, cls: type) -> type:
        """`cls`, or when it is abstract the first class of the schemas derived from it."""
        abstract = self.contract.abstract_types
        if self.contract.type_name(cls) not in abstract:
            return cls
        derived = [
            other for other in self.classes
            if other is not cls and issubclass(other, cls)
            and self.contract.type_name(other) not in abstract
        ]  # fmt: skip
        if not derived:
            raise GeneratorError(
                [
                    Problem(
                        "example",
                        None,
                        f"{cls.__qualname__} is abstract and nothing derives from it",
                    )
                ]
            )
        return sorted(derived, key=lambda c: c.__qualname__)[0]

    def simple(
        self, kind: Any, name: str, metadata: dict[str, Any], path: str, declared: str
    ) -> Any:
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            members = list(kind)  # the last value with the default seed, others with others
            return members[len(members) - 1 - (self.seed - 1) % len(members)]
        lowered = name.lower()
        if kind is bool:
            return True
        if kind is int:
            return self.number(
                metadata, 1 if "count" in lowered else 2026 if "year" in lowered else 7
            )
        if kind in (Decimal, float):
            value = self.number(metadata, 12)
            return Decimal(value) if kind is Decimal else float(value)
        if kind is XmlDateTime:
            return XmlDateTime.from_datetime(self.now.replace(microsecond=0))
        if kind is XmlDate:
            return XmlDate.from_date(self.now.date())
        if kind is XmlTime:
            return XmlTime(self.now.hour, self.now.minute, 0, offset=300)
        if kind is XmlDuration:
            return XmlDuration("P30D")
        if kind is bytes:
            return b"example"
        if kind is XmlPeriod:
            return XmlPeriod(_PERIODS.get(declared, "2026"))
        if kind is QName:
            return QName("{urn:medexempt:example}value")
        if kind is str and declared == "ID":  # unique in the document
            self.ids += 1
            return f"id-{self.ids}"
        if kind is str and declared in _BY_TYPE:
            return _BY_TYPE[declared]
        if kind is str:
            return self.text(lowered, metadata, path)
        if kind is dt.date:  # xs:date in some xsdata configurations
            return self.now.date()
        return self.text(lowered, metadata, path)

    def number(self, metadata: dict[str, Any], preferred: int) -> int:
        low = _bound(metadata, "min_inclusive", "min_exclusive", +1)
        high = _bound(metadata, "max_inclusive", "max_exclusive", -1)
        value = preferred
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        digits = metadata.get("total_digits")
        if digits is not None and len(str(abs(value))) > int(digits):
            value = int("9" * int(digits)) if (high is None or high >= 9) else (low or 0)
        return value

    def text(self, name: str, metadata: dict[str, Any], path: str) -> str:
        pattern = metadata.get("pattern")
        candidates = self.realistic(name, path.lower())
        fits = [c for c in candidates if _fits(c, metadata)]
        if fits:
            return fits[0]
        if pattern:
            try:
                made = _from_pattern(str(pattern), self.rng)
            except ValueError as exc:
                raise GeneratorError(
                    [
                        Problem(
                            "example",
                            None,
                            f"{path}: cannot make a value for the pattern {pattern!r}: {exc}",
                        )
                    ]
                ) from None
            if _fits(made, metadata):
                return made
        return _sized("example", metadata)

    def realistic(self, name: str, path: str) -> list[str]:
        rng = self.rng
        if name in ("serviceid",):
            return [self.service_id]
        if name in ("messageid", "correlationid") or name.endswith("uuid"):
            return [str(uuid.UUID(int=rng.getrandbits(128), version=4))]
        if "iin" in name or name in ("bin", "iinbin"):
            return [_iin(rng)]
        if name in ("senderid",):
            return ["example-mis"]
        if "password" in name:
            return ["example-password"]
        if name == "statuscode" or path.endswith("status/code"):
            return ["SUCCESS", "001", "1"]
        if name == "code":
            return ["01", "1"]
        if name.endswith("ru") and name.startswith(("name", "title", "description")):
            return ["Пример"]
        if name.endswith("kk") and name.startswith(("name", "title", "description")):
            return ["Мысал"]
        if "surname" in name or "lastname" in name:
            return [rng.choice(_LAST)]
        if "middlename" in name or "patronymic" in name:
            return [rng.choice(_MIDDLE)]
        if "firstname" in name or name == "name":
            return [rng.choice(_FIRST)]
        if "fullname" in name or "fio" in name:
            return [f"{rng.choice(_LAST)} {rng.choice(_FIRST)} {rng.choice(_MIDDLE)}"]
        if "city" in name or "address" in name:
            return [rng.choice(_CITIES)]
        if "phone" in name:
            return ["+7701" + "".join(str(rng.randrange(10)) for _ in range(7))]
        if "email" in name:
            return ["example@example.kz"]
        if "passport" in name:
            return ["N" + "".join(str(rng.randrange(10)) for _ in range(8))]
        if "citizenship" in name or "country" in name:
            return ["398", "KZ"]
        if name.endswith("id"):
            return ["id-" + "".join(str(rng.randrange(10)) for _ in range(5))]
        if "number" in name or name.endswith("no"):
            return ["".join(str(rng.randrange(10)) for _ in range(5))]
        if "message" in name or "description" in name or "comment" in name:
            return ["Пример / example"]
        return []


def _wildcard_name(namespaces: Sequence[str]) -> str:
    """An element name the wildcard admits, from xsdata's form of its namespace constraint."""
    ours = "urn:medexempt:example"
    for allowed in namespaces:
        if allowed in ("##any", "##other") or allowed.startswith("!"):
            return f"{{{ours}}}extension"  # any namespace, or one other than the schema's own
    listed = [ns for ns in namespaces if ns not in ("##local", "")]
    if listed and len(listed) == len(namespaces):
        return f"{{{listed[0].replace('##targetNamespace', '')}}}extension"
    return "extension"  # no namespace


def _bound(metadata: dict[str, Any], inclusive: str, exclusive: str, step: int) -> int | None:
    if metadata.get(inclusive) is not None:
        return int(Decimal(str(metadata[inclusive])))
    if metadata.get(exclusive) is not None:
        return int(Decimal(str(metadata[exclusive]))) + step
    return None


def _fits(value: str, metadata: dict[str, Any]) -> bool:
    length = metadata.get("length")
    if length is not None and len(value) != int(length):
        return False
    if metadata.get("min_length") is not None and len(value) < int(metadata["min_length"]):
        return False
    if metadata.get("max_length") is not None and len(value) > int(metadata["max_length"]):
        return False
    pattern = metadata.get("pattern")
    if pattern:
        try:
            return re.fullmatch(_python_regex(str(pattern)), value) is not None
        except re.error:
            return False
    return True


def _sized(value: str, metadata: dict[str, Any]) -> str:
    size = metadata.get("length") or metadata.get("min_length")
    if size is not None and len(value) < int(size):
        value = (value * (int(size) // len(value) + 1))[: int(size)]
    top = metadata.get("max_length") or metadata.get("length")
    if top is not None:
        value = value[: int(top)]
    return value


def _iin(rng: random.Random) -> str:
    """A valid IIN: a birth date, a century-and-sex digit, a serial and the check digit."""
    while True:
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        digits = [int(c) for c in born.strftime("%y%m%d")]
        digits.append(3 if born.year < 2000 else 5)
        digits += [rng.randrange(10) for _ in range(4)]
        check = sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
        if check == 10:
            weights = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
            check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)


# --- A string for an XSD pattern (the common subset of XSD's regular expressions) -----------

_CLASSES = {
    "d": "0123456789",
    "w": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "s": " ",
    "i": "abcdefghijklmnopqrstuvwxyz_",
    "c": "abcdefghijklmnopqrstuvwxyz0123456789-._",
}


def _python_regex(pattern: str) -> str:
    """An XSD pattern as a Python one, for the subset they share (\\i and \\c widened)."""
    return pattern.replace(r"\i", "[^\\W\\d]").replace(r"\c", "[\\w.\\-:]")


def _from_pattern(pattern: str, rng: random.Random) -> str:
    parser = _Pattern(pattern, rng)
    made = parser.alternation()
    if parser.position != len(pattern):
        raise ValueError(f"unexpected {pattern[parser.position]!r} at {parser.position}")
    return made


class _Pattern:
    def __init__(self, text: str, rng: random.Random) -> None:
        self.text = text
        self.position = 0
        self.rng = rng

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise ValueError("the pattern ends early")
        self.position += 1
        return char

    def alternation(self) -> str:
        options = [self.sequence()]
        while self.peek() == "|":
            self.take()
            options.append(self.sequence())
        return options[0]

    def sequence(self) -> str:
        out: list[str] = []
        while self.peek() and self.peek() not in "|)":
            atom = self.atom()
            low, high = self.quantifier()
            count = max(low, 1) if high is None else min(max(low, 1), high)
            out.extend(atom() for _ in range(count))
        return "".join(out)

    def quantifier(self) -> tuple[int, int | None]:
        char = self.peek()
        if char == "?":
            self.take()
            return 0, 1
        if char == "*":
            self.take()
            return 0, None
        if char == "+":
            self.take()
            return 1, None
        if char == "{":
            self.take()
            body = ""
            while self.peek() != "}":
                body += self.take()
            self.take()
            low, _, high = body.partition(",")
            if not _:
                return int(low), int(low)
            return int(low), int(high) if high else None
        return 1, 1

    def atom(self) -> Callable[[], str]:
        char = self.take()
        if char == "(":
            made = self.alternation()
            if self.take() != ")":
                raise ValueError("an unclosed group")
            return lambda: made
        if char == "[":
            choices = self.char_class()
            return lambda: self.rng.choice(choices)
        if char == "\\":
            escaped = self.take()
            if escaped in _CLASSES:
                pool = _CLASSES[escaped]
                return lambda: self.rng.choice(pool)
            if escaped in "DWSIC" or escaped in "pP":
                raise ValueError(f"\\{escaped} is not supported")
            return lambda: escaped
        if char == ".":
            return lambda: self.rng.choice("abcdefghijklmnopqrstuvwxyz")
        return lambda: char

    def char_class(self) -> str:
        negated = self.peek() == "^"
        if negated:
            self.take()
        chars = ""
        first = True
        while first or self.peek() != "]":
            first = False
            char = self.take()
            if char == "\\":
                escaped = self.take()
                chars += _CLASSES.get(escaped, escaped)
                continue
            if self.peek() == "-" and self.text[self.position + 1 : self.position + 2] not in (
                "]",
                "",
            ):
                self.take()
                end = self.take()
                chars += "".join(chr(c) for c in range(ord(char), ord(end) + 1))
                continue
            chars += char
        self.take()
        if negated:
            pool = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            chars = "".join(c for c in pool if c not in chars)
        if not chars:
            raise ValueError("an empty character class")
        return chars
