"""WS-Security 1.0 signatures of whole envelopes: the signer/verifier interface and an RSA-SHA256 one.

`Signer.sign(root)` adds a `wsse:Security` header holding one `ds:Signature` over the Body;
`Verifier.verify(root)` checks one and names the signer, or raises `SignatureError` whose `reason`
says why. `locate_signature` is the signature-wrapping defence every verifier should start from:
one Envelope, Header and Body, IDs unique, exactly one Signature in the one Security header, and a
single Reference that resolves to the very Body found by position. `RsaSigner` / `RsaVerifier`
implement the interface on signxml; a GOST provider implements the two Protocols instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lxml import etree
from lxml.etree import SubElement as _SE
from lxml.etree import _Element

if TYPE_CHECKING:  # the signing libraries are imported when signing is used, not before
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "C14N_EXCLUSIVE",
    "DS_NS",
    "WSSE_NS",
    "WSU_NS",
    "Reason",
    "RsaSigner",
    "RsaVerifier",
    "SignatureError",
    "SignedParts",
    "Signer",
    "TrustStore",
    "VerifiedSigner",
    "Verifier",
    "body_of",
    "ensure_body_id",
    "locate_signature",
    "security_header",
    "token_reference",
]

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
_ENVELOPES = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
_SECURITY = "{" + WSSE_NS + "}Security"
_SIGNATURE = "{" + DS_NS + "}Signature"
_WSU_ID = "{" + WSU_NS + "}Id"
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
# Every attribute an XML-signature library may resolve a "#id" reference by (by local name).
_ID_NAMES = frozenset({"Id", "ID", "id"})
_ALL_IDS = etree.XPath(
    "//@*[" + " or ".join(f"local-name()='{name}'" for name in sorted(_ID_NAMES)) + "]"
)


class Reason(StrEnum):
    """Why a signature is refused; the value is the errorCode of the fault the server answers."""

    MISSING = "SIGNATURE_MISSING"
    WRAPPING = "SIGNATURE_WRAPPING"
    DIGEST_MISMATCH = "SIGNATURE_DIGEST_MISMATCH"
    INVALID = "SIGNATURE_INVALID"
    UNTRUSTED = "CERTIFICATE_UNTRUSTED"
    EXPIRED = "CERTIFICATE_EXPIRED"


class SignatureError(Exception):
    """A message whose signature is refused: `reason` is the kind, `message` says what failed."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class VerifiedSigner:
    """Who signed a verified message: the certificate (DER) and its subject, RFC 4514."""

    certificate: bytes = field(repr=False)
    subject: str


class Signer(Protocol):
    """Signs an envelope in place: adds the wsse:Security header with its ds:Signature."""

    def sign(self, envelope: _Element) -> None: ...


class Verifier(Protocol):
    """Verifies the signature of an envelope; raises SignatureError when it cannot be accepted."""

    def verify(self, envelope: _Element) -> VerifiedSigner: ...


@dataclass(frozen=True, slots=True)
class SignedParts:
    """What `locate_signature` found: the Security header, its one Signature, the signed Body,
    and the certificate of the SecurityTokenReference (DER; None when KeyInfo holds no token)."""

    security: _Element
    signature: _Element
    body: _Element
    certificate: bytes | None


def body_of(envelope: _Element) -> _Element:
    """The envelope's Body, found by position (after an optional Header)."""
    ns = _envelope_ns(envelope)
    children = [child for child in envelope if isinstance(child.tag, str)]
    tags = [child.tag for child in children]
    header, body = "{" + ns + "}Header", "{" + ns + "}Body"
    if tags not in ([body], [header, body]):
        raise SignatureError(
            Reason.WRAPPING, "an Envelope holds at most one Header, then exactly one Body"
        )
    return children[-1]


def security_header(envelope: _Element) -> _Element:
    """Add an empty wsse:Security header (mustUnderstand="1") to the envelope, making the Header."""
    ns = _envelope_ns(envelope)
    header = body_of(envelope).getprevious()
    if header is None:
        header = etree.Element("{" + ns + "}Header")
        envelope.insert(0, header)
    security = etree.Element(_SECURITY, nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
    security.set("{" + ns + "}mustUnderstand", "1")
    header.insert(0, security)
    return security


def ensure_body_id(envelope: _Element) -> str:
    """The Body's wsu:Id (or plain Id), giving it a fresh wsu:Id when it has none."""
    body = body_of(envelope)
    existing = body.get(_WSU_ID) or body.get("Id")
    if existing:
        return existing
    # A new Body that declares wsu itself, so the attribute does not get a made-up prefix, and
    # keeps the declarations in scope (a QName value such as xsi:type="t:T" may need them).
    namespaces = dict(body.nsmap)
    prefix = "wsu"
    while namespaces.get(prefix, WSU_NS) != WSU_NS:
        prefix += "_"
    namespaces[prefix] = WSU_NS
    renewed = etree.Element(body.tag, dict(body.attrib), nsmap=namespaces)
    renewed.extend(list(body))
    body_id = f"id-{uuid.uuid4().hex}"
    renewed.set(_WSU_ID, body_id)
    envelope.replace(body, renewed)
    return body_id


def token_reference(certificate_der: bytes) -> _Element:
    """A ds:KeyInfo holding wsse:SecurityTokenReference/wsse:KeyIdentifier with the whole certificate."""
    key_info = etree.Element("{" + DS_NS + "}KeyInfo", nsmap={"ds": DS_NS})
    reference = _SE(key_info, "{" + WSSE_NS + "}SecurityTokenReference", nsmap={"wsse": WSSE_NS})
    identifier = _SE(reference, "{" + WSSE_NS + "}KeyIdentifier")
    identifier.set("ValueType", X509V3)
    identifier.set("EncodingType", BASE64_BINARY)
    identifier.text = base64.b64encode(certificate_der).decode("ascii")
    return key_info


def locate_signature(envelope: _Element) -> SignedParts:
    """The one signature of the envelope and the Body it must cover, or a SignatureError.

    Refuses (SIGNATURE_WRAPPING) everything a wrapped message needs: a second Body-like element,
    a repeated ID, a Signature outside the one Security header or more than one, more or other
    References than the one to the Body found by position, transforms other than exclusive C14N.
    """
    body = body_of(envelope)
    header = body.getprevious()
    blocks = [] if header is None else [block for block in header if block.tag == _SECURITY]
    signatures = list(envelope.iter(_SIGNATURE))
    if not blocks and not signatures:
        raise SignatureError(Reason.MISSING, "the message has no wsse:Security signature")
    if len(blocks) != 1:
        raise SignatureError(
            Reason.WRAPPING, f"expected one wsse:Security header, found {len(blocks)}"
        )
    security = blocks[0]
    if len(signatures) != 1 or signatures[0].getparent() is not security:
        raise SignatureError(
            Reason.WRAPPING, "expected exactly one ds:Signature, directly in wsse:Security"
        )
    if len(list(envelope.iter(str(body.tag)))) != 1:
        raise SignatureError(Reason.WRAPPING, "a second Body element is in the message")
    _check_unique_ids(envelope)
    signature = signatures[0]
    _check_reference(signature, body)
    return SignedParts(security, signature, body, _token_certificate(signature))


def _envelope_ns(envelope: _Element) -> str:
    tag = envelope.tag if isinstance(envelope.tag, str) else ""
    ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    if tag.rpartition("}")[2] != "Envelope" or ns not in _ENVELOPES:
        raise SignatureError(Reason.WRAPPING, "the document is not a SOAP Envelope")
    return ns


def _ids(element: _Element) -> Iterable[str]:
    for name, value in element.attrib.items():
        if name == _XML_ID or str(name).rpartition("}")[2] in _ID_NAMES:
            yield str(value)


def _check_unique_ids(envelope: _Element) -> None:
    found = _ALL_IDS(envelope)
    values = [str(value) for value in found] if isinstance(found, list) else []
    if len(values) != len(set(values)):
        counts = Counter(values)
        repeated = next(value for value in values if counts[value] > 1)
        raise SignatureError(Reason.WRAPPING, f"the ID {repeated[:80]!r} appears more than once")


def _only(parent: _Element, local: str, ns: str = DS_NS) -> _Element:
    found = parent.findall("{" + ns + "}" + local)
    if len(found) != 1:
        raise SignatureError(Reason.WRAPPING, f"expected one ds:{local}, found {len(found)}")
    return found[0]


def _check_reference(signature: _Element, body: _Element) -> None:
    signed_info = _only(signature, "SignedInfo")
    if _only(signed_info, "CanonicalizationMethod").get("Algorithm") != C14N_EXCLUSIVE:
        raise SignatureError(Reason.WRAPPING, "SignedInfo must use exclusive C14N")
    reference = _only(signed_info, "Reference")
    uri = reference.get("URI") or ""
    if not uri.startswith("#") or uri[1:] not in set(_ids(body)):
        raise SignatureError(
            Reason.WRAPPING, f"the signature references {uri or 'nothing'!r}, not the Body"
        )
    transforms = reference.find("{" + DS_NS + "}Transforms")
    algorithms = [] if transforms is None else [t.get("Algorithm") for t in transforms]
    if any(algorithm != C14N_EXCLUSIVE for algorithm in algorithms):
        raise SignatureError(Reason.WRAPPING, "the Body reference may use exclusive C14N only")


def _token_certificate(signature: _Element) -> bytes | None:
    path = (
        "{"
        + DS_NS
        + "}KeyInfo/{"
        + WSSE_NS
        + "}SecurityTokenReference/{"
        + WSSE_NS
        + "}KeyIdentifier"
    )
    identifiers = signature.findall(path)
    if not identifiers:
        return None
    if len(identifiers) != 1 or identifiers[0].get("ValueType") != X509V3:
        raise SignatureError(Reason.INVALID, "KeyInfo must hold one X509v3 KeyIdentifier")
    try:
        return base64.b64decode("".join((identifiers[0].text or "").split()), validate=True)
    except ValueError:
        raise SignatureError(Reason.INVALID, "the KeyIdentifier is not base64") from None


class TrustStore:
    """Accepted certificates: each one itself, or any certificate it directly issued (a CA)."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self.certificates = tuple(certificates)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path]) -> TrustStore:
        """Every certificate in the PEM files."""
        from cryptography import x509

        found: list[x509.Certificate] = []
        for path in paths:
            found.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
        return cls(found)

    def check(self, certificate: x509.Certificate, at: datetime) -> None:
        """Raise CERTIFICATE_UNTRUSTED or CERTIFICATE_EXPIRED unless `certificate` is accepted at `at`."""
        if not any(self._vouches(anchor, certificate) for anchor in self.certificates):
            raise SignatureError(
                Reason.UNTRUSTED,
                f"the certificate of {certificate.subject.rfc4514_string()} is not trusted",
            )
        if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
            raise SignatureError(
                Reason.EXPIRED,
                f"the certificate is valid {certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d} only",
            )

    @staticmethod
    def _vouches(anchor: x509.Certificate, certificate: x509.Certificate) -> bool:
        from cryptography.exceptions import InvalidSignature

        if anchor == certificate:
            return True
        try:
            certificate.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


class RsaSigner:
    """RSA-SHA256 over the Body, exclusive C14N, the certificate in a SecurityTokenReference."""

    def __init__(self, key: RSAPrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate

    @classmethod
    def from_pem_files(
        cls, key: str | Path, certificate: str | Path, password: bytes | None = None
    ) -> RsaSigner:
        """A signer from a PEM private key and a PEM certificate."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        private = serialization.load_pem_private_key(Path(key).read_bytes(), password)
        if not isinstance(private, RSAPrivateKey):
            raise ValueError(f"{key} is not an RSA private key")
        return cls(private, x509.load_pem_x509_certificate(Path(certificate).read_bytes()))

    def sign(self, envelope: _Element) -> None:
        from cryptography.hazmat.primitives import serialization
        from signxml.algorithms import SignatureConstructionMethod, SignatureMethod
        from signxml.signer import XMLSigner

        body_id = ensure_body_id(envelope)
        security = security_header(envelope)
        signer = XMLSigner(
            method=SignatureConstructionMethod.detached,
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm="sha256",
            c14n_algorithm=C14N_EXCLUSIVE,
        )
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        signature = signer.sign(
            envelope, key=self.key, reference_uri=f"#{body_id}", key_info=token_reference(der)
        )
        security.append(signature)


class RsaVerifier:
    """Verifies RSA-SHA256 signatures by certificates the trust store accepts.

    The check runs on the tree the server already parsed, never on a re-parsed copy: the Body and
    the SignedInfo are canonicalised (exclusive C14N, with the InclusiveNamespaces PrefixList
    when one is given), the Body's SHA-256 compared with the DigestValue, and the SignatureValue
    verified over the SignedInfo with the certificate's key. Only the layout `locate_signature`
    admits reaches it; any other algorithm is refused by name.
    """

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust

    def verify(self, envelope: _Element) -> VerifiedSigner:
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        parts = locate_signature(envelope)
        if parts.certificate is None:
            raise SignatureError(
                Reason.INVALID, "KeyInfo holds no wsse:SecurityTokenReference certificate"
            )
        try:
            certificate = x509.load_der_x509_certificate(parts.certificate)
        except ValueError:
            raise SignatureError(
                Reason.INVALID, "the KeyIdentifier is not an X.509 certificate"
            ) from None
        self.trust.check(certificate, datetime.now(UTC))
        key = certificate.public_key()
        if not isinstance(key, RSAPublicKey):
            raise SignatureError(Reason.INVALID, "the certificate's key is not an RSA key")
        signed_info = _only(parts.signature, "SignedInfo")
        method = _only(signed_info, "SignatureMethod").get("Algorithm")
        if method != RSA_SHA256:
            raise SignatureError(
                Reason.INVALID, f"the signature method {_quoted(method)} is not RSA-SHA256"
            )
        reference = _only(signed_info, "Reference")
        digest_method = _only(reference, "DigestMethod").get("Algorithm")
        if digest_method != SHA256:
            raise SignatureError(
                Reason.INVALID, f"the digest method {_quoted(digest_method)} is not SHA-256"
            )
        transforms = _only(reference, "Transforms")
        expected = _base64(_only(reference, "DigestValue"), "DigestValue")
        value = _base64(_only(parts.signature, "SignatureValue"), "SignatureValue")
        body = _canonical(parts.body, _only(transforms, "Transform"))
        if not hmac.compare_digest(hashlib.sha256(body).digest(), expected):
            raise SignatureError(
                Reason.DIGEST_MISMATCH, "the Body does not match its signed digest"
            )
        signed = _canonical(signed_info, _only(signed_info, "CanonicalizationMethod"))
        try:
            key.verify(value, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SignatureError(
                Reason.INVALID, "the SignatureValue does not verify with the certificate's key"
            ) from None
        der = certificate.public_bytes(serialization.Encoding.DER)
        return VerifiedSigner(certificate=der, subject=certificate.subject.rfc4514_string())


_INCLUSIVE_NAMESPACES = "{" + C14N_EXCLUSIVE + "}InclusiveNamespaces"
_NCNAME = re.compile(r"[^\W\d][\w.-]*")


def _quoted(value: str | None) -> str:
    """An attacker's algorithm name, shortened and on one line, for a fault text."""
    if value is None:
        return "(none)"
    return repr(value[:80] + ("…" if len(value) > 80 else ""))


def _base64(element: _Element, name: str) -> bytes:
    if len(element):
        raise SignatureError(Reason.INVALID, f"ds:{name} holds elements")
    try:
        decoded = base64.b64decode("".join((element.text or "").split()), validate=True)
    except ValueError:
        raise SignatureError(Reason.INVALID, f"ds:{name} is not base64") from None
    if not decoded:
        raise SignatureError(Reason.INVALID, f"ds:{name} is empty")
    return decoded


def _canonical(element: _Element, method: _Element) -> bytes:
    """Exclusive C14N (no comments) of `element` as `method` (a Transform or
    CanonicalizationMethod, already checked to name exclusive C14N) asks."""
    children = [child for child in method if isinstance(child.tag, str)]
    prefixes: list[str] = []
    if children:
        if len(children) != 1 or children[0].tag != _INCLUSIVE_NAMESPACES or len(children[0]):
            raise SignatureError(
                Reason.INVALID, "exclusive C14N takes one ec:InclusiveNamespaces only"
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
            exclusive=True,
            with_comments=False,
            inclusive_ns_prefixes=prefixes or None,
        )
    except (ValueError, etree.Error):
        raise SignatureError(Reason.INVALID, "the signed part cannot be canonicalised") from None
