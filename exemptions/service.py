"""The Medical exemptions search (SPEC §2-§3) on the generated server skeleton."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from xsdata.models.datatype import XmlDateTime

from medexempt.generated import models
from medexempt.generated.server import RequestContext, Servicer

from .records import Criteria, Layout, Record, Status, midnight, today
from .rules import Invalid, read_criteria

FOUND = models.Status(code="SUCCESS", message="The request has been processed")
NOT_FOUND = models.Status(
    code="NOT_FOUND", message="Медицинский отвод по заданным параметрам не найден"
)


class Store(Protocol):
    """What the search needs from storage."""

    def search(self, criteria: Criteria) -> list[Record]: ...

    def citizenship_exists(self, code: str) -> bool: ...


Renderer = Callable[[Record, Layout], bytes]


@dataclass
class SearchService(Servicer):
    """Finds exemptions and answers with their status and, while up to date, their certificates.

    Certificates are not stored: the same record version renders to the same bytes in a few
    milliseconds, so a search writes nothing. A worker keeps the most recently served ones in
    memory, at most `cache_bytes` of PDF (32 MiB: about 460 records' two layouts), keyed by the
    record's version as just read from the database, so a changed record is never answered with
    an old certificate.
    """

    store: Store
    render: Renderer
    clock: Callable[[], date] = today
    cache_bytes: int = 32 * 1024 * 1024
    _cache: OrderedDict[tuple[str, int, str], bytes] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _cached_bytes: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        criteria = read_criteria(request, self.store.citizenship_exists)
        if isinstance(criteria, Invalid):
            return models.MedicalExemptionSearchResponse(
                status=models.Status(code="INVALID_REQUEST", message=criteria.message)
            )
        records = self.store.search(criteria)
        if not records:
            return models.MedicalExemptionSearchResponse(status=NOT_FOUND)
        day = self.clock()
        found = [self._found(record, record.status(day)) for record in records]
        return models.MedicalExemptionSearchResponse(status=FOUND, medical_exemption_list=found)

    def _found(self, record: Record, status: Status) -> models.FoundMedicalExemption:
        up_to_date = status is Status.UP_TO_DATE
        end = record.end_date
        return models.FoundMedicalExemption(
            number=record.number,
            medical_procedure=models.Dictionary(
                code=record.procedure.code,
                name_ru=record.procedure.name_ru,
                name_kk=record.procedure.name_kk,
            ),
            status=status.value,
            temporary_contraindication_end_date=None if end is None else _midnight(end),
            revocation_reason=record.revocation_reason if status is Status.REVOKED else None,
            certificate=self.certificate(record, Layout.ELECTRONIC) if up_to_date else None,
            printable_certificate=self.certificate(record, Layout.PRINTABLE)
            if up_to_date
            else None,
        )

    def forget_certificates(self) -> None:
        """Drop the certificates this worker keeps in memory."""
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0

    def certificate(self, record: Record, layout: Layout) -> bytes:
        """The PDF of this record version: from memory, or rendered (and kept, within bounds)."""
        key = (record.number, record.version, layout.value)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        pdf = self.render(record, layout)
        with self._lock:
            if key not in self._cache and len(pdf) <= self.cache_bytes:
                self._cache[key] = pdf
                self._cached_bytes += len(pdf)
                while self._cached_bytes > self.cache_bytes:
                    _, dropped = self._cache.popitem(last=False)
                    self._cached_bytes -= len(dropped)
        return pdf


def _midnight(day: date) -> XmlDateTime:
    """An end date as xs:dateTime: the start of that day in Asia/Almaty, with its offset."""
    return XmlDateTime.from_datetime(midnight(day))
