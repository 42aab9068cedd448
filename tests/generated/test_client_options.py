"""The generated client's options: requestInfo fields a caller sets, the messageId a transport
error carries, and the one resend on a closed kept-alive connection, switchable."""

from __future__ import annotations

import httpx
import pytest

from medexempt import generated as g
from medexempt.generated import models
from medexempt.generated.client import Client, MessageOptions, TransportError
from medexempt.generated.gateway import request_of, response_message

URL = "http://service.test/sync"
SEARCH = models.MedicalExemptionSearchRequest(number="01085")


def _answering(seen: list[models.SendMessage], fail_first: type[Exception] | None = None):  # type: ignore[no-untyped-def]
    def handle(request: httpx.Request) -> httpx.Response:
        message = g.read_request(request.content).body
        seen.append(message)
        if fail_first is not None and len(seen) == 1:
            raise fail_first("closed", request=request)  # type: ignore[call-arg]
        payload = models.MedicalExemptionSearchResponse(
            status=models.Status(code="NOT_FOUND", message="no")
        )
        answer = response_message(request_of(message).request_info, payload)
        return httpx.Response(200, content=g.write_envelope(g.Envelope(body=answer)),
                              headers={"Content-Type": "text/xml; charset=utf-8"})  # fmt: skip

    return handle


def _client(handler: object, **options: object) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return Client(URL, sender_id="mis", http=http, **options)  # type: ignore[arg-type]


def test_a_caller_sets_message_id_route_id_and_properties() -> None:
    seen: list[models.SendMessage] = []
    options = MessageOptions(
        message_id="mine-1", route_id="route-7", properties={"a": "1", "b": "2"}
    )
    with _client(_answering(seen)) as client:
        client.medical_exemption_search(SEARCH, options)
    info = request_of(seen[0]).request_info
    assert (info.message_id, info.route_id) == ("mine-1", "route-7")
    assert [(p.key, p.value) for p in info.properties] == [("a", "1"), ("b", "2")]


def test_the_clients_own_options_apply_when_a_call_gives_none() -> None:
    seen: list[models.SendMessage] = []
    with _client(_answering(seen), options=MessageOptions(route_id="r")) as client:
        client.medical_exemption_search(SEARCH)
        client.medical_exemption_search(SEARCH, MessageOptions(route_id="other"))
    assert [request_of(m).request_info.route_id for m in seen] == ["r", "other"]
    assert (
        request_of(seen[0]).request_info.message_id != request_of(seen[1]).request_info.message_id
    )


def test_a_session_id_is_sent_and_a_field_the_gateway_lacks_is_a_type_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[models.SendMessage] = []
    with _client(_answering(seen)) as client:
        client.medical_exemption_search(SEARCH, MessageOptions(session_id="{s-1}"))
    assert request_of(seen[0]).request_info.session_id == "{s-1}"
    from medexempt import generated

    monkeypatch.setattr(generated.gateway, "_field_names", lambda cls: {"message_id"})
    with _client(_answering([])) as client, pytest.raises(TypeError, match="no sessionId"):
        client.medical_exemption_search(SEARCH, MessageOptions(session_id="s"))


def test_a_transport_error_carries_the_message_id() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(refuse) as client, pytest.raises(TransportError) as caught:
        client.medical_exemption_search(SEARCH, MessageOptions(message_id="quote-me"))
    assert caught.value.message_id == "quote-me" and "quote-me" in str(caught.value)


def test_one_resend_on_a_closed_connection_unless_switched_off() -> None:
    seen: list[models.SendMessage] = []
    with _client(_answering(seen, httpx.RemoteProtocolError)) as client:
        assert client.medical_exemption_search(SEARCH).status.code == "NOT_FOUND"
    assert len(seen) == 2
    seen.clear()
    handler = _answering(seen, httpx.RemoteProtocolError)
    with (
        _client(handler, resend_on_closed_connection=False) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.medical_exemption_search(SEARCH)
    assert len(seen) == 1 and caught.value.message_id == request_of(seen[0]).request_info.message_id
