"""Certificates and keys of signers: RSA, and GOST 34.10-2015 (512) as НУЦ РК issues them.

`Certificate` wraps one X.509 certificate with its public key, whose kind (`KeyKind`) decides the
algorithms its signatures may use. `TrustStore` checks a signer's certificate against the accepted
certificates and CAs: each link's signature (GOST links verified with the same primitive as the
messages), validity dates and key usage. Revocation (OCSP, CRL) is not checked here.
`load_signing_key` reads a private key with its certificate: PEM or DER PKCS#8, or PKCS#12 as
НУЦ issues it (SHA-1 with 3DES for the key, RC2-40 for the certificate, HMAC-SHA1; or PBES2).
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .asn1 import Asn1Error, Node, parse
from .gost import GostPrivateKey, GostPublicKey

if TYPE_CHECKING:  # the signing libraries are imported when signing is used, not before
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

_E = TypeVar("_E", bound="x509.ExtensionType")

__all__ = [
    "Certificate",
    "CertificateError",
    "KeyKind",
    "SigningKey",
    "TrustError",
    "TrustStore",
    "load_certificates",
    "load_signing_key",
]

# НУЦ РК's GOST 34.10-2015 512-bit key, its curve (numerically tc26 paramSetA) and its hash.
GOST_2015_KEY = "1.2.398.3.10.1.1.2.2"
GOST_2015_CURVE_A = "1.2.398.3.10.1.1.2.2.1"
GOST_2015_SIGNATURE = "1.2.398.3.10.1.1.2.3.2"  # GOST 34.10-2015 (512) with Streebog-512
GOST_2004_KEY = "1.2.398.3.10.1.1.1.1"  # GOST 34.310-2004: refused by name
RSA_KEY = "1.2.840.113549.1.1.1"
_KEY_NAMES = {
    GOST_2004_KEY: "GOST 34.310-2004 (НУЦ's keys before 2024)",
    "1.2.643.7.1.1.1.1": "GOST R 34.10-2012 256-bit (tc26)",
    "1.2.643.7.1.1.1.2": "GOST R 34.10-2012 512-bit (tc26, Russian layout)",
    "1.2.840.10045.2.1": "ECDSA",
}


class CertificateError(ValueError):
    """A certificate or key that cannot be read or is of a kind not supported (named)."""


class TrustError(Exception):
    """A certificate the trust store does not accept; `expired` tells a date problem from trust."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired


class KeyKind(StrEnum):
    """The kinds of key a signature may be made with; the value is how it is named to people."""

    RSA = "RSA"
    GOST_2015_512 = "GOST 34.10-2015 (512)"


_READABLE_NAMES = {
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.4": "SN",
    "2.5.4.42": "G",
    "2.5.4.12": "T",
    "1.2.840.113549.1.9.1": "E",
}


@dataclass(frozen=True, eq=False)
class Certificate:
    """One X.509 certificate (DER) with its public key and the fields a trust check reads, read once."""

    der: bytes = field(repr=False)
    parsed: x509.Certificate = field(repr=False)  # as cryptography reads it
    kind: KeyKind
    key: RSAPublicKey | GostPublicKey = field(repr=False)
    subject: str  # RFC 4514, Cyrillic as it is (SERIALNUMBER, SN, G by name)
    issuer: str
    subject_name: x509.Name = field(repr=False)
    issuer_name: x509.Name = field(repr=False)
    not_before: datetime = field(repr=False)
    not_after: datetime = field(repr=False)
    key_usage: x509.KeyUsage | None = field(repr=False)
    is_ca: bool = field(repr=False)

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        # НУЦ's names run past X.520's upper bounds, which cryptography warns of as it reads them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                certificate = x509.load_der_x509_certificate(der)
                names = _oid_names()
                subject_name, issuer_name = certificate.subject, certificate.issuer
                fields = {
                    "subject": subject_name.rfc4514_string(names),
                    "issuer": issuer_name.rfc4514_string(names),
                    "subject_name": subject_name,
                    "issuer_name": issuer_name,
                    "not_before": certificate.not_valid_before_utc,
                    "not_after": certificate.not_valid_after_utc,
                    "key_usage": _extension(certificate, x509.KeyUsage),
                    "is_ca": bool(
                        (constraints := _extension(certificate, x509.BasicConstraints))
                        and constraints.ca
                    ),
                }
            except ValueError as error:
                raise CertificateError(f"not an X.509 certificate ({error})") from None
        algorithm, key_bits, parameters = _public_key_info(der)
        key: RSAPublicKey | GostPublicKey
        if algorithm == GOST_2015_KEY:
            if parameters is None or not parameters.children:
                raise CertificateError("the GOST key names no curve")
            curve = parameters.children[0].oid()
            if curve != GOST_2015_CURVE_A:
                raise CertificateError(f"the GOST key's curve {curve} is not supported")
            try:
                key = GostPublicKey.from_bytes(parse(key_bits).octets())
            except (Asn1Error, ValueError) as error:
                raise CertificateError(f"the GOST public key cannot be read: {error}") from None
            return cls(der, certificate, KeyKind.GOST_2015_512, key, **fields)  # type: ignore[arg-type]
        if algorithm == RSA_KEY:
            found = certificate.public_key()
            assert isinstance(found, RSAPublicKey)
            return cls(der, certificate, KeyKind.RSA, found, **fields)  # type: ignore[arg-type]
        name = _KEY_NAMES.get(algorithm, "a key algorithm not supported")
        raise CertificateError(f"the certificate's key is {name} ({algorithm})")

    @classmethod
    def from_x509(cls, certificate: x509.Certificate) -> Certificate:
        from cryptography.hazmat.primitives import serialization

        return cls.from_der(certificate.public_bytes(serialization.Encoding.DER))

    @property
    def serial(self) -> str:
        """The serial number in hexadecimal, as НУЦ prints it."""
        return f"{self.parsed.serial_number:X}"

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` over `data` is this certificate's key's: RSA PKCS#1 v1.5 with
        SHA-256, or GOST 34.10-2015 with Streebog-512, by the kind of the key."""
        if isinstance(self.key, GostPublicKey):
            from .gost import streebog512

            return self.key.verify(streebog512(data), signature)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def issued(self, other: Certificate) -> bool:
        """Whether this certificate's key signed `other` (and its name is other's issuer)."""
        if other.issuer_name != self.subject_name:
            return False
        if isinstance(self.key, GostPublicKey):
            if other.parsed.signature_algorithm_oid.dotted_string != GOST_2015_SIGNATURE:
                return False
            return self.verify(other.parsed.tbs_certificate_bytes, other.parsed.signature)
        from cryptography.exceptions import InvalidSignature

        try:
            other.parsed.verify_directly_issued_by(self.parsed)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)


def _extension(certificate: x509.Certificate, kind: type[_E]) -> _E | None:
    from cryptography import x509

    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _oid_names() -> dict[x509.ObjectIdentifier, str]:
    from cryptography import x509

    return {x509.ObjectIdentifier(oid): name for oid, name in _READABLE_NAMES.items()}


def _public_key_info(der: bytes) -> tuple[str, bytes, Node | None]:
    """The SubjectPublicKeyInfo: the key's algorithm OID, its BIT STRING, its parameters."""
    try:
        tbs = parse(der).items("Certificate")[0].items("TBSCertificate")
        fields = [node for node in tbs if node.tag != 0xA0]  # without the [0] version
        algorithm, bits = fields[5].items("SubjectPublicKeyInfo")
        identifiers = algorithm.items("AlgorithmIdentifier")
        parameters = identifiers[1] if len(identifiers) > 1 and identifiers[1].tag == 0x30 else None
        return identifiers[0].oid(), bits.bits(), parameters
    except (Asn1Error, IndexError, ValueError) as error:
        raise CertificateError(f"the certificate's public key cannot be read ({error})") from None


def load_certificates(path: str | Path) -> list[Certificate]:
    """Every certificate in a file: PEM (one or several) or DER (one, as НУЦ publishes its .cer)."""
    data = Path(path).read_bytes()
    try:
        if b"-----BEGIN" in data:
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = x509.load_pem_x509_certificates(data)
            return [
                Certificate.from_der(one.public_bytes(serialization.Encoding.DER)) for one in found
            ]
        return [Certificate.from_der(data)]
    except (CertificateError, ValueError) as error:
        raise CertificateError(f"{path}: {error}") from None


class TrustStore:
    """Accepted certificates: each one itself, or any certificate it (a CA) issued, directly or
    through other CAs of the store. Each link's signature, the dates of every certificate on the
    path at the time of the check, and key usage (keyCertSign and CA for issuers; digitalSignature
    or nonRepudiation for the signer) are checked. Revocation is not."""

    def __init__(self, certificates: Iterable[Certificate | x509.Certificate | bytes]) -> None:
        self.certificates = tuple(_certificate(one) for one in certificates)
        if any(one.kind is KeyKind.GOST_2015_512 for one in self.certificates):
            from .gost import streebog512

            streebog512(b"")  # GostUnavailableError now, not at the first message
        self._links: dict[tuple[bytes, bytes], bool] = {}  # (issuer, issued) DER → verified

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> TrustStore:
        """Every certificate in the files (PEM or DER)."""
        found: list[Certificate] = []
        for path in paths:
            found.extend(load_certificates(path))
        return cls(found)

    from_pem_files = from_files  # the name of earlier versions

    def check(self, certificate: Certificate | x509.Certificate, at: datetime) -> None:
        """Raise TrustError unless `certificate` is accepted at `at`."""
        leaf = _certificate(certificate)
        _check_usage(leaf, signer=True)
        path = self._path(leaf)
        if path is None:
            raise TrustError(
                f"the certificate of {leaf.subject[:160]} is not trusted "
                f"(its issuer {leaf.issuer[:160]} is not in the trust store or did not sign it)"
            )
        for one in path:
            if not one.not_before <= at <= one.not_after:
                whose = "the certificate" if one is leaf else f"its issuer {one.subject[:120]}"
                raise TrustError(
                    f"{whose} is valid {one.not_before:%Y-%m-%d} to {one.not_after:%Y-%m-%d} only",
                    expired=True,
                )

    def _path(self, leaf: Certificate) -> list[Certificate] | None:
        """The certificates from `leaf` up to one of the store, each issued by the next."""
        path = [leaf]
        current = leaf
        while len(path) <= 8:
            if current in self.certificates:
                return path
            issuer = next((ca for ca in self.certificates if self._link(ca, current)), None)
            if issuer is None:
                return None
            _check_usage(issuer, signer=False)
            path.append(issuer)
            if issuer.issuer_name == issuer.subject_name:  # a root: the end of the path
                return path
            current = issuer
            if not any(ca.subject_name == current.issuer_name for ca in self.certificates):
                return path  # the CA itself is the anchor the store was given
        return None

    def _link(self, issuer: Certificate, issued: Certificate) -> bool:
        if issuer == issued or issuer.subject_name != issued.issuer_name:
            return False
        key = (issuer.der, issued.der)
        verified = self._links.get(key)
        if verified is None:
            verified = issuer.issued(issued)
            if len(self._links) > 4096:
                self._links.clear()
            self._links[key] = verified
        return verified


def _certificate(value: Certificate | x509.Certificate | bytes) -> Certificate:
    if isinstance(value, Certificate):
        return value
    if isinstance(value, bytes):
        return Certificate.from_der(value)
    return Certificate.from_x509(value)


def _check_usage(certificate: Certificate, *, signer: bool) -> None:
    usage = certificate.key_usage
    if signer:
        if usage is not None and not (usage.digital_signature or usage.content_commitment):
            raise TrustError(
                f"the certificate of {certificate.subject[:200]} is not for signatures "
                "(its key usage has neither digitalSignature nor nonRepudiation)"
            )
    elif not certificate.is_ca or (usage is not None and not usage.key_cert_sign):
        raise TrustError(f"{certificate.subject[:200]} issues a certificate but is not a CA")


# --- Private keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """A private key with its certificate (and any CA certificates that came with it)."""

    key: RSAPrivateKey | GostPrivateKey = field(repr=False)
    certificate: Certificate
    chain: tuple[Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not _same_key(self.key, self.certificate):
            raise CertificateError("the private key is not the key of the certificate")

    def sign(self, data: bytes) -> bytes:
        """The signature over `data`: GOST 34.10-2015 with Streebog-512, or RSA PKCS#1 v1.5 SHA-256."""
        if isinstance(self.key, GostPrivateKey):
            from .gost import streebog512

            return self.key.sign(streebog512(data))
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _same_key(key: RSAPrivateKey | GostPrivateKey, certificate: Certificate) -> bool:
    if isinstance(key, GostPrivateKey):
        return key.public_key == certificate.key
    if isinstance(certificate.key, GostPublicKey):
        return False
    return key.public_key().public_numbers() == certificate.key.public_numbers()


def load_signing_key(
    key: str | Path, certificate: str | Path | None = None, password: bytes | None = None
) -> SigningKey:
    """A signing key from a PKCS#12 file (.p12/.pfx: key and certificate together, `certificate`
    None), or from a PKCS#8 key (PEM or DER; a PEM RSA key too) and its certificate's file."""
    data = Path(key).read_bytes()
    try:
        if certificate is None:
            return _from_pkcs12(data, password)
        certificates = load_certificates(certificate)
        if not certificates:
            raise CertificateError(f"{certificate} holds no certificate")
        return SigningKey(_private_key(data, password), certificates[0], tuple(certificates[1:]))
    except (CertificateError, Asn1Error, ValueError) as error:
        raise CertificateError(f"{key}: {error}") from None


def _private_key(data: bytes, password: bytes | None) -> RSAPrivateKey | GostPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    der = data
    if b"-----BEGIN" in data:
        text = data.decode("ascii", "replace")
        if "BEGIN PRIVATE KEY" not in text:
            loaded = serialization.load_pem_private_key(data, password)
            if not isinstance(loaded, RSAPrivateKey):
                raise CertificateError("the key is neither RSA nor GOST")
            return loaded
        import base64

        body = text.split("-----BEGIN PRIVATE KEY-----", 1)[1].split("-----END", 1)[0]
        der = base64.b64decode("".join(body.split()))
    return _pkcs8(der)


def _pkcs8(der: bytes) -> RSAPrivateKey | GostPrivateKey:
    """A PrivateKeyInfo: GOST (the 64-byte little-endian scalar), or RSA through cryptography."""
    info = parse(der).items("PrivateKeyInfo")
    algorithm = info[1].items("AlgorithmIdentifier")[0].oid()
    if algorithm == GOST_2015_KEY:
        inner = info[2].octets()
        try:
            value = parse(inner)
        except Asn1Error:
            value = Node(0x04, inner)
        if value.tag == 0x02:  # an INTEGER, as some writers put it
            return GostPrivateKey(value.integer())
        return GostPrivateKey.from_bytes(value.octets())
    if algorithm == RSA_KEY:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        loaded = serialization.load_der_private_key(der, None)
        assert isinstance(loaded, RSAPrivateKey)
        return loaded
    name = _KEY_NAMES.get(algorithm, "a key algorithm not supported")
    raise CertificateError(f"the private key is {name} ({algorithm})")


# PKCS#12 (RFC 7292) as НУЦ writes it, and as OpenSSL 3 does (PBES2).
_DATA = "1.2.840.113549.1.7.1"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"
_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_PBE_SHA1_3DES = "1.2.840.113549.1.12.1.3"
_PBE_SHA1_RC2_128 = "1.2.840.113549.1.12.1.5"
_PBE_SHA1_RC2_40 = "1.2.840.113549.1.12.1.6"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_HASHES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_HMACS = {
    "1.2.840.113549.2.7": "sha1",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
_AES_CBC = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}
_MAX_ITERATIONS = 10_000_000


def _from_pkcs12(data: bytes, password: bytes | None) -> SigningKey:
    secret = password or b""
    pfx = parse(data).items("PFX")
    if pfx[0].integer() != 3:
        raise CertificateError("not a PKCS#12 file (version 3)")
    content_type, content = _content_info(pfx[1])
    if content_type != _DATA:
        raise CertificateError("a PKCS#12 file signed by a public key is not supported")
    if len(pfx) < 3:
        raise CertificateError("the PKCS#12 file has no MAC, so its password cannot be checked")
    _check_mac(pfx[2], content, secret)
    keys: list[tuple[bytes, RSAPrivateKey | GostPrivateKey]] = []
    certificates: list[tuple[bytes, Certificate]] = []
    for info in parse(content).items("AuthenticatedSafe"):
        kind, value = _content_info(info)
        if kind == _DATA:
            contents = value
        elif kind == _ENCRYPTED_DATA:
            encrypted = parse(value).items("EncryptedData")[1].items("EncryptedContentInfo")
            if len(encrypted) < 3:
                continue
            body = encrypted[2]  # [0] IMPLICIT OCTET STRING, whole or in BER pieces
            sealed = (
                body.content if body.tag == 0x80 else b"".join(c.octets() for c in body.children)
            )
            contents = _decrypt(encrypted[1], sealed, secret)
        else:
            raise CertificateError(f"a PKCS#12 content of type {kind} is not supported")
        for bag in parse(contents).items("SafeContents"):
            items = bag.items("SafeBag")
            bag_type, bag_value = items[0].oid(), items[1].children[0]
            local_id = _local_key_id(items[2] if len(items) > 2 else None)
            if bag_type == _SHROUDED_KEY_BAG:
                shrouded = bag_value.items("EncryptedPrivateKeyInfo")
                keys.append((local_id, _pkcs8(_decrypt(shrouded[0], shrouded[1].octets(), secret))))
            elif bag_type == _KEY_BAG:
                keys.append((local_id, _pkcs8(bag_value.encoded)))
            elif bag_type == _CERT_BAG:
                cert_bag = bag_value.items("CertBag")
                if cert_bag[0].oid() == _X509_CERTIFICATE:
                    der = cert_bag[1].children[0].octets()
                    certificates.append((local_id, Certificate.from_der(der)))
    if len(keys) != 1:
        raise CertificateError(f"expected one private key in the PKCS#12 file, found {len(keys)}")
    local_id, key = keys[0]
    mine = [c for i, c in certificates if (local_id and i == local_id) or _same_key(key, c)]
    if not mine:
        raise CertificateError("the PKCS#12 file holds no certificate of its key")
    others = tuple(c for _, c in certificates if c not in mine)
    return SigningKey(key, mine[0], others)


def _content_info(node: Node) -> tuple[str, bytes]:
    items = node.items("ContentInfo")
    kind = items[0].oid()
    if len(items) < 2 or items[1].tag != 0xA0 or not items[1].children:
        return kind, b""
    inner = items[1].children[0]
    return kind, inner.octets() if kind == _DATA else inner.encoded


def _local_key_id(attributes: Node | None) -> bytes:
    if attributes is None:
        return b""
    for attribute in attributes.items("attributes", 0x31):
        parts = attribute.items("Attribute")
        if parts[0].oid() == _LOCAL_KEY_ID and parts[1].children:
            return parts[1].children[0].octets()
    return b""


def _iterations(node: Node) -> int:
    count = node.integer()
    if not 1 <= count <= _MAX_ITERATIONS:
        raise CertificateError(f"a PKCS#12 iteration count of {count} is out of range")
    return count


def _bmp_password(password: bytes) -> bytes:
    return password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"


def _pkcs12_kdf(
    password: bytes, salt: bytes, iterations: int, purpose: int, size: int, name: str
) -> bytes:
    """RFC 7292 appendix B.2: purpose 1 key, 2 IV, 3 MAC key."""
    u = hashlib.new(name).digest_size
    v = hashlib.new(name).block_size

    def filled(data: bytes) -> bytes:  # repeated to a whole number of v-byte blocks
        if not data:
            return b""
        length = v * ((len(data) + v - 1) // v)
        return (data * (length // len(data) + 1))[:length]

    secret = _bmp_password(password)
    joined = bytearray(filled(salt) + filled(secret))
    out = b""
    while len(out) < size:
        block = hashlib.new(name, bytes([purpose]) * v + joined).digest()
        for _ in range(iterations - 1):
            block = hashlib.new(name, block).digest()
        out += block
        addend = int.from_bytes((block * (v // u + 1))[:v], "big") + 1
        for start in range(0, len(joined), v):
            value = (int.from_bytes(joined[start : start + v], "big") + addend) % (1 << (8 * v))
            joined[start : start + v] = value.to_bytes(v, "big")
    return out[:size]


def _check_mac(mac_data: Node, content: bytes, password: bytes) -> None:
    items = mac_data.items("MacData")
    digest_info = items[0].items("DigestInfo")
    name = _HASHES.get(digest_info[0].items("DigestAlgorithm")[0].oid())
    if name is None:
        raise CertificateError("the PKCS#12 MAC uses a hash not supported")
    expected = digest_info[1].octets()
    salt = items[1].octets()
    iterations = _iterations(items[2]) if len(items) > 2 else 1
    key = _pkcs12_kdf(password, salt, iterations, 3, hashlib.new(name).digest_size, name)
    if not hmac.compare_digest(hmac.new(key, content, name).digest(), expected):
        raise CertificateError("the PKCS#12 password is wrong (its MAC does not match)")


def _decrypt(algorithm: Node, data: bytes, password: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, modes

    cipher: CipherAlgorithm
    identifier = algorithm.items("AlgorithmIdentifier")
    oid = identifier[0].oid()
    if oid in (_PBE_SHA1_3DES, _PBE_SHA1_RC2_40, _PBE_SHA1_RC2_128):
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

        salt_node, count_node = identifier[1].items("PBEParameter")
        salt, iterations = salt_node.octets(), _iterations(count_node)
        size = {_PBE_SHA1_3DES: 24, _PBE_SHA1_RC2_128: 16, _PBE_SHA1_RC2_40: 5}[oid]
        key = _pkcs12_kdf(password, salt, iterations, 1, size, "sha1")
        iv = _pkcs12_kdf(password, salt, iterations, 2, 8, "sha1")
        if oid != _PBE_SHA1_3DES:
            return _unpadded(_rc2_cbc_decrypt(key, iv, data, 8 * size), 8)
        cipher = TripleDES(key)
        block = 8
    elif oid == _PBES2:
        from cryptography.hazmat.primitives.ciphers.algorithms import AES

        derivation, scheme = identifier[1].items("PBES2-params")
        kdf = derivation.items("KeyDerivationFunc")
        if kdf[0].oid() != _PBKDF2:
            raise CertificateError(f"the PBES2 key derivation {kdf[0].oid()} is not supported")
        parameters = kdf[1].items("PBKDF2-params")
        salt, iterations = parameters[0].octets(), _iterations(parameters[1])
        prf = next((p for p in parameters[2:] if p.tag == 0x30), None)
        name = _HMACS.get(prf.children[0].oid() if prf is not None else "1.2.840.113549.2.7")
        scheme_items = scheme.items("EncryptionScheme")
        size = _AES_CBC.get(scheme_items[0].oid(), 0)
        if name is None or not size:
            raise CertificateError("the PBES2 cipher or its hash is not supported")
        secret = password
        key = hashlib.pbkdf2_hmac(name, secret, salt, iterations, size)
        iv = scheme_items[1].octets()
        cipher = AES(key)
        block = 16
    else:
        raise CertificateError(f"the PKCS#12 encryption {oid} is not supported")
    if not data or len(data) % block:
        raise CertificateError("the encrypted PKCS#12 content has a wrong length")
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    return _unpadded(decryptor.update(data) + decryptor.finalize(), block)


def _unpadded(plain: bytes, block: int) -> bytes:
    padding = plain[-1] if plain else 0
    if not 1 <= padding <= block or plain[-padding:] != bytes([padding]) * padding:
        raise CertificateError("the PKCS#12 content does not decrypt (wrong password?)")
    return plain[:-padding]


# RC2 (RFC 2268), for the certificate bag НУЦ encrypts with 40-bit RC2: `cryptography` takes
# 128-bit RC2 keys only. Checked against the RFC's test vectors.
_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)
_RC2_SHIFTS = (1, 2, 3, 5)


def _rc2_key(key: bytes, bits: int) -> list[int]:
    """RFC 2268 key expansion: 64 16-bit words, for `bits` effective key bits."""
    size = len(key)
    if not 1 <= size <= 128 or not 1 <= bits <= 1024:
        raise CertificateError("an RC2 key out of range")
    table = bytearray(key) + bytearray(128 - size)
    t8 = (bits + 7) // 8
    mask = 0xFF >> (8 * t8 - bits)
    for i in range(size, 128):
        table[i] = _PITABLE[(table[i - 1] + table[i - size]) & 0xFF]
    table[128 - t8] = _PITABLE[table[128 - t8] & mask]
    for i in range(127 - t8, -1, -1):
        table[i] = _PITABLE[table[i + 1] ^ table[i + t8]]
    return [table[2 * i] | (table[2 * i + 1] << 8) for i in range(64)]


def _rc2_decrypt_block(words: list[int], block: bytes) -> bytes:
    r = [int.from_bytes(block[i : i + 2], "little") for i in range(0, 8, 2)]
    j = 63

    def unmix() -> None:
        nonlocal j
        for i in (3, 2, 1, 0):
            shift = _RC2_SHIFTS[i]
            r[i] = ((r[i] >> shift) | (r[i] << (16 - shift))) & 0xFFFF
            r[i] = (r[i] - words[j] - (r[i - 1] & r[i - 2]) - (~r[i - 1] & r[i - 3])) & 0xFFFF
            j -= 1

    def unmash() -> None:
        for i in (3, 2, 1, 0):
            r[i] = (r[i] - words[r[i - 1] & 63]) & 0xFFFF

    for index, rounds in enumerate((5, 6, 5)):  # encryption's 5 mix, mash, 6 mix, mash, 5 mix
        for _ in range(rounds):
            unmix()
        if index < 2:
            unmash()
    return b"".join(value.to_bytes(2, "little") for value in r)


def _rc2_cbc_decrypt(key: bytes, iv: bytes, data: bytes, bits: int) -> bytes:
    if not data or len(data) % 8 or len(iv) != 8:
        raise CertificateError("the encrypted PKCS#12 content has a wrong length")
    words = _rc2_key(key, bits)
    out = bytearray()
    previous = iv
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        plain = _rc2_decrypt_block(words, block)
        out += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(out)
