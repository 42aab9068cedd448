"""XML signatures (XMLDSig) with RSA-SHA256 or GOST 34.10-2015 (512): the algorithms, their checks,
building a signature, and enveloped documents as НУЦ's SDK (Kalkan) signs them.

The algorithms a signature may use come from its certificate's key (`KeyKind`), never from the
message alone: an RSA certificate takes RSA-SHA256 with SHA-256 digests, a GOST one
`…pkigovkz…gostr34102015-gostr34112015-512` with Streebog-512 digests (`…gostr34112015-512`). The
older GOST 34.310-2004 pair and every other algorithm are refused by name.

`verify_document` checks the enveloped signatures of a document (`Reference URI=""` with the
enveloped-signature transform; a XAdES `#id` reference only to the signature's own ds:Object);
`sign_document` adds one as Kalkan does (C14N 1.0, the enveloped-signature and C14N-with-comments
transforms, the certificate in X509Data). WS-Security messages are in `wssecurity`.
"""

from __future__ import annotations

import base64
import copy
import functools
import hmac
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from lxml import etree
from lxml.etree import SubElement as _SE
from lxml.etree import _Element

from .certificates import Certificate, CertificateError, KeyKind, TrustError

if TYPE_CHECKING:
    from .certificates import SigningKey, TrustStore

__all__ = [
    "C14N",
    "C14N_EXCLUSIVE",
    "C14N_EXCLUSIVE_WITH_COMMENTS",
    "C14N_WITH_COMMENTS",
    "DS_NS",
    "ENVELOPED",
    "GOST_2015_DIGEST",
    "GOST_2015_SIGNATURE",
    "RSA_SHA256",
    "SHA256",
    "DocumentSignature",
    "Reason",
    "SignatureError",
    "sign_document",
    "verify_document",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = C14N + "#WithComments"
C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_EXCLUSIVE_WITH_COMMENTS = C14N_EXCLUSIVE + "WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
GOST_2015_SIGNATURE = (
    "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
)
GOST_2015_DIGEST = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"
_CANONICAL = {C14N, C14N_WITH_COMMENTS, C14N_EXCLUSIVE, C14N_EXCLUSIVE_WITH_COMMENTS}
# Named when refused, so a sender sees what it used.
_KNOWN = {
    "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311": "GOST 34.310-2004 (not supported)",
    "http://www.w3.org/2001/04/xmldsig-more#gost34311": "GOST 34.311-95 (not supported)",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "RSA-SHA1",
    "http://www.w3.org/2000/09/xmldsig#sha1": "SHA-1",
    "http://www.w3.org/2006/12/xml-c14n11": "C14N 1.1 (not supported)",
    RSA_SHA256: "RSA-SHA256",
    SHA256: "SHA-256",
    GOST_2015_SIGNATURE: "GOST 34.10-2015 (512)",
    GOST_2015_DIGEST: "Streebog-512",
}


class Reason(StrEnum):
    """Why a signature is refused; the value is the errorCode of the fault the server answers."""

    MISSING = "SIGNATURE_MISSING"
    WRAPPING = "SIGNATURE_WRAPPING"
    DIGEST_MISMATCH = "SIGNATURE_DIGEST_MISMATCH"
    INVALID = "SIGNATURE_INVALID"
    UNTRUSTED = "CERTIFICATE_UNTRUSTED"
    EXPIRED = "CERTIFICATE_EXPIRED"


class SignatureError(Exception):
    """A signature that is refused: `reason` is the kind, `message` says what failed."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class _Algorithms:
    signature: str
    digest: str
    name: str

    def hash(self, data: bytes) -> bytes:
        if self.digest == GOST_2015_DIGEST:
            from .gost import streebog512

            return streebog512(data)
        import hashlib

        return hashlib.sha256(data).digest()


ALGORITHMS = {
    KeyKind.RSA: _Algorithms(RSA_SHA256, SHA256, "RSA-SHA256"),
    KeyKind.GOST_2015_512: _Algorithms(
        GOST_2015_SIGNATURE, GOST_2015_DIGEST, "GOST 34.10-2015 (512) with Streebog-512"
    ),
}


def quoted(value: str | None) -> str:
    """An algorithm name as a fault text shows it: known ones by name, others shortened, one line."""
    if value is None:
        return "(none)"
    known = _KNOWN.get(value)
    shown = repr(value[:80] + ("…" if len(value) > 80 else ""))
    return f"{shown} ({known})" if known else shown


def only(parent: _Element, local: str, ns: str = DS_NS) -> _Element:
    """The one child `local` of `parent`, or SIGNATURE_WRAPPING."""
    found = parent.findall("{" + ns + "}" + local)
    if len(found) != 1:
        raise SignatureError(Reason.WRAPPING, f"expected one ds:{local}, found {len(found)}")
    return found[0]


def base64_of(element: _Element, name: str) -> bytes:
    """The decoded base64 text of a ds: element (whitespace and Kalkan's &#13; ignored)."""
    if len(element):
        raise SignatureError(Reason.INVALID, f"ds:{name} holds elements")
    try:
        decoded = base64.b64decode("".join((element.text or "").split()), validate=True)
    except ValueError:
        raise SignatureError(Reason.INVALID, f"ds:{name} is not base64") from None
    if not decoded:
        raise SignatureError(Reason.INVALID, f"ds:{name} is empty")
    return decoded


_INCLUSIVE_NAMESPACES = "{" + C14N_EXCLUSIVE + "}InclusiveNamespaces"
_NCNAME = re.compile(r"[^\W\d][\w.-]*")


def canonical(element: _Element, method: _Element, *, comments: bool | None = None) -> bytes:
    """`element` canonicalised as `method` (a Transform or CanonicalizationMethod naming one of
    the C14N 1.0 or exclusive C14N forms, with or without comments) asks. `comments=False`
    leaves them out whatever the method says (a same-document reference)."""
    algorithm = method.get("Algorithm")
    if algorithm not in _CANONICAL:
        raise SignatureError(Reason.INVALID, f"the canonicalization {quoted(algorithm)} is refused")
    exclusive = algorithm in (C14N_EXCLUSIVE, C14N_EXCLUSIVE_WITH_COMMENTS)
    with_comments = algorithm.endswith("WithComments") if comments is None else comments
    children = [child for child in method if isinstance(child.tag, str)]
    prefixes: list[str] = []
    if children:
        if (
            not exclusive
            or len(children) != 1
            or children[0].tag != _INCLUSIVE_NAMESPACES
            or len(children[0])
        ):
            raise SignatureError(
                Reason.INVALID, "only exclusive C14N takes a parameter: one ec:InclusiveNamespaces"
            )
        listed = children[0].get("PrefixList")
        if listed is None:
            raise SignatureError(Reason.INVALID, "ec:InclusiveNamespaces has no PrefixList")
        prefixes = listed.split()
    if any(prefix != "#default" and not _NCNAME.fullmatch(prefix) for prefix in prefixes):
        raise SignatureError(
            Reason.INVALID, "ec:InclusiveNamespaces lists a prefix that is not an NCName"
        )
    try:
        return etree.tostring(
            element,
            method="c14n",
            exclusive=exclusive,
            with_comments=with_comments,
            inclusive_ns_prefixes=prefixes or None,
        )
    except (ValueError, etree.Error):
        raise SignatureError(Reason.INVALID, "the signed part cannot be canonicalised") from None


def certificate_of(der: bytes) -> Certificate:
    """The signer's certificate from KeyInfo, or SIGNATURE_INVALID naming what it is."""
    try:
        return _read_certificate(der)
    except CertificateError as error:
        raise SignatureError(Reason.INVALID, f"KeyInfo's certificate: {error}") from None


@functools.lru_cache(maxsize=256)
def _read_certificate(der: bytes) -> Certificate:
    """Read once per process: the same senders sign message after message."""
    return Certificate.from_der(der)


def check_trust(trust: TrustStore, certificate: Certificate, at: datetime) -> None:
    """`trust.check`, its refusal as a SignatureError (CERTIFICATE_UNTRUSTED or _EXPIRED)."""
    try:
        trust.check(certificate, at)
    except TrustError as error:
        reason = Reason.EXPIRED if error.expired else Reason.UNTRUSTED
        raise SignatureError(reason, error.message) from None


def algorithms_for(signed_info: _Element, certificate: Certificate) -> _Algorithms:
    """The algorithms of the certificate's key, checked against the SignatureMethod."""
    expected = ALGORITHMS[certificate.kind]
    method = only(signed_info, "SignatureMethod").get("Algorithm")
    if method != expected.signature:
        raise SignatureError(
            Reason.INVALID,
            f"the signature method {quoted(method)} is not {expected.name}, "
            f"which the certificate's {certificate.kind} key signs with",
        )
    return expected


def check_digest(reference: _Element, algorithms: _Algorithms, signed: bytes, what: str) -> None:
    """The Reference's DigestMethod is the key's and its DigestValue is the hash of `signed`."""
    method = only(reference, "DigestMethod").get("Algorithm")
    if method != algorithms.digest:
        name = "SHA-256" if algorithms.digest == SHA256 else "Streebog-512"
        raise SignatureError(Reason.INVALID, f"the digest method {quoted(method)} is not {name}")
    expected = base64_of(only(reference, "DigestValue"), "DigestValue")
    if not hmac.compare_digest(algorithms.hash(signed), expected):
        raise SignatureError(Reason.DIGEST_MISMATCH, f"{what} does not match its signed digest")


def check_signature_value(signature: _Element, certificate: Certificate) -> None:
    """The SignatureValue verifies over the canonical SignedInfo with the certificate's key."""
    signed_info = only(signature, "SignedInfo")
    value = base64_of(only(signature, "SignatureValue"), "SignatureValue")
    signed = canonical(signed_info, only(signed_info, "CanonicalizationMethod"))
    if not certificate.verify(signed, value):
        raise SignatureError(
            Reason.INVALID, "the SignatureValue does not verify with the certificate's key"
        )


def build_signature(
    key: SigningKey,
    references: list[tuple[str, list[str], bytes]],
    key_info: _Element,
    c14n: str,
) -> tuple[_Element, Callable[[], None]]:
    """A ds:Signature over `references` (URI, transform algorithms, the canonical bytes signed),
    and the function that fills its SignatureValue once the element sits where it belongs (the
    canonical SignedInfo depends on the namespaces in scope there)."""
    algorithms = ALGORITHMS[key.certificate.kind]
    signature = etree.Element("{" + DS_NS + "}Signature", nsmap={"ds": DS_NS})
    signed_info = _SE(signature, "{" + DS_NS + "}SignedInfo")
    _SE(signed_info, "{" + DS_NS + "}CanonicalizationMethod").set("Algorithm", c14n)
    _SE(signed_info, "{" + DS_NS + "}SignatureMethod").set("Algorithm", algorithms.signature)
    for uri, transforms, signed in references:
        reference = _SE(signed_info, "{" + DS_NS + "}Reference")
        reference.set("URI", uri)
        listed = _SE(reference, "{" + DS_NS + "}Transforms")
        for algorithm in transforms:
            _SE(listed, "{" + DS_NS + "}Transform").set("Algorithm", algorithm)
        _SE(reference, "{" + DS_NS + "}DigestMethod").set("Algorithm", algorithms.digest)
        digest = _SE(reference, "{" + DS_NS + "}DigestValue")
        digest.text = base64.b64encode(algorithms.hash(signed)).decode("ascii")
    value = _SE(signature, "{" + DS_NS + "}SignatureValue")
    signature.append(key_info)

    def fill() -> None:
        method = signed_info[0]
        value.text = base64.b64encode(key.sign(canonical(signed_info, method))).decode("ascii")

    return signature, fill


# --- Enveloped documents -----------------------------------------------------------------------

_SIGNATURE = "{" + DS_NS + "}Signature"
_ID_NAMES = frozenset({"Id", "ID", "id"})
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_ALL_IDS = etree.XPath(
    "//@*[" + " or ".join(f"local-name()='{name}'" for name in sorted(_ID_NAMES)) + "]"
)


@dataclass(frozen=True)
class DocumentSignature:
    """One verified signature of a document: its certificate, algorithm, and whether the chain
    was checked (a trust store was given)."""

    certificate: Certificate
    algorithm: str
    trusted: bool


def check_unique_ids(root: _Element) -> None:
    """SIGNATURE_WRAPPING when an ID (Id, ID, id, wsu:Id, xml:id) appears twice."""
    found = _ALL_IDS(root)
    values = [str(value) for value in found] if isinstance(found, list) else []
    if len(values) != len(set(values)):
        counts = Counter(values)
        repeated = next(value for value in values if counts[value] > 1)
        raise SignatureError(Reason.WRAPPING, f"the ID {repeated[:80]!r} appears more than once")


def element_ids(element: _Element) -> set[str]:
    """The IDs `element` carries (Id, ID, id in any namespace, xml:id)."""
    return {
        str(value)
        for name, value in element.attrib.items()
        if name == _XML_ID or str(name).rpartition("}")[2] in _ID_NAMES
    }


def verify_document(
    root: _Element, trust: TrustStore | None = None, at: datetime | None = None
) -> list[DocumentSignature]:
    """Verify every enveloped signature of the document `root`, or raise SignatureError.

    Signature i covers the document without itself and the signatures after it. Each must be a child of the document element, hold one X509Certificate, and
    have exactly one `Reference URI=""` whose transforms are the enveloped-signature one,
    optionally followed by one C14N; other References may point only (by ID) into the signature's
    own ds:Object (XAdES SignedProperties). With `trust`, each signer's chain is checked at `at`
    (now by default); without, the signature is checked against the certificate it carries.
    """
    signatures = list(root.iter(_SIGNATURE))
    if not signatures:
        raise SignatureError(Reason.MISSING, "the document has no ds:Signature")
    if any(signature.getparent() is not root for signature in signatures):
        raise SignatureError(
            Reason.WRAPPING, "a ds:Signature must be a child of the document element (enveloped)"
        )
    check_unique_ids(root)
    when = at or datetime.now(UTC)
    verified = []
    for index in range(len(signatures)):
        try:
            verified.append(_verify_enveloped(root, index, trust, when))
        except SignatureError as error:
            if len(signatures) == 1:
                raise
            raise SignatureError(error.reason, f"signature {index + 1}: {error.message}") from None
    return verified


def _verify_enveloped(
    root: _Element, index: int, trust: TrustStore | None, at: datetime
) -> DocumentSignature:
    signature = list(root.iter(_SIGNATURE))[index]
    signed_info = only(signature, "SignedInfo")
    only(signed_info, "CanonicalizationMethod")
    certificates = signature.findall(
        "{" + DS_NS + "}KeyInfo/{" + DS_NS + "}X509Data/{" + DS_NS + "}X509Certificate"
    )
    if len(certificates) != 1:
        raise SignatureError(
            Reason.INVALID,
            f"KeyInfo must hold one X509Data/X509Certificate, found {len(certificates)}",
        )
    certificate = certificate_of(base64_of(certificates[0], "X509Certificate"))
    if trust is not None:
        check_trust(trust, certificate, at)
    algorithms = algorithms_for(signed_info, certificate)
    references = signed_info.findall("{" + DS_NS + "}Reference")
    whole = [reference for reference in references if reference.get("URI") == ""]
    if len(whole) != 1:
        raise SignatureError(
            Reason.WRAPPING,
            f'expected one Reference URI="" (the whole document), found {len(whole)}',
        )
    objects = {
        identifier: element
        for holder in signature.findall("{" + DS_NS + "}Object")
        for element in holder.iter()
        if isinstance(element.tag, str)
        for identifier in element_ids(element)
    }
    for reference in references:
        uri = reference.get("URI")
        transforms = reference.find("{" + DS_NS + "}Transforms")
        steps = [] if transforms is None else [t for t in transforms if isinstance(t.tag, str)]
        if uri == "":
            if not steps or steps[0].get("Algorithm") != ENVELOPED or len(steps) > 2:
                raise SignatureError(
                    Reason.WRAPPING,
                    'Reference URI="" takes the enveloped-signature transform, then at most one C14N',
                )
            # Signed as it was then: without this signature and those added after it (a later
            # signer's digest covers the earlier signatures, as Kalkan and NCANode sign them).
            document = copy.deepcopy(root)
            for later in list(document.iter(_SIGNATURE))[index:]:
                _detach(later)
            method = steps[1] if len(steps) == 2 else _default_c14n()
            # A same-document reference selects the document without its comments (XMLDSig 4.4.3.3).
            signed = canonical(document, method, comments=False)
            check_digest(reference, algorithms, signed, "the document")
            continue
        target = objects.get((uri or "")[1:]) if (uri or "").startswith("#") else None
        if target is None:
            raise SignatureError(
                Reason.WRAPPING,
                f"the Reference {quoted(uri)} is neither the document nor in the signature's ds:Object",
            )
        if len(steps) > 1:
            raise SignatureError(Reason.INVALID, "a ds:Object reference takes at most one C14N")
        method = steps[0] if steps else _default_c14n()
        check_digest(reference, algorithms, canonical(target, method, comments=False), uri or "")
    check_signature_value(signature, certificate)
    return DocumentSignature(certificate, algorithms.signature, trusted=trust is not None)


def _detach(element: _Element) -> None:
    """Remove `element` but not the text after it (lxml keeps that text with the element)."""
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _default_c14n() -> _Element:
    method = etree.Element("{" + DS_NS + "}Transform")
    method.set("Algorithm", C14N)
    return method


def sign_document(root: _Element, key: SigningKey, *, comments: bool = True) -> _Element:
    """Sign the document `root` in place as Kalkan does: a ds:Signature as its last child, C14N
    1.0, `Reference URI=""` with the enveloped-signature transform and C14N (with comments unless
    `comments=False`), the certificate in X509Data. Returns the Signature."""
    transform = C14N_WITH_COMMENTS if comments else C14N
    signed = canonical(root, _default_c14n(), comments=False)
    key_info = etree.Element("{" + DS_NS + "}KeyInfo", nsmap={"ds": DS_NS})
    data = _SE(key_info, "{" + DS_NS + "}X509Data")
    _SE(data, "{" + DS_NS + "}X509Certificate").text = base64.b64encode(key.certificate.der).decode(
        "ascii"
    )
    signature, fill = build_signature(key, [("", [ENVELOPED, transform], signed)], key_info, C14N)
    root.append(signature)
    fill()
    return signature
