"""GOST 34.10-2015 (512) signatures as НУЦ РК makes them: the primitives against the standards'
examples and an independent implementation, certificates and trust, PKCS#12, enveloped documents,
WS-Security both ways over HTTP, and `medexempt verify-signature`."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import gostcrypto
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12 as rsa_pkcs12
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from medexempt import generated as g
from medexempt.cli import main
from medexempt.generated import gost
from medexempt.generated.asn1 import Asn1Error, parse
from medexempt.generated.certificates import (
    Certificate,
    CertificateError,
    KeyKind,
    TrustError,
    TrustStore,
    _rc2_decrypt_block,
    _rc2_key,
    load_signing_key,
)
from medexempt.generated.client import Client
from medexempt.generated.gost import (
    PARAMSET_A_512,
    Curve,
    GostPrivateKey,
    GostPublicKey,
    streebog512,
)
from medexempt.generated.server import ServerConfig, make_app
from medexempt.generated.wssecurity import (
    GostSigner,
    GostVerifier,
    RsaVerifier,
    SignatureVerifier,
    signer_from_files,
)
from medexempt.generated.xmldsig import (
    DS_NS,
    GOST_2015_DIGEST,
    GOST_2015_SIGNATURE,
    RSA_SHA256,
    SignatureError,
    sign_document,
    verify_document,
)
from tests.gost_pki import CA_NAME, _int, _octets, _oid, _seq, certificate, gost_pki, name, pkcs12
from tests.harness import serve_in_thread
from tests.support import examples

from . import test_signing as rsa_tests

NOW = dt.datetime.now(dt.UTC)

# --- Streebog: GOST R 34.11-2012 / RFC 6986 examples -------------------------------------------
# The standard prints messages and hashes as numbers, most significant byte first; as the bytes
# that are hashed and that come out of the hash, each is the reverse.

M1 = bytes.fromhex(
    "323130393837363534333231303938373635343332313039383736353433323130393837363534333231303938"
    "373635343332313039383736353433323130"
)[::-1]
M2 = bytes.fromhex(
    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5"
    "e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"
)[::-1]
H1 = (
    "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00"
    "fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b"
)
H2 = (
    "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f03"
    "7613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e"
)


def test_streebog_gives_the_standards_examples() -> None:
    assert M1 == b"012345678901234567890123456789012345678901234567890123456789012"
    assert streebog512(M1) == bytes.fromhex(H1)[::-1]
    assert streebog512(M2) == bytes.fromhex(H2)[::-1]


@settings(max_examples=examples(25), deadline=None)
@given(st.binary(max_size=300))
def test_streebog_agrees_with_an_independent_implementation(data: bytes) -> None:
    assert streebog512(data) == bytes(gostcrypto.gosthash.new("streebog512", data=data).digest())


# --- GOST R 34.10-2012: the standard's 512-bit example (appendix A.2) ---------------------------

EXAMPLE = Curve(
    name="GOST R 34.10-2012 appendix A.2",
    p=0x4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373,
    a=7,
    b=0x1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC,
    q=0x4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF,
    x=0x24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A,
    y=0x2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E,
)
D = int(
    "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B1020"
    "72E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
    16,
)
E = int(
    "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591"
    "7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
    16,
)
K = int(
    "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F3658"
    "86748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
    16,
)
R = int(
    "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD3"
    "5492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36",
    16,
)
S = int(
    "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5"
    "823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A",
    16,
)
QX = int(
    "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD"
    "5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1",
    16,
)
QY = int(
    "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61"
    "EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC",
    16,
)


def _check_the_example() -> None:
    key = GostPrivateKey(D, EXAMPLE)
    assert (key.public_key.x, key.public_key.y) == (QX, QY)
    assert key.sign_numbers(E, K) == (R, S)
    public = GostPublicKey(QX, QY, EXAMPLE)
    assert public.verify_numbers(E, R, S)
    assert not public.verify_numbers(E + 1, R, S)
    assert not public.verify_numbers(E, R, S + 1)
    assert not public.verify_numbers(E, 0, S) and not public.verify_numbers(E, R, EXAMPLE.q)


def test_the_standards_512_bit_example() -> None:
    _check_the_example()


def test_the_example_without_gmpy2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's own integers give the same numbers when gmpy2 is not installed."""
    monkeypatch.setattr(gost, "_Z", int)
    monkeypatch.setattr(gost, "_arithmetics", {})
    _check_the_example()


def test_paramset_a_is_the_curve_of_its_name() -> None:
    curve = PARAMSET_A_512
    assert curve.contains(curve.x, curve.y)
    assert curve.p == 2**512 - 569 and curve.a == curve.p - 3


def _gostcrypto_signer() -> gostcrypto.gostsignature.GOST34102012:
    curves = gostcrypto.gostsignature.CURVES_R_1323565_1_024_2019
    return gostcrypto.gostsignature.new(
        gostcrypto.gostsignature.MODE_512, curves["id-tc26-gost-3410-12-512-paramSetA"]
    )


def _halves_reversed(data: bytes | bytearray) -> bytearray:
    return bytearray(data[:64][::-1] + data[64:][::-1])


def test_signatures_agree_with_an_independent_implementation() -> None:
    """gostcrypto (big-endian throughout) verifies ours, and we verify its, in Kalkan's layout."""
    other = _gostcrypto_signer()
    key = GostPrivateKey.generate()
    digest = streebog512(b"medexempt")
    ours = key.sign(digest)
    public = bytearray(key.public_key.to_bytes())
    assert other.verify(_halves_reversed(public), bytearray(digest[::-1]), _halves_reversed(ours))
    theirs = other.sign(bytearray(key.d.to_bytes(64, "big")), bytearray(digest[::-1]))
    assert key.public_key.verify(digest, bytes(_halves_reversed(bytes(theirs))))


def test_a_public_key_off_the_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="not a point"):
        GostPublicKey(1, 2)
    with pytest.raises(ValueError, match="128 bytes"):
        GostPublicKey.from_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"1\.\.q-1"):
        GostPrivateKey(0)


def test_a_changed_signature_or_digest_does_not_verify() -> None:
    key = GostPrivateKey.generate()
    digest = streebog512(b"a")
    signature = key.sign(digest)
    assert key.public_key.verify(digest, signature)
    assert not key.public_key.verify(streebog512(b"b"), signature)
    assert not key.public_key.verify(digest, signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not key.public_key.verify(digest, signature[:100])


# --- ASN.1 and RC2 ------------------------------------------------------------------------------


def test_the_asn1_reader_takes_ber_and_refuses_what_is_broken() -> None:
    indefinite = bytes.fromhex("30800201 052480 0402 6869 0401 21 00000000")
    node = parse(indefinite)
    assert node.children[0].integer() == 5 and node.children[1].octets() == b"hi!"
    for broken in (b"\x30\x05\x02\x01", b"\x02\x01\x05\x00", b"\x30\x80\x02\x01\x05", b"\x04\x85"):
        with pytest.raises(Asn1Error):
            parse(broken)
    with pytest.raises(Asn1Error, match="deeply"):
        parse(b"\x30\x80" * 50 + b"\x00\x00" * 50)


@pytest.mark.parametrize(
    ("key", "bits", "plain", "cipher"),
    [  # RFC 2268 section 5
        ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
        ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
        ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
        ("88", 64, "0000000000000000", "61a8a244adacccf0"),
        ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
        ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
        ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    ],
)
def test_rc2_decrypts_the_rfc_vectors(key: str, bits: int, plain: str, cipher: str) -> None:
    words = _rc2_key(bytes.fromhex(key), bits)
    assert _rc2_decrypt_block(words, bytes.fromhex(cipher)) == bytes.fromhex(plain)


# --- Certificates and trust ---------------------------------------------------------------------


def _store() -> TrustStore:
    pki = gost_pki()
    return TrustStore([pki.root.der, pki.ca.der])


def test_a_gost_certificate_is_read_with_its_key_and_cyrillic_subject() -> None:
    found = gost_pki().sender.certificate
    assert found.kind is KeyKind.GOST_2015_512
    assert found.subject == "C=KZ,SN=ТЕСТОВ,SERIALNUMBER=IIN123456789011,CN=ТЕСТОВ ТЕСТ"
    assert found.key == gost_pki().sender.key.public_key


def test_the_chain_is_checked_link_by_link() -> None:
    pki = gost_pki()
    _store().check(pki.sender.certificate, NOW)
    TrustStore([pki.ca.der]).check(pki.sender.certificate, NOW)  # the issuing CA alone
    with pytest.raises(TrustError, match="not trusted"):
        TrustStore([pki.root.der]).check(pki.sender.certificate, NOW)  # no intermediate
    with pytest.raises(TrustError) as expired:
        _store().check(pki.expired.certificate, NOW)
    assert expired.value.expired
    with pytest.raises(TrustError, match="not trusted"):
        _store().check(pki.stranger.certificate, NOW)
    with pytest.raises(TrustError, match="not for signatures"):
        _store().check(pki.no_signing.certificate, NOW)
    old_key, leaf_key = GostPrivateKey.generate(), GostPrivateKey.generate()
    old_ca = certificate(name("old CA"), old_key, ca=True, days=(-30, -1))
    leaf = certificate(name("leaf"), leaf_key, (name("old CA"), old_key))
    with pytest.raises(TrustError) as lapsed:
        TrustStore([old_ca]).check(Certificate.from_der(leaf), NOW)
    assert lapsed.value.expired and "its issuer CN=old CA" in lapsed.value.message


def test_a_certificate_with_the_cas_name_but_another_key_is_not_trusted() -> None:
    forger = GostPrivateKey.generate()
    forged = certificate(name("forged"), GostPrivateKey.generate(), (CA_NAME, forger))
    with pytest.raises(TrustError, match="not trusted"):
        _store().check(Certificate.from_der(forged), NOW)


def test_an_issuer_that_is_not_a_ca_vouches_for_nothing() -> None:
    leaf_key, issued_key = GostPrivateKey.generate(), GostPrivateKey.generate()
    leaf = certificate(name("plain leaf"), leaf_key, basic_constraints=False)
    issued = certificate(name("issued by a leaf"), issued_key, (name("plain leaf"), leaf_key))
    with pytest.raises(TrustError, match="not a CA"):
        TrustStore([leaf]).check(Certificate.from_der(issued), NOW)


def test_rsa_and_gost_share_a_store_without_crossing() -> None:
    store = TrustStore([gost_pki().ca.der, rsa_tests.pki().ca])
    store.check(gost_pki().sender.certificate, NOW)
    store.check(rsa_tests.pki().sender.certificate, NOW)
    with pytest.raises(TrustError):
        TrustStore([gost_pki().ca.der]).check(rsa_tests.pki().sender.certificate, NOW)


def test_certificates_load_from_pem_and_der(tmp_path: Path) -> None:
    (tmp_path / "ca.cer").write_bytes(gost_pki().ca.der)
    (tmp_path / "ca.pem").write_bytes(gost_pki().ca.pem() + gost_pki().root.pem())
    assert len(TrustStore.from_files([tmp_path / "ca.cer", tmp_path / "ca.pem"]).certificates) == 3
    (tmp_path / "junk.cer").write_bytes(b"\x30\x03\x02\x01\x01")
    with pytest.raises(CertificateError, match=r"junk\.cer"):
        TrustStore.from_files([tmp_path / "junk.cer"])


# --- Keys: PKCS#12 as НУЦ issues it, PKCS#8 ------------------------------------------------------


def test_a_pkcs12_file_in_the_national_cas_form(tmp_path: Path) -> None:
    path = tmp_path / "sender.p12"
    path.write_bytes(pkcs12(gost_pki().sender, b"Qwerty12"))
    loaded = load_signing_key(path, None, b"Qwerty12")
    assert loaded.certificate == gost_pki().sender.certificate
    assert loaded.key == gost_pki().sender.key
    with pytest.raises(CertificateError, match="password is wrong"):
        load_signing_key(path, None, b"wrong")


def test_an_rsa_pkcs12_file_from_openssl_3(tmp_path: Path) -> None:
    """PBES2 with AES-256 and PBKDF2-HMAC-SHA256, as cryptography (OpenSSL 3) writes it."""
    signer = rsa_tests.pki().sender
    data = rsa_pkcs12.serialize_key_and_certificates(
        b"sender",
        signer.key,
        signer.certificate,
        None,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "rsa.p12").write_bytes(data)
    made = signer_from_files(tmp_path / "rsa.p12", None, b"pw")
    assert made.certificate == signer.certificate  # type: ignore[union-attr]


def test_a_pkcs8_gost_key_with_its_certificate(tmp_path: Path) -> None:
    party = gost_pki().sender
    algorithm = _seq(
        _oid("1.2.398.3.10.1.1.2.2"),
        _seq(_oid("1.2.398.3.10.1.1.2.2.1"), _oid("1.2.398.3.10.1.3.3")),
    )
    key = _seq(_int(0), algorithm, _octets(_octets(party.key.to_bytes())))
    (tmp_path / "key.der").write_bytes(key)
    pem = base64.encodebytes(key).decode()
    (tmp_path / "key.pem").write_text(
        f"-----BEGIN PRIVATE KEY-----\n{pem}-----END PRIVATE KEY-----\n"
    )
    (tmp_path / "cert.pem").write_bytes(party.pem())
    for file in ("key.der", "key.pem"):
        assert isinstance(signer_from_files(tmp_path / file, tmp_path / "cert.pem"), GostSigner)
    (tmp_path / "other.pem").write_bytes(gost_pki().service.pem())
    with pytest.raises(CertificateError, match="not the key of the certificate"):
        signer_from_files(tmp_path / "key.der", tmp_path / "other.pem")


# --- Enveloped documents ------------------------------------------------------------------------

DOCUMENT = (
    '<doc xmlns:x="urn:x" Id="d1"><x:a>Қазақ тілі</x:a>\n  <b attr="&lt;&amp;">text</b>\n</doc>'
)


def _signed_document(*signers: object, comments: bool = True) -> etree._Element:
    root = etree.fromstring(DOCUMENT)
    for party in signers:
        sign_document(root, party.signing_key, comments=comments)  # type: ignore[attr-defined]
    return root


def test_an_enveloped_document_signs_and_verifies() -> None:
    for comments in (True, False):
        root = _signed_document(gost_pki().sender, comments=comments)
        (found,) = verify_document(root, _store())
        assert found.certificate == gost_pki().sender.certificate and found.trusted
        assert found.algorithm == GOST_2015_SIGNATURE
    reparsed = etree.fromstring(etree.tostring(root))
    assert verify_document(reparsed)[0].trusted is False


def test_the_layout_is_kalkans() -> None:
    signature = _signed_document(gost_pki().sender)[-1]
    ds = {"ds": DS_NS}
    assert signature.xpath("ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm", namespaces=ds) == [
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    ]
    assert signature.xpath("ds:SignedInfo/ds:Reference/@URI", namespaces=ds) == [""]
    assert signature.xpath(".//ds:Transform/@Algorithm", namespaces=ds) == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    ]
    assert signature.xpath(".//ds:DigestMethod/@Algorithm", namespaces=ds) == [GOST_2015_DIGEST]
    assert len(signature.xpath("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=ds)) == 1


def test_two_signers_each_cover_what_came_before() -> None:
    """As Kalkan co-signs: a later signature's digest covers the earlier signature."""
    rsa_party = _RsaParty()
    root = _signed_document(gost_pki().sender, rsa_party)
    found = verify_document(root, TrustStore([gost_pki().ca.der, rsa_tests.pki().ca]))
    assert [one.certificate.kind for one in found] == [KeyKind.GOST_2015_512, KeyKind.RSA]
    root[-2].find(f"{{{DS_NS}}}SignatureValue").text = "AAAA"  # type: ignore[union-attr]
    with pytest.raises(SignatureError, match=r"signature 1: .*does not verify"):
        verify_document(root)


class _RsaParty:
    @property
    def signing_key(self) -> object:
        from medexempt.generated.certificates import SigningKey

        signer = rsa_tests.pki().sender
        return SigningKey(signer.key, Certificate.from_x509(signer.certificate))


def _refusal(root: etree._Element) -> str:
    with pytest.raises(SignatureError) as refused:
        verify_document(root, _store())
    return f"{refused.value.reason.value}: {refused.value.message}"


def test_a_changed_document_or_signature_is_refused() -> None:
    root = _signed_document(gost_pki().sender)
    root[0].text = "changed"
    assert _refusal(root).startswith("SIGNATURE_DIGEST_MISMATCH")
    root = _signed_document(gost_pki().sender)
    value = root[-1].find(f"{{{DS_NS}}}SignatureValue")
    assert value is not None and value.text
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    assert _refusal(root).startswith("SIGNATURE_INVALID")


def test_comments_are_outside_a_whole_document_reference() -> None:
    root = _signed_document(gost_pki().sender)
    root[0].append(etree.Comment(" added after signing "))
    verify_document(root, _store())


def _edited(change: str) -> etree._Element:
    root = _signed_document(gost_pki().sender)
    signature = root[-1]
    signed_info = signature[0]
    reference = signed_info.find(f"{{{DS_NS}}}Reference")
    assert reference is not None
    if change == "moved":
        root.remove(signature)
        root[0].append(signature)
    elif change == "reference to a part":
        reference.set("URI", "#d1")
    elif change == "second whole reference":
        signed_info.append(copy.deepcopy(reference))
    elif change == "no enveloped transform":
        transforms = reference[0]
        transforms.remove(transforms[0])
    elif change == "rsa method":
        signed_info[1].set("Algorithm", RSA_SHA256)
    elif change == "2004 method":
        signed_info[1].set(
            "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
        )
    elif change == "sha256 digest":
        reference.find(f"{{{DS_NS}}}DigestMethod").set(  # type: ignore[union-attr]
            "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256"
        )
    elif change == "c14n 1.1":
        signed_info[0].set("Algorithm", "http://www.w3.org/2006/12/xml-c14n11")
    elif change == "duplicate id":
        extra = etree.SubElement(root, "extra")
        extra.set("Id", "d1")
    elif change == "no certificate":
        key_info = signature.find(f"{{{DS_NS}}}KeyInfo")
        assert key_info is not None
        key_info.clear()
    return root


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("moved", "SIGNATURE_WRAPPING: a ds:Signature must be a child of the document element"),
        ("reference to a part", 'SIGNATURE_WRAPPING: expected one Reference URI=""'),
        ("second whole reference", 'SIGNATURE_WRAPPING: expected one Reference URI=""'),
        ("no enveloped transform", 'SIGNATURE_WRAPPING: Reference URI="" takes the enveloped'),
        (
            "rsa method",
            "SIGNATURE_INVALID: the signature method "
            "'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' (RSA-SHA256) is not GOST",
        ),
        ("2004 method", "(GOST 34.310-2004 (not supported)) is not GOST 34.10-2015"),
        (
            "sha256 digest",
            "SIGNATURE_INVALID: the digest method "
            "'http://www.w3.org/2001/04/xmlenc#sha256' (SHA-256) is not Streebog-512",
        ),
        ("c14n 1.1", "C14N 1.1 (not supported)"),
        ("duplicate id", "SIGNATURE_WRAPPING: the ID 'd1' appears more than once"),
        ("no certificate", "SIGNATURE_INVALID: KeyInfo must hold one X509Data/X509Certificate"),
    ],
)
def test_what_an_enveloped_signature_may_not_be(change: str, expected: str) -> None:
    assert expected in _refusal(_edited(change))


# --- WS-Security over HTTP ----------------------------------------------------------------------


def _gost_app(**config: object) -> g.server.SyncChannelApp:
    settings: dict[str, object] = {
        "signature_mode": "required",
        "verifier": SignatureVerifier(TrustStore([gost_pki().ca.der, rsa_tests.pki().ca])),
        "signer": GostSigner(gost_pki().service.signing_key),
        "max_message_age": None,
    }
    settings.update(config)
    return make_app(rsa_tests.Echo(), ServerConfig(**settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gost_url() -> Iterator[str]:
    """The app behind a real HTTP server on loopback, in a thread."""
    with serve_in_thread(_gost_app()) as url:
        yield url


def test_gost_signed_round_trip_over_http_in_both_soap_versions(gost_url: str) -> None:
    signer = GostSigner(gost_pki().sender.signing_key)
    verifier = GostVerifier(TrustStore([gost_pki().ca.der]))
    with Client(gost_url, sender_id="mis", signer=signer, verifier=verifier) as client:
        for version in (g.SoapVersion.SOAP11, g.SoapVersion.SOAP12):
            client._exchange.version = version
            answer = client.medical_exemption_search(rsa_tests.search())
            assert answer.status.message == (
                "signed by C=KZ,SN=ТЕСТОВ,SERIALNUMBER=IIN123456789011,CN=ТЕСТОВ ТЕСТ"
            )


def test_the_same_server_takes_rsa_too(gost_url: str) -> None:
    with Client(gost_url, sender_id="mis", signer=rsa_tests.pki().sender) as client:
        answer = client.medical_exemption_search(rsa_tests.search())
    assert answer.status.message == "signed by CN=sender"


def test_the_message_layout_is_the_rsa_ones_with_gost_algorithms() -> None:
    root = etree.fromstring(rsa_tests.request_bytes(GostSigner(gost_pki().sender.signing_key)))  # type: ignore[arg-type]
    signature = root[0][0][0]
    ds = {"ds": DS_NS}
    assert signature.xpath("ds:SignedInfo/ds:SignatureMethod/@Algorithm", namespaces=ds) == [
        GOST_2015_SIGNATURE
    ]
    assert signature.xpath("ds:SignedInfo/ds:Reference/@URI", namespaces=ds) == [
        "#" + root[1].get(rsa_tests.WSU_ID)  # type: ignore[operator]
    ]


def _gost_request() -> bytes:
    return rsa_tests.request_bytes(GostSigner(gost_pki().sender.signing_key))  # type: ignore[arg-type]


def _with_method(data: bytes, method: str) -> bytes:
    root = etree.fromstring(data)
    root.find(f".//{{{DS_NS}}}SignatureMethod").set("Algorithm", method)  # type: ignore[union-attr]
    return etree.tostring(root)


def test_no_downgrade_the_certificate_decides_the_algorithm() -> None:
    assert (
        rsa_tests.fault_code(_gost_app(), _with_method(_gost_request(), RSA_SHA256))
        == "SIGNATURE_INVALID"
    )
    # An RSA-only verifier refuses a GOST certificate; a GOST-only one an RSA certificate.
    only_rsa = _gost_app(verifier=RsaVerifier(_store()))
    assert rsa_tests.fault_code(only_rsa, _gost_request()) == "SIGNATURE_INVALID"
    only_gost = _gost_app(verifier=GostVerifier(TrustStore([rsa_tests.pki().ca])))
    assert (
        rsa_tests.fault_code(only_gost, rsa_tests.request_bytes(rsa_tests.pki().sender))
        == "SIGNATURE_INVALID"
    )


def test_gost_refusals_have_their_error_codes() -> None:
    assert (
        rsa_tests.fault_code(_gost_app(), rsa_tests._tamper_body(_gost_request()))
        == "SIGNATURE_DIGEST_MISMATCH"
    )
    assert (
        rsa_tests.fault_code(_gost_app(), rsa_tests._tamper_value(_gost_request()))
        == "SIGNATURE_INVALID"
    )
    stranger = rsa_tests.request_bytes(GostSigner(gost_pki().stranger.signing_key))  # type: ignore[arg-type]
    assert rsa_tests.fault_code(_gost_app(), stranger) == "CERTIFICATE_UNTRUSTED"
    expired = rsa_tests.request_bytes(GostSigner(gost_pki().expired.signing_key))  # type: ignore[arg-type]
    assert rsa_tests.fault_code(_gost_app(), expired) == "CERTIFICATE_EXPIRED"


def test_a_gost_signature_binds_to_its_sender() -> None:
    bound = _gost_app(signers={"mis": [gost_pki().sender.der]})
    status, envelope = rsa_tests.post(bound, _gost_request())
    assert status == 200 and not isinstance(envelope.body, g.SoapFault)
    other = rsa_tests.request_bytes(GostSigner(gost_pki().service.signing_key))  # type: ignore[arg-type]
    assert rsa_tests.fault_code(bound, other) == "SIGNER_NOT_SENDER"


@pytest.mark.parametrize("name", rsa_tests.WRAPPINGS)
def test_every_wrapping_variant_of_a_gost_message_is_refused(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The RSA tests' wrapping variants, made of a GOST-signed message."""
    monkeypatch.setattr(rsa_tests, "_signed_tree", lambda: etree.fromstring(_gost_request()))
    assert rsa_tests.fault_code(_gost_app(), rsa_tests.WRAPPINGS[name]()) == "SIGNATURE_WRAPPING"


# --- medexempt verify-signature ---------------------------------------------------------------


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify-signature", *args])
    return result.exit_code, result.output


def test_verify_signature_on_a_document_and_a_message(tmp_path: Path) -> None:
    document = tmp_path / "signed.xml"
    document.write_bytes(
        etree.tostring(_signed_document(gost_pki().sender), xml_declaration=True, encoding="UTF-8")
    )
    (tmp_path / "ca.cer").write_bytes(gost_pki().ca.der)
    code, output = _run(str(document))
    assert code == 0, output
    assert "GOST 34.10-2015 (512) with Streebog-512" in output
    assert "signer: C=KZ,SN=ТЕСТОВ,SERIALNUMBER=IIN123456789011,CN=ТЕСТОВ ТЕСТ" in output
    assert f"serial: {gost_pki().sender.certificate.serial}" in output
    assert "chain: not checked" in output
    code, output = _run(str(document), "--trust", str(tmp_path / "ca.cer"))
    assert code == 0 and "chain: trusted" in output
    message = tmp_path / "message.xml"
    message.write_bytes(_gost_request())
    code, output = _run(str(message), "--trust", str(tmp_path / "ca.cer"))
    assert code == 0 and "WS-Security message" in output


def test_verify_signature_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "root.cer").write_bytes(gost_pki().stranger.der)
    signed = tmp_path / "signed.xml"
    signed.write_bytes(etree.tostring(_signed_document(gost_pki().sender), encoding="UTF-8"))
    code, output = _run(str(signed), "--trust", str(tmp_path / "root.cer"))
    assert code == 1 and "CERTIFICATE_UNTRUSTED" in output
    changed = tmp_path / "changed.xml"
    changed.write_bytes(signed.read_bytes().replace("Қазақ".encode(), "Казах".encode()))
    code, output = _run(str(changed))
    assert code == 1 and "SIGNATURE_DIGEST_MISMATCH" in output
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_text(DOCUMENT)
    assert _run(str(unsigned))[0] == 1
    broken = tmp_path / "broken.xml"
    broken.write_text("<a><b></a>")
    assert _run(str(broken))[0] == 2
    assert _run(str(tmp_path / "missing.xml"))[0] == 2
    doctype = tmp_path / "doctype.xml"
    doctype.write_text('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    assert _run(str(doctype))[0] == 2
    expired_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).strftime("%Y-%m-%d")
    (tmp_path / "ca.cer").write_bytes(gost_pki().ca.der)
    code, output = _run(str(signed), "--trust", str(tmp_path / "ca.cer"), "--at", expired_at)
    assert code == 1 and "CERTIFICATE_EXPIRED" in output


# --- Real documents signed by НУЦ РК's test CA -------------------------------------------------
# Public test vectors of SDK wrappers, signed by Kalkan with keys of НУЦ's GOST test CA. They are
# not copied into this repository (its data is its own): point MEDEXEMPT_KALKAN_VECTORS at a folder
# holding them under these names (docs/how-to/sign-messages.md says where each comes from).

REAL_VECTORS = {
    # ncanode-kz/NCANode @51b46959 src/test/resources/xades/xades-test-signed-b.xml (XAdES-B)
    "xades-test-signed-b.xml": ["6C425659BD2FC6DC587B871AEDE1857727CF8451"],
    # malikzh/NCANode @cd8d43d1 XmlServiceTest.groovy XML_SIGNED_VALID_STRING_TWO_SIGNERS
    "two-signers.xml": [
        "4279390A141F5353A62947B61ED65E81741467D1",
        "FF06211DC82BEB00253FFA000F1DE84ABEF454F",
    ],
    # mitwork/kalkan @8fdad250 tests/KalkanValidationServiceTest.php (the XML heredoc)
    "kalkan-8fdad25.xml": ["10F5125FB9E52F84C42CBAD8E451C68F10A5E869"],
}


@pytest.mark.parametrize("file", sorted(REAL_VECTORS))
def test_real_kalkan_signed_documents(file: str) -> None:
    folder = os.environ.get("MEDEXEMPT_KALKAN_VECTORS")
    if not folder:
        pytest.skip("set MEDEXEMPT_KALKAN_VECTORS to a folder of НУЦ-signed test vectors")
    root = etree.fromstring((Path(folder) / file).read_bytes())
    found = verify_document(root)
    assert [one.certificate.serial for one in found] == REAL_VECTORS[file]
    assert all("TEST" in one.certificate.issuer for one in found)  # НУЦ's test CAs


# --- The reference service's commands with GOST keys ------------------------------------------


def test_serve_takes_a_pkcs12_key_and_der_certificates(tmp_path: Path) -> None:
    from medexempt.exemptions.app import signer_for, signers_for
    from medexempt.exemptions.serve import ConfigError, settings_for

    (tmp_path / "service.p12").write_bytes(pkcs12(gost_pki().service, b"pw"))
    (tmp_path / "ca.cer").write_bytes(gost_pki().ca.der)
    (tmp_path / "sender.cer").write_bytes(gost_pki().sender.der)
    options = rsa_tests._options(
        tmp_path,
        demo=False,
        signature_mode="required",
        trust=(tmp_path / "ca.cer",),
        sign_key=tmp_path / "service.p12",
        signers=(("mis", tmp_path / "sender.cer"),),
    )
    settings = settings_for(options, {"MEDEXEMPT_SIGN_KEY_PASSWORD": "pw"})  # type: ignore[arg-type]
    assert isinstance(signer_for(settings), GostSigner)
    assert signers_for(settings) == {"mis": [gost_pki().sender.der]}
    assert "pw" not in repr(settings)
    with pytest.raises(ConfigError, match="password is wrong"):
        settings_for(options, {"MEDEXEMPT_SIGN_KEY_PASSWORD": "other"})  # type: ignore[arg-type]


def test_search_signs_with_a_pkcs12_key_and_verifies_the_gost_answer(
    gost_url: str, tmp_path: Path
) -> None:
    from medexempt.exemptions.search import search

    (tmp_path / "sender.p12").write_bytes(pkcs12(gost_pki().sender, b"Qwerty12"))
    (tmp_path / "ca.cer").write_bytes(gost_pki().ca.der)
    arguments = ["--url", gost_url, "--sender-id", "mis", "--password", "x", "--number", "01085"]
    arguments += [
        "--sign-key",
        str(tmp_path / "sender.p12"),
        "--verify-cert",
        str(tmp_path / "ca.cer"),
    ]
    result = CliRunner().invoke(search, arguments, env={"MEDEXEMPT_SIGN_KEY_PASSWORD": "Qwerty12"})
    assert result.exit_code == 3, result.output  # NOT_FOUND, from the echoing servicer
    assert "signed by C=KZ,SN=ТЕСТОВ,SERIALNUMBER=IIN123456789011" in result.output
    # A response signed by a certificate the client does not trust exits 6.
    (tmp_path / "stranger.cer").write_bytes(gost_pki().stranger.der)
    arguments[-1] = str(tmp_path / "stranger.cer")
    result = CliRunner().invoke(search, arguments, env={"MEDEXEMPT_SIGN_KEY_PASSWORD": "Qwerty12"})
    assert result.exit_code == 6, result.output
