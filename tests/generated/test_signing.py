"""WS-Security signatures both ways: round trips, every refusal reason, the wrapping variants."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from medexempt import generated as g
from medexempt.generated import models
from medexempt.generated.client import Client, GatewayFault, SignatureRejected
from medexempt.generated.gateway import request_message
from medexempt.generated.passwords import hash_password
from medexempt.generated.server import (
    RequestContext,
    ServerConfig,
    Servicer,
    SignatureMode,
    make_app,
)
from medexempt.generated.wssecurity import (
    DS_NS,
    WSSE_NS,
    WSU_NS,
    Reason,
    RsaSigner,
    RsaVerifier,
    SignatureError,
    TrustStore,
)
from tests.harness import serve_in_thread
from tests.support import examples

SERVICE = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"
URL = "http://service.test/sync"
WSU_ID = f"{{{WSU_NS}}}Id"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    common: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None,
    *,
    days: tuple[int, int] = (-1, 30),
    ca: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(common), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256())


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Pki:
    ca: x509.Certificate
    sender: RsaSigner  # a certificate the CA issued
    service: RsaSigner  # another one, for responses
    expired: RsaSigner  # issued by the CA, no longer valid
    stranger: RsaSigner  # self-signed, not trusted

    @property
    def trust(self) -> TrustStore:
        return TrustStore([self.ca])


@cache
def pki() -> Pki:
    ca_key = _key()
    ca = _certificate("Test CA", ca_key, ca=True)
    issuer = (ca.subject, ca_key)

    def issued(common: str, days: tuple[int, int] = (-1, 30)) -> RsaSigner:
        key = _key()
        return RsaSigner(key, _certificate(common, key, issuer, days=days))

    stranger_key = _key()
    return Pki(
        ca=ca,
        sender=issued("sender"),
        service=issued("service"),
        expired=issued("expired", days=(-60, -30)),
        stranger=RsaSigner(stranger_key, _certificate("stranger", stranger_key)),
    )


class Echo(Servicer):
    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        signer = context.signed_by.subject if context.signed_by else "nobody"
        return models.MedicalExemptionSearchResponse(
            status=models.Status(code="NOT_FOUND", message=f"signed by {signer}")
        )


def app(
    mode: SignatureMode = "required", *, signed_responses: bool = True
) -> g.server.SyncChannelApp:
    return make_app(
        Echo(),
        ServerConfig(
            signature_mode=mode,
            verifier=RsaVerifier(pki().trust),
            signer=pki().service if signed_responses else None,
            max_message_age=None,
        ),
    )


def search() -> models.MedicalExemptionSearchRequest:
    return models.MedicalExemptionSearchRequest(number="01085")


def request_bytes(signer: RsaSigner | None = None, number: str = "01085") -> bytes:
    payload = models.MedicalExemptionSearchRequest(number=number)
    data = g.write_envelope(g.Envelope(body=request_message(SERVICE, payload, sender_id="mis")))
    if signer is None:
        return data
    root = etree.fromstring(data)
    signer.sign(root)
    return bytes(etree.tostring(root))


def post(application: object, data: bytes) -> tuple[int, g.Envelope[object]]:
    transport = httpx.WSGITransport(app=application)  # type: ignore[arg-type]
    with httpx.Client(transport=transport) as http:
        answer = http.post(URL, content=data, headers={"Content-Type": "text/xml"})
    return answer.status_code, g.read_response(answer.content)  # type: ignore[return-value]


def fault_code(application: object, data: bytes) -> str | None:
    status, envelope = post(application, data)
    assert isinstance(envelope.body, g.SoapFault), envelope.body
    assert envelope.body.code is g.FaultCode.SENDER and status == 500
    assert envelope.body.detail is not None
    return envelope.body.detail.error_code


def wsgi_client(application: object, **kwargs: object) -> Client:
    http = httpx.Client(transport=httpx.WSGITransport(app=application))  # type: ignore[arg-type]
    return Client(URL, sender_id="mis", http=http, **kwargs)  # type: ignore[arg-type]


# Round trips -----------------------------------------------------------------------------------


def test_signed_round_trip_in_process() -> None:
    with wsgi_client(app(), signer=pki().sender, verifier=RsaVerifier(pki().trust)) as client:
        answer = client.medical_exemption_search(search())
    assert answer.status.message == "signed by CN=sender"


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The app behind a real HTTP server on loopback, in a thread."""
    with serve_in_thread(app()) as url:
        yield url


def test_signed_round_trip_over_http(http_url: str) -> None:
    trust = RsaVerifier(pki().trust)
    with Client(http_url, sender_id="mis", signer=pki().sender, verifier=trust) as client:
        for version in (g.SoapVersion.SOAP11, g.SoapVersion.SOAP12):
            client._exchange.version = version
            answer = client.medical_exemption_search(search())
            assert answer.status.message == "signed by CN=sender"


def test_the_signature_has_the_layout_of_the_spec() -> None:
    root = etree.fromstring(request_bytes(pki().sender))
    header, body = root
    (security,) = header
    assert security.tag == f"{{{WSSE_NS}}}Security"
    assert security.get(f"{{{g.SoapVersion.SOAP11.namespace}}}mustUnderstand") == "1"
    (signature,) = security
    ns = {"ds": DS_NS, "wsse": WSSE_NS}
    (reference,) = signature.findall("ds:SignedInfo/ds:Reference", ns)
    assert reference.get("URI") == f"#{body.get(WSU_ID)}"
    algorithms = {e.get("Algorithm") for e in signature.iter() if e.get("Algorithm")}
    assert algorithms == {
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmlenc#sha256",
    }
    (identifier,) = signature.findall(
        "ds:KeyInfo/wsse:SecurityTokenReference/wsse:KeyIdentifier", ns
    )
    assert identifier.get("ValueType", "").endswith("#X509v3")
    assert identifier.get("EncodingType", "").endswith("#Base64Binary")
    der = pki().sender.certificate.public_bytes(serialization.Encoding.DER)
    assert (
        x509.load_der_x509_certificate(
            __import__("base64").b64decode(identifier.text)
        ).public_bytes(serialization.Encoding.DER)
        == der
    )


def test_a_body_with_an_id_keeps_it() -> None:
    data = request_bytes().replace(b"<soap:Body>", b'<soap:Body Id="body-1">')
    root = etree.fromstring(data)
    pki().sender.sign(root)
    reference = root.find(".//{*}Reference")
    assert reference is not None and reference.get("URI") == "#body-1"
    assert RsaVerifier(pki().trust).verify(root).subject == "CN=sender"


# Modes -----------------------------------------------------------------------------------------


def test_unsigned_request_is_refused_when_required() -> None:
    assert fault_code(app("required"), request_bytes()) == "SIGNATURE_MISSING"


def test_unsigned_request_is_served_in_verify_if_present() -> None:
    status, envelope = post(app("verify-if-present"), request_bytes())
    assert status == 200 and not isinstance(envelope.body, g.SoapFault)


def test_a_bad_signature_is_refused_in_verify_if_present() -> None:
    assert (
        fault_code(app("verify-if-present"), request_bytes(pki().stranger))
        == "CERTIFICATE_UNTRUSTED"
    )


def test_off_does_not_look_at_signatures() -> None:
    status, _ = post(app("off"), request_bytes(pki().stranger))
    assert status == 200


def test_a_mode_without_a_verifier_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="needs a verifier"):
        ServerConfig(signature_mode="required")


# Each refusal reason ---------------------------------------------------------------------------


def _tamper_body(data: bytes) -> bytes:
    return data.replace(b"<number>01085</number>", b"<number>99999</number>")


def _tamper_value(data: bytes) -> bytes:
    root = etree.fromstring(data)
    value = root.find(f".//{{{DS_NS}}}SignatureValue")
    assert value is not None
    text = value.text or ""
    value.text = ("A" if text[0] != "A" else "B") + text[1:]
    return bytes(etree.tostring(root))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: request_bytes(pki().expired), "CERTIFICATE_EXPIRED"),
        (lambda: request_bytes(pki().stranger), "CERTIFICATE_UNTRUSTED"),
        (lambda: _tamper_body(request_bytes(pki().sender)), "SIGNATURE_DIGEST_MISMATCH"),
        (lambda: _tamper_value(request_bytes(pki().sender)), "SIGNATURE_INVALID"),
        (lambda: request_bytes(), "SIGNATURE_MISSING"),
    ],
    ids=["expired", "untrusted", "bad-digest", "bad-signature-value", "missing"],
)
def test_each_failure_is_a_sender_fault_that_says_which(
    make: Callable[[], bytes], reason: str
) -> None:
    assert fault_code(app(), make()) == reason


def test_a_trusted_leaf_certificate_is_accepted_without_its_ca() -> None:
    verifier = RsaVerifier(TrustStore([pki().stranger.certificate]))
    root = etree.fromstring(request_bytes(pki().stranger))
    assert verifier.verify(root).subject == "CN=stranger"


def test_trust_store_from_pem_files(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_bytes(pki().ca.public_bytes(serialization.Encoding.PEM))
    root = etree.fromstring(request_bytes(pki().sender))
    assert RsaVerifier(TrustStore.from_pem_files([path])).verify(root).subject == "CN=sender"


# Signature wrapping ----------------------------------------------------------------------------


def _signed_tree() -> etree._Element:
    return etree.fromstring(request_bytes(pki().sender))


def _body_moved_into_header() -> bytes:
    """The signed Body kept in a header block (renamed, so it is not a second Body) while a forged
    Body without the Id is dispatched."""
    root = _signed_tree()
    header, body = root
    holder = etree.SubElement(header, "{urn:attacker}Wrapper")
    holder.append(copy.deepcopy(body))
    forged = etree.fromstring(request_bytes(number="99999"))[-1]
    root.replace(body, forged)
    return bytes(etree.tostring(root))


def _body_copy_as_second_body() -> bytes:
    """A signed copy of the Body, still named Body, in the Header; the forged Body has the Id."""
    root = _signed_tree()
    header, body = root
    header.append(copy.deepcopy(body))
    forged = etree.fromstring(request_bytes(number="99999"))[-1]
    forged.set(WSU_ID, body.get(WSU_ID) or "")
    root.replace(body, forged)
    return bytes(etree.tostring(root))


def _duplicate_ids() -> bytes:
    root = _signed_tree()
    header, body = root
    decoy = etree.SubElement(header, "{urn:attacker}Decoy")
    decoy.set(WSU_ID, body.get(WSU_ID) or "")
    return bytes(etree.tostring(root))


def _signature_over_a_header_block() -> bytes:
    """A genuine signature, but over a header block: the Body is not signed."""
    data = request_bytes()
    root = etree.fromstring(data)
    header = etree.Element(f"{{{g.SoapVersion.SOAP11.namespace}}}Header")
    root.insert(0, header)
    block = etree.SubElement(header, "{urn:example}Routing", nsmap={"wsu": WSU_NS})
    block.set(WSU_ID, "id-routing")
    signer = pki().sender
    signer.sign(root)
    reference = root.find(f".//{{{DS_NS}}}Reference")
    assert reference is not None
    body = root[-1]
    # Re-sign honestly over the header block, as an attacker holding a valid key could.
    del body.attrib[WSU_ID]
    security = root[0][0]
    root[0].remove(security)
    from signxml.algorithms import SignatureConstructionMethod
    from signxml.signer import XMLSigner

    from medexempt.generated.wssecurity import security_header, token_reference

    new_security = security_header(root)
    xml_signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    new_security.append(
        xml_signer.sign(
            root, key=signer.key, reference_uri="#id-routing", key_info=token_reference(der)
        )
    )
    return bytes(etree.tostring(root))


def _two_references() -> bytes:
    root = _signed_tree()
    signed_info = root.find(f".//{{{DS_NS}}}SignedInfo")
    assert signed_info is not None
    reference = signed_info.find(f"{{{DS_NS}}}Reference")
    assert reference is not None
    signed_info.append(copy.deepcopy(reference))
    return bytes(etree.tostring(root))


def _second_signature() -> bytes:
    root = _signed_tree()
    security = root[0][0]
    security.append(copy.deepcopy(security[0]))
    return bytes(etree.tostring(root))


def _signature_outside_security() -> bytes:
    root = _signed_tree()
    header = root[0]
    signature = header[0][0]
    header[0].remove(signature)
    header.append(signature)
    return bytes(etree.tostring(root))


def _second_security_header() -> bytes:
    root = _signed_tree()
    header = root[0]
    header.append(copy.deepcopy(header[0]))
    return bytes(etree.tostring(root))


WRAPPINGS: dict[str, Callable[[], bytes]] = {
    "body-moved-into-header": _body_moved_into_header,
    "second-body-like-element": _body_copy_as_second_body,
    "duplicate-ids": _duplicate_ids,
    "signature-over-a-header-block": _signature_over_a_header_block,
    "two-references": _two_references,
    "second-signature": _second_signature,
    "signature-outside-security": _signature_outside_security,
    "two-security-headers": _second_security_header,
}


@pytest.mark.parametrize("name", WRAPPINGS)
def test_wrapping_variants_are_refused(name: str) -> None:
    data = WRAPPINGS[name]()
    with pytest.raises(SignatureError) as refused:
        RsaVerifier(pki().trust).verify(etree.fromstring(data))
    assert refused.value.reason is Reason.WRAPPING, refused.value
    assert fault_code(app(), data) == "SIGNATURE_WRAPPING"


def test_refusal_messages_say_which() -> None:
    _, envelope = post(app(), _duplicate_ids())
    assert isinstance(envelope.body, g.SoapFault)
    assert "more than once" in envelope.body.reason


# The client side -------------------------------------------------------------------------------


def test_a_verifying_client_refuses_an_unsigned_response() -> None:
    client = wsgi_client(
        app(signed_responses=False), signer=pki().sender, verifier=RsaVerifier(pki().trust)
    )
    with client, pytest.raises(SignatureRejected) as refused:
        client.medical_exemption_search(search())
    assert refused.value.reason is Reason.MISSING


def test_a_verifying_client_refuses_an_untrusted_response() -> None:
    client = wsgi_client(app(), signer=pki().sender, verifier=RsaVerifier(TrustStore([])))
    with client, pytest.raises(SignatureRejected) as refused:
        client.medical_exemption_search(search())
    assert refused.value.reason is Reason.UNTRUSTED


def test_a_verifying_client_reads_an_unsigned_fault() -> None:
    client = wsgi_client(app("required"), verifier=RsaVerifier(pki().trust))  # request unsigned
    with client, pytest.raises(GatewayFault) as fault:
        client.medical_exemption_search(search())
    assert fault.value.error_code == "SIGNATURE_MISSING"


# `medexempt serve` options ---------------------------------------------------------------------


def _options(tmp_path: Path, *, demo: bool, **signing: object) -> object:
    from medexempt.exemptions.serve import ServeOptions

    config = tmp_path / "serve.toml"
    config.write_text(f'secret = "{"s" * 40}"\n[senders]\nmis = "x"\n', encoding="utf-8")
    return ServeOptions(
        "127.0.0.1",
        8080,
        1,
        "sqlite://",
        None,
        demo,
        config,
        **signing,  # type: ignore[arg-type]
    )


def test_serve_defaults_to_off_in_the_demo_and_verify_if_present_otherwise(tmp_path: Path) -> None:
    from medexempt.exemptions.serve import settings_for

    assert settings_for(_options(tmp_path, demo=True), {}).signature_mode == "off"  # type: ignore[arg-type]
    real = settings_for(_options(tmp_path, demo=False), {})  # type: ignore[arg-type]
    assert real.signature_mode == "verify-if-present"


def test_serve_refuses_required_without_trust(tmp_path: Path) -> None:
    from medexempt.exemptions.serve import ConfigError, settings_for

    with pytest.raises(ConfigError, match="--trust"):
        settings_for(_options(tmp_path, demo=False, signature_mode="required"), {})  # type: ignore[arg-type]


def test_serve_threads_signing_into_the_app(tmp_path: Path) -> None:
    from medexempt.exemptions.app import signer_for
    from medexempt.exemptions.serve import settings_for

    key, cert, ca = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "ca.pem"
    signer = pki().service
    key.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    ca.write_bytes(pki().ca.public_bytes(serialization.Encoding.PEM))
    options = _options(
        tmp_path, demo=False, signature_mode="required", trust=(ca,), sign_key=key, sign_cert=cert
    )
    settings = settings_for(options, {})  # type: ignore[arg-type]
    assert settings.signature_mode == "required" and settings.trust == (ca,)
    made = signer_for(settings)
    assert isinstance(made, RsaSigner) and made.certificate == signer.certificate


# Mutations of the wsse:Security subtree ----------------------------------------------------------

_MUTATIONS = ("drop", "empty", "text", "duplicate", "child", "attribute")
_SECURITY_CODES = {r.value for r in Reason}


def _mutated(data: bytes, picks: list[tuple[int, str, str]]) -> bytes:
    root = etree.fromstring(data)
    security = root.find(f".//{{{WSSE_NS}}}Security")
    assert security is not None
    for index, mutation, text in picks:
        nodes = list(security.iter())
        node = nodes[index % len(nodes)]
        parent = node.getparent()
        if mutation == "drop" and parent is not None and node is not security:
            parent.remove(node)
        elif mutation == "empty":
            node.text = None
            for child in list(node):
                node.remove(child)
        elif mutation == "text":
            node.text = text
        elif mutation == "duplicate" and parent is not None and node is not security:
            parent.append(copy.deepcopy(node))
        elif mutation == "child":
            name = text.strip() if text.strip().isalpha() else "Unknown"
            etree.SubElement(node, f"{{{DS_NS}}}{name[:40]}")
        elif mutation == "attribute":
            node.set("Algorithm", text)
    return bytes(etree.tostring(root))


@settings(max_examples=examples(150), deadline=None)
@given(
    picks=st.lists(
        st.tuples(
            st.integers(0, 60),
            st.sampled_from(_MUTATIONS),
            st.sampled_from(["", " ", "!!", "AAAA\nBBBB", "InclusiveNamespaces", "Transform",
                             "http://www.w3.org/2001/10/xml-exc-c14n#", "#id-1", "x" * 300]),
        ),
        min_size=1,
        max_size=4,
    )
)  # fmt: skip
def test_any_mutation_of_the_security_header_is_a_signature_fault(
    picks: list[tuple[int, str, str]],
) -> None:
    """Whatever is broken in wsse:Security, the answer is a Sender fault with a signature errorCode
    (or, when the mutation left a valid signature, an answer): never an exception or an HTML 500."""
    data = _mutated(request_bytes(pki().sender), picks)
    status, envelope = post(app(), data)
    if isinstance(envelope.body, g.SoapFault):
        assert envelope.body.detail is not None
        code = envelope.body.detail.error_code
        assert code in _SECURITY_CODES | {"INVALID_MESSAGE"}, code
        assert status == 500 and "\n" not in envelope.body.reason
    else:
        assert status == 200


def _der(signer: RsaSigner) -> bytes:
    return signer.certificate.public_bytes(serialization.Encoding.DER)


def _bound_app(**config: object) -> g.server.SyncChannelApp:
    return make_app(
        Echo(),
        ServerConfig(
            signature_mode="required",
            verifier=RsaVerifier(pki().trust),
            max_message_age=None,
            signers={"mis": [_der(pki().sender)]},
            **config,  # type: ignore[arg-type]
        ),
    )


def test_a_signature_binds_to_its_sender() -> None:
    """Each certificate signs only for the senders it is registered for: another trusted one
    (here the service's own) is refused with its own errorCode."""
    status, envelope = post(_bound_app(), request_bytes(pki().sender))
    assert status == 200 and not isinstance(envelope.body, g.SoapFault)
    assert fault_code(_bound_app(), request_bytes(pki().service)) == "SIGNER_NOT_SENDER"


def test_authentication_comes_before_the_signature_work() -> None:
    """A wrong password is refused as such even with a broken signature: the cheap check first."""
    senders = {"mis": hash_password("right", n=2**10)}
    data = _tamper_value(request_bytes(pki().sender))
    assert fault_code(_bound_app(senders=senders), data) == "AUTHENTICATION_FAILED"


# The verifier itself: it agrees with signxml, and works on the tree it is given ---------------

_LAYOUTS = {
    "prefixes on the Envelope": (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:p"'
        ' xmlns:unused="urn:unused"><s:Header/><s:Body><p:a><p:b>1</p:b></p:a></s:Body>'
        "</s:Envelope>"
    ),
    "a default namespace and a QName value": (
        '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="urn:t" xml:lang="kk">'
        '<Header/><Body><a xmlns="urn:p" xsi:type="t:T">x<!-- a comment --></a></Body></Envelope>'
    ),
    "SOAP 1.2, attributes, entities and white space": (
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header/>\n'
        '<e:Body>\n  <q:a xmlns:q="urn:q" z="2" a="&lt;&amp;&quot;">\n\t&#xD;  Қазақ\n  </q:a>\n'
        "</e:Body></e:Envelope>"
    ),
}


def _signxml_signed(text: str, prefixes: list[str] | None) -> etree._Element:
    from signxml.algorithms import SignatureConstructionMethod, SignatureMethod
    from signxml.signer import XMLSigner

    from medexempt.generated.wssecurity import (
        C14N_EXCLUSIVE,
        ensure_body_id,
        security_header,
        token_reference,
    )

    root = etree.fromstring(text.encode())
    body_id = ensure_body_id(root)
    security = security_header(root)
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm="sha256",
        c14n_algorithm=C14N_EXCLUSIVE,
    )
    signature = signer.sign(
        root,
        key=pki().sender.key,
        reference_uri=f"#{body_id}",
        key_info=token_reference(_der(pki().sender)),
        inclusive_ns_prefixes=prefixes,
    )
    security.append(signature)
    return etree.fromstring(etree.tostring(root))


def _signxml_accepts(root: etree._Element) -> bool:
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    try:
        XMLVerifier().verify(
            root,
            x509_cert=pki().sender.certificate,
            expect_config=SignatureConfiguration(expect_references=1),
        )
    except SignXMLException:
        return False
    return True


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_the_verifier_agrees_with_signxml(layout: str) -> None:
    """Signed by signxml: both verifiers accept it, and both refuse it once a text of the Body
    changes."""
    root = _signxml_signed(_LAYOUTS[layout], None)
    assert _signxml_accepts(root)
    assert RsaVerifier(pki().trust).verify(root).subject == "CN=sender"
    target = next(node for node in root.iter() if node.tag in ("{urn:p}b", "{urn:p}a", "{urn:q}a"))
    target.text = (target.text or "") + "!"
    assert not _signxml_accepts(root)
    with pytest.raises(SignatureError) as refused:
        RsaVerifier(pki().trust).verify(root)
    assert refused.value.reason is Reason.DIGEST_MISMATCH


@pytest.mark.parametrize("prefixes", [["t"], ["#default", "t"]])
def test_an_inclusive_namespaces_prefix_list_is_honoured(prefixes: list[str]) -> None:
    """The PrefixList keeps a declaration the Body uses only in a QName value: signxml's digest
    (which differs with and without it) verifies. (signxml's own verifier cannot read the list.)"""
    text = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/>'
        '<s:Body xmlns="urn:d" xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<a xsi:type="t:T">1</a></s:Body></s:Envelope>'
    )
    root = _signxml_signed(text, prefixes)
    body = root[1]
    with_list = etree.tostring(body, method="c14n", exclusive=True, inclusive_ns_prefixes=prefixes)
    assert with_list != etree.tostring(body, method="c14n", exclusive=True)
    assert RsaVerifier(pki().trust).verify(root).subject == "CN=sender"
    next(root.iter("{urn:d}a")).text = "2"
    with pytest.raises(SignatureError) as refused:
        RsaVerifier(pki().trust).verify(root)
    assert refused.value.reason is Reason.DIGEST_MISMATCH


def test_verification_parses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verifier works on the parsed tree it is handed: no document is parsed again."""
    root = etree.fromstring(request_bytes(pki().sender))

    def parsed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the verifier parsed a document")

    for name in ("fromstring", "XML", "parse", "fromstringlist"):
        monkeypatch.setattr(etree, name, parsed)
    assert RsaVerifier(pki().trust).verify(root).subject == "CN=sender"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("SignatureMethod", "not RSA-SHA256"),
        ("DigestMethod", "not SHA-256"),
        ("Transforms", "expected one ds:Transforms"),
        ("InclusiveNamespaces", "not an NCName"),
    ],
)
def test_other_algorithms_are_refused_by_name(change: str, reason: str) -> None:
    root = etree.fromstring(request_bytes(pki().sender))
    element = next(root.iter(f"{{{DS_NS}}}{change}"), None)
    if change == "InclusiveNamespaces":
        transform = next(root.iter(f"{{{DS_NS}}}Transform"))
        etree.SubElement(transform, "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces",
                         PrefixList="1bad")  # fmt: skip
    elif change == "Transforms":
        assert element is not None
        element.getparent().remove(element)  # type: ignore[union-attr]
    else:
        assert element is not None
        element.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    with pytest.raises(SignatureError) as refused:
        RsaVerifier(pki().trust).verify(root)
    assert reason in refused.value.message
