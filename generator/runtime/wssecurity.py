"""WS-Security 1.0 signatures of whole envelopes: the signer/verifier interface and an RSA-SHA256 one.

`Signer.sign(root)` adds a `wsse:Security` header holding one `ds:Signature` over the Body;
`Verifier.verify(root)` checks one and names the signer, or raises `SignatureError` whose `reason`
says why. `locate_signature` is the signature-wrapping defence every verifier starts from:
one Envelope, Header and Body, IDs unique, exactly one Signature in the one Security header, and a
single Reference that resolves to the very Body found by position.

`SignatureVerifier` checks RSA-SHA256 and GOST 34.10-2015 (512) signatures, taking the algorithm
from the signer's certificate (`RsaVerifier` and `GostVerifier` accept one kind only). `RsaSigner`
signs with signxml, `GostSigner` with the national CA's algorithms (`gost`, `xmldsig`);
`signer_from_files` picks one by the key.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lxml import etree
from lxml.etree import SubElement as _SE
from lxml.etree import _Element

from .certificates import Certificate, KeyKind, SigningKey, TrustStore, load_signing_key
from .gost import streebog512
from .xmldsig import (
    C14N_EXCLUSIVE,
    DS_NS,
    Reason,
    SignatureError,
    algorithms_for,
    build_signature,
    canonical,
    certificate_of,
    check_digest,
    check_signature_value,
    check_trust,
    check_unique_ids,
    element_ids,
    only,
)

if TYPE_CHECKING:  # the signing libraries are imported when signing is used, not before
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "C14N_EXCLUSIVE",
    "DS_NS",
    "WSSE_NS",
    "WSU_NS",
    "GostSigner",
    "GostVerifier",
    "Reason",
    "RsaSigner",
    "RsaVerifier",
    "SignatureError",
    "SignatureVerifier",
    "SignedParts",
    "Signer",
    "TrustStore",
    "VerifiedSigner",
    "Verifier",
    "body_of",
    "ensure_body_id",
    "locate_signature",
    "security_header",
    "signer_from_files",
    "token_reference",
    "verify_message",
]

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
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
    check_unique_ids(envelope)
    signature = signatures[0]
    _check_reference(signature, body)
    return SignedParts(security, signature, body, _token_certificate(signature))


def _envelope_ns(envelope: _Element) -> str:
    tag = envelope.tag if isinstance(envelope.tag, str) else ""
    ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    if tag.rpartition("}")[2] != "Envelope" or ns not in _ENVELOPES:
        raise SignatureError(Reason.WRAPPING, "the document is not a SOAP Envelope")
    return ns


def _check_reference(signature: _Element, body: _Element) -> None:
    signed_info = only(signature, "SignedInfo")
    if only(signed_info, "CanonicalizationMethod").get("Algorithm") != C14N_EXCLUSIVE:
        raise SignatureError(Reason.WRAPPING, "SignedInfo must use exclusive C14N")
    reference = only(signed_info, "Reference")
    uri = reference.get("URI") or ""
    if not uri.startswith("#") or uri[1:] not in element_ids(body):
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


class GostSigner:
    """GOST 34.10-2015 (512) with Streebog-512 over the Body, exclusive C14N, the certificate in a
    SecurityTokenReference: the layout of `RsaSigner` with the national CA's algorithms."""

    def __init__(self, key: SigningKey) -> None:
        if key.certificate.kind is not KeyKind.GOST_2015_512:
            raise ValueError(f"GostSigner takes a GOST key, not {key.certificate.kind}")
        streebog512(b"")  # GostUnavailableError now, not at the first message
        self.key = key

    @classmethod
    def from_files(
        cls, key: str | Path, certificate: str | Path | None = None, password: bytes | None = None
    ) -> GostSigner:
        """From a PKCS#12 file as НУЦ issues it (`certificate` None), or a PKCS#8 key and its certificate."""
        return cls(load_signing_key(key, certificate, password))

    def sign(self, envelope: _Element) -> None:
        body_id = ensure_body_id(envelope)
        security = security_header(envelope)
        body = body_of(envelope)
        method = etree.Element("{" + DS_NS + "}Transform", Algorithm=C14N_EXCLUSIVE)
        signed = canonical(body, method)
        signature, fill = build_signature(
            self.key,
            [(f"#{body_id}", [C14N_EXCLUSIVE], signed)],
            token_reference(self.key.certificate.der),
            C14N_EXCLUSIVE,
        )
        security.append(signature)
        fill()


def signer_from_files(
    key: str | Path, certificate: str | Path | None = None, password: bytes | None = None
) -> RsaSigner | GostSigner:
    """The signer of a key file, by the key: RSA (PEM key and certificate, as before) or GOST
    (a PKCS#12 file as НУЦ issues it, or a PKCS#8 key and its certificate)."""
    loaded = load_signing_key(key, certificate, password)
    if loaded.certificate.kind is KeyKind.GOST_2015_512:
        return GostSigner(loaded)
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    assert isinstance(loaded.key, RSAPrivateKey)
    return RsaSigner(loaded.key, loaded.certificate.parsed)


class SignatureVerifier:
    """Verifies RSA-SHA256 and GOST 34.10-2015 (512) signatures by certificates the trust store
    accepts; the algorithm is the one of the certificate's key, never the message's choice.

    The check runs on the tree the server already parsed, never on a re-parsed copy: the Body and
    the SignedInfo are canonicalised (exclusive C14N, with the InclusiveNamespaces PrefixList
    when one is given), the Body's digest compared with the DigestValue, and the SignatureValue
    verified over the SignedInfo with the certificate's key. Only the layout `locate_signature`
    admits reaches it; any other algorithm is refused by name.
    """

    kinds: tuple[KeyKind, ...] = (KeyKind.RSA, KeyKind.GOST_2015_512)

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust

    def verify(self, envelope: _Element) -> VerifiedSigner:
        certificate = verify_message(envelope, self.trust, self.kinds)
        return VerifiedSigner(certificate=certificate.der, subject=certificate.subject)


def verify_message(
    envelope: _Element,
    trust: TrustStore | None,
    kinds: Iterable[KeyKind] = (KeyKind.RSA, KeyKind.GOST_2015_512),
    at: datetime | None = None,
) -> Certificate:
    """The certificate whose key signed the WS-Security envelope, or a SignatureError. With
    `trust` None the chain is not checked: only the signature against the certificate in KeyInfo."""
    parts = locate_signature(envelope)
    if parts.certificate is None:
        raise SignatureError(
            Reason.INVALID, "KeyInfo holds no wsse:SecurityTokenReference certificate"
        )
    certificate = certificate_of(parts.certificate)
    accepted = tuple(kinds)
    if certificate.kind not in accepted:
        names = " or ".join(kind.value for kind in accepted)
        raise SignatureError(
            Reason.INVALID, f"the certificate's key is {certificate.kind}, not {names}"
        )
    if trust is not None:
        check_trust(trust, certificate, at or datetime.now(UTC))
    signed_info = only(parts.signature, "SignedInfo")
    algorithms = algorithms_for(signed_info, certificate)
    reference = only(signed_info, "Reference")
    transform = only(only(reference, "Transforms"), "Transform")
    check_digest(reference, algorithms, canonical(parts.body, transform), "the Body")
    check_signature_value(parts.signature, certificate)
    return certificate


class RsaVerifier(SignatureVerifier):
    """`SignatureVerifier` for RSA certificates only."""

    kinds = (KeyKind.RSA,)


class GostVerifier(SignatureVerifier):
    """`SignatureVerifier` for GOST 34.10-2015 (512) certificates only."""

    kinds = (KeyKind.GOST_2015_512,)
