"""A GOST 34.10-2015 (512) test PKI: a CA and the certificates it issues, as НУЦ РК lays them out.

Certificates are written with pyasn1 (tests only) in НУЦ's form: key algorithm 1.2.398.3.10.1.1.2.2
with the curve and hash OIDs as parameters, the public key an OCTET STRING of x‖y little-endian,
signed with 1.2.398.3.10.1.1.2.3.2 (r‖s little-endian). `pkcs12` writes a key and its certificate
as НУЦ's files are: the key bag under SHA-1 and 3DES, the certificate bag under SHA-1 and 40-bit
RC2, an HMAC-SHA1 MAC, 1024 iterations each.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280

from medexempt.generated.certificates import (
    _RC2_SHIFTS,
    Certificate,
    SigningKey,
    _pkcs12_kdf,
    _rc2_key,
)
from medexempt.generated.gost import GostPrivateKey, streebog512

KEY_OID = "1.2.398.3.10.1.1.2.2"
CURVE_OID = "1.2.398.3.10.1.1.2.2.1"
HASH_OID = "1.2.398.3.10.1.3.3"
SIGNATURE_OID = "1.2.398.3.10.1.1.2.3.2"


def name(common: str, **extra: str) -> x509.Name:
    """An X.509 name: CN, and SERIALNUMBER / SN / G / C as НУЦ fills them."""
    oids = {
        "serial": NameOID.SERIAL_NUMBER,
        "surname": NameOID.SURNAME,
        "given": NameOID.GIVEN_NAME,
        "country": NameOID.COUNTRY_NAME,
    }
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    attributes += [x509.NameAttribute(oids[key], value) for key, value in extra.items()]
    return x509.Name(attributes)


def _asn1_name(value: x509.Name) -> rfc5280.Name:
    decoded, _ = decoder.decode(value.public_bytes(), asn1Spec=rfc5280.Name())
    return decoded


def _time(moment: dt.datetime) -> rfc5280.Time:
    time = rfc5280.Time()
    time["utcTime"] = useful.UTCTime(moment.strftime("%y%m%d%H%M%SZ"))
    return time


def _extension(oid: str, critical: bool, value: bytes) -> rfc5280.Extension:
    extension = rfc5280.Extension()
    extension["extnID"] = univ.ObjectIdentifier(oid)
    extension["critical"] = critical
    extension["extnValue"] = value
    return extension


def _key_usage(*bits: int) -> bytes:
    usage = rfc5280.KeyUsage(tuple(1 if i in bits else 0 for i in range(max(bits) + 1)))
    return bytes(encoder.encode(usage))


DIGITAL_SIGNATURE, NON_REPUDIATION, KEY_CERT_SIGN, CRL_SIGN = 0, 1, 5, 6


def certificate(
    subject: x509.Name,
    key: GostPrivateKey,
    issuer: tuple[x509.Name, GostPrivateKey] | None = None,
    *,
    days: tuple[int, int] = (-1, 30),
    ca: bool = False,
    usage: tuple[int, ...] | None = None,
    basic_constraints: bool = True,
) -> bytes:
    """A certificate (DER) of `key`, signed by `issuer` (name, key) or by itself."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    issuer_name, issuer_key = issuer or (subject, key)
    tbs = rfc5280.TBSCertificate()
    tbs["version"] = 2
    tbs["serialNumber"] = int.from_bytes(os.urandom(19), "big")
    algorithm = rfc5280.AlgorithmIdentifier()
    algorithm["algorithm"] = univ.ObjectIdentifier(SIGNATURE_OID)
    tbs["signature"] = algorithm
    tbs["issuer"] = _asn1_name(issuer_name)
    validity = rfc5280.Validity()
    validity["notBefore"] = _time(now + dt.timedelta(days=days[0]))
    validity["notAfter"] = _time(now + dt.timedelta(days=days[1]))
    tbs["validity"] = validity
    tbs["subject"] = _asn1_name(subject)
    spki = rfc5280.SubjectPublicKeyInfo()
    key_algorithm = rfc5280.AlgorithmIdentifier()
    key_algorithm["algorithm"] = univ.ObjectIdentifier(KEY_OID)
    parameters = univ.Sequence()
    parameters.setComponentByPosition(0, univ.ObjectIdentifier(CURVE_OID))
    parameters.setComponentByPosition(1, univ.ObjectIdentifier(HASH_OID))
    key_algorithm["parameters"] = encoder.encode(parameters)
    spki["algorithm"] = key_algorithm
    point = encoder.encode(univ.OctetString(key.public_key.to_bytes()))
    spki["subjectPublicKey"] = univ.BitString.fromOctetString(point)
    tbs["subjectPublicKeyInfo"] = spki
    extensions = tbs["extensions"]
    chosen = usage if usage is not None else ((KEY_CERT_SIGN, CRL_SIGN) if ca else (0, 1))
    items = [_extension("2.5.29.15", True, _key_usage(*chosen))]
    if basic_constraints:
        constraints = rfc5280.BasicConstraints()
        constraints["cA"] = ca
        items.append(_extension("2.5.29.19", True, encoder.encode(constraints)))
    for index, item in enumerate(items):
        extensions.setComponentByPosition(index, item)
    signed = encoder.encode(tbs)
    whole = rfc5280.Certificate()
    whole["tbsCertificate"] = tbs
    whole["signatureAlgorithm"] = algorithm
    whole["signature"] = univ.BitString.fromOctetString(issuer_key.sign(streebog512(signed)))
    return bytes(encoder.encode(whole))


@dataclass(frozen=True)
class Party:
    """A key and its certificate."""

    key: GostPrivateKey = field(repr=False)
    der: bytes = field(repr=False)

    @property
    def certificate(self) -> Certificate:
        return Certificate.from_der(self.der)

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey(self.key, self.certificate)

    def pem(self) -> bytes:
        body = base64.encodebytes(self.der).decode("ascii")
        return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode("ascii")


@dataclass(frozen=True)
class GostPki:
    root: Party  # self-signed, like НУЦ's root
    ca: Party  # the issuing CA, signed by the root (НУЦ's "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ")
    sender: Party  # issued by the CA
    service: Party  # issued by the CA
    expired: Party  # issued by the CA, no longer valid
    stranger: Party  # self-signed, not trusted
    no_signing: Party  # issued by the CA for key encipherment only


ROOT_NAME = name("НЕГІЗГІ КО (GOST) TEST", country="KZ")
CA_NAME = name("ҰЛТТЫҚ КО (GOST) TEST", country="KZ")


@cache
def gost_pki() -> GostPki:
    root_key, ca_key = GostPrivateKey.generate(), GostPrivateKey.generate()
    root = Party(root_key, certificate(ROOT_NAME, root_key, ca=True, days=(-1, 3650)))
    ca = Party(
        ca_key, certificate(CA_NAME, ca_key, (ROOT_NAME, root_key), ca=True, days=(-1, 3650))
    )

    def issued(subject: x509.Name, **options: object) -> Party:
        key = GostPrivateKey.generate()
        return Party(key, certificate(subject, key, (CA_NAME, ca_key), **options))  # type: ignore[arg-type]

    stranger_key = GostPrivateKey.generate()
    return GostPki(
        root=root,
        ca=ca,
        sender=issued(
            name("ТЕСТОВ ТЕСТ", serial="IIN123456789011", surname="ТЕСТОВ", country="KZ")
        ),
        service=issued(name("medexempt test service", country="KZ")),
        expired=issued(name("expired sender"), days=(-60, -30)),
        stranger=Party(stranger_key, certificate(name("stranger"), stranger_key)),
        no_signing=issued(name("encipherment only"), usage=(2,)),
    )


# --- PKCS#12 as НУЦ writes it ---------------------------------------------------------------------


def _rc2_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """40-bit RC2-CBC (RFC 2268), the runtime's key schedule; encryption exists here only."""
    words = _rc2_key(key, 8 * len(key))
    out = b""
    previous = iv
    for start in range(0, len(data), 8):
        block = bytes(a ^ b for a, b in zip(data[start : start + 8], previous, strict=True))
        r = [int.from_bytes(block[i : i + 2], "little") for i in range(0, 8, 2)]
        j = 0
        for index, rounds in enumerate((5, 6, 5)):
            for _ in range(rounds):
                for i in range(4):
                    r[i] = (
                        r[i] + words[j] + (r[i - 1] & r[i - 2]) + (~r[i - 1] & r[i - 3])
                    ) & 0xFFFF
                    j += 1
                    shift = _RC2_SHIFTS[i]
                    r[i] = ((r[i] << shift) | (r[i] >> (16 - shift))) & 0xFFFF
            if index < 2:
                for i in range(4):
                    r[i] = (r[i] + words[r[i - 1] & 63]) & 0xFFFF
        previous = b"".join(value.to_bytes(2, "little") for value in r)
        out += previous
    return out


def _padded(data: bytes) -> bytes:
    pad = 8 - len(data) % 8
    return data + bytes([pad]) * pad


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def _oid(dotted: str) -> bytes:
    return bytes(encoder.encode(univ.ObjectIdentifier(dotted)))


def _int(value: int) -> bytes:
    return bytes(encoder.encode(univ.Integer(value)))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def pkcs12(party: Party, password: bytes, iterations: int = 1024) -> bytes:
    """A PKCS#12 file of the party's key and certificate, in НУЦ's choice of algorithms."""
    # The PKCS#8 key: the scalar little-endian in an OCTET STRING, as НУЦ's files hold it.
    algorithm = _seq(_oid(KEY_OID), _seq(_oid(CURVE_OID), _oid(HASH_OID)))
    private = _seq(_int(0), algorithm, _octets(_octets(party.key.to_bytes())))
    salt = os.urandom(8)
    key = _pkcs12_kdf(password, salt, iterations, 1, 24, "sha1")
    iv = _pkcs12_kdf(password, salt, iterations, 2, 8, "sha1")
    encryptor = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
    sealed_key = encryptor.update(_padded(private)) + encryptor.finalize()
    pbe_3des = _seq(_oid("1.2.840.113549.1.12.1.3"), _seq(_octets(salt), _int(iterations)))
    local_id = hashlib.sha1(party.der).digest()
    attributes = _tlv(0x31, _seq(_oid("1.2.840.113549.1.9.21"), _tlv(0x31, _octets(local_id))))
    key_bag = _seq(
        _oid("1.2.840.113549.1.12.10.1.2"),
        _tlv(0xA0, _seq(pbe_3des, _octets(sealed_key))),
        attributes,
    )
    cert_bag = _seq(
        _oid("1.2.840.113549.1.12.10.1.3"),
        _tlv(0xA0, _seq(_oid("1.2.840.113549.1.9.22.1"), _tlv(0xA0, _octets(party.der)))),
        attributes,
    )
    cert_salt = os.urandom(8)
    rc2_key = _pkcs12_kdf(password, cert_salt, iterations, 1, 5, "sha1")
    rc2_iv = _pkcs12_kdf(password, cert_salt, iterations, 2, 8, "sha1")
    sealed_certs = _rc2_encrypt(rc2_key, rc2_iv, _padded(_seq(cert_bag)))
    pbe_rc2 = _seq(_oid("1.2.840.113549.1.12.1.6"), _seq(_octets(cert_salt), _int(iterations)))
    encrypted_data = _seq(
        _int(0), _seq(_oid("1.2.840.113549.1.7.1"), pbe_rc2, _tlv(0x80, sealed_certs))
    )
    data_oid = _oid("1.2.840.113549.1.7.1")
    safe = _seq(
        _seq(data_oid, _tlv(0xA0, _octets(_seq(key_bag)))),
        _seq(_oid("1.2.840.113549.1.7.6"), _tlv(0xA0, encrypted_data)),
    )
    mac_salt = os.urandom(20)
    mac_key = _pkcs12_kdf(password, mac_salt, iterations, 3, 20, "sha1")
    mac = hmac.new(mac_key, safe, "sha1").digest()
    mac_data = _seq(
        _seq(_seq(_oid("1.3.14.3.2.26"), _tlv(0x05, b"")), _octets(mac)),
        _octets(mac_salt),
        _int(iterations),
    )
    return _seq(_int(3), _seq(data_oid, _tlv(0xA0, _octets(safe))), mac_data)
