"""A small service for the end-to-end tests, served by gunicorn as `tests.e2e.service:app`.

Numbers decide the outcome, so one server covers every path: `01085` is found, `00000` is not,
`boom` raises inside the service, `refuse` raises a ServiceFault; an IIN of the wrong length is an
INVALID_REQUEST answer.
"""

from __future__ import annotations

import os

from medexempt.generated import models
from medexempt.generated.passwords import hash_password
from medexempt.generated.server import (
    RequestContext,
    ServerConfig,
    ServiceFault,
    Servicer,
    make_app,
)

SENDER_ID = "e2e-sender"
PASSWORD = "e2e-password"
CERTIFICATE = b"%PDF-1.4\n% e2e certificate\n%%EOF\n"
PROCEDURE = models.Dictionary(
    code="100",
    name_ru="Иммунопрофилактика от коронавирусной инфекции",
    name_kk="Коронавирустық инфекцияға қарсы иммунопрофилактика",
)


def _status(code: str, message: str) -> models.Status:
    return models.Status(code=code, message=message)


class SearchService(Servicer):
    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        if request.iin is not None and len(request.iin.strip()) != 12:
            return models.MedicalExemptionSearchResponse(
                status=_status("INVALID_REQUEST", "ИИН должен состоять из 12 цифр: iin")
            )
        if request.number == "boom":
            raise RuntimeError("a bug with a secret detail")
        if request.number == "refuse":
            raise ServiceFault("refused on purpose", error_code="REFUSED")
        if request.number != "01085":
            return models.MedicalExemptionSearchResponse(
                status=_status("NOT_FOUND", "Медицинский отвод по заданным параметрам не найден")
            )
        return models.MedicalExemptionSearchResponse(
            status=_status("SUCCESS", "The request has been processed"),
            medical_exemption_list=[
                models.FoundMedicalExemption(
                    number="01085",
                    medical_procedure=PROCEDURE,
                    status="UP_TO_DATE",
                    certificate=CERTIFICATE,
                    printable_certificate=CERTIFICATE + b"print",
                )
            ],
        )


app = make_app(
    SearchService(),
    ServerConfig(
        senders={
            SENDER_ID: os.environ.get("E2E_PASSWORD_HASH") or hash_password(PASSWORD, n=2**10),
            # the sender of the original's sample request, so that it can be posted verbatim
            "sender": os.environ.get("E2E_SAMPLE_HASH") or hash_password("password", n=2**10),
        },
        max_body_bytes=64 * 1024,
        max_message_age=None,  # the original's sample (dated 2021) is posted verbatim
    ),
)
