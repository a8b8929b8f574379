"""List imports: one record per import, holding its status and, once done, its report.

  ``<tenant>#import#<id> / import``   (``ImportItem``; ``appointment_id`` is the list id)

An uploaded file is processed by whichever importer claims the record first (``awaiting ->
processing``, a conditional write), so S3 delivering its event twice runs the file once. An
importer that dies mid-file leaves the record ``processing``; after ``STALE_AFTER`` another
delivery may take it over, and rerunning the rows is harmless (members already added count
as duplicates).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from reach.data.tables import IMPORT_SK, ImportItem, import_pk
from reach.data.transactions import condition_failed
from reach.domain.errors import NotFound
from reach.domain.imports import ImportReport, Rejection

#: How long a ``processing`` import may go without finishing before another run may take it.
STALE_AFTER = timedelta(minutes=20)


class ImportStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    PROCESSING = "processing"
    COMPLETED = "completed"
    #: The file as a whole could not be read (no header, not UTF-8...): ``error`` says why.
    FAILED = "failed"


@dataclass(frozen=True)
class ImportRecord:
    tenant_id: str
    import_id: str
    list_id: str
    status: ImportStatus
    source: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    report: ImportReport | None = None
    #: Why a failed import read no rows: ``{"field": ..., "message": ...}``.
    error: dict[str, str] | None = None


class ImportStore:
    def create(
        self, tenant_id: str, list_id: str, import_id: str, source: str, at: datetime
    ) -> ImportRecord:
        status = ImportStatus.AWAITING_UPLOAD if source == "upload" else ImportStatus.PROCESSING
        item = ImportItem(
            pk=import_pk(tenant_id, import_id),
            sk=IMPORT_SK,
            tenant_id=tenant_id,
            appointment_id=list_id,
            import_id=import_id,
            list_id=list_id,
            status=status.value,
            source=source,
            created_at=at,
            updated_at=at,
        )
        item.save(condition=ImportItem.pk.does_not_exist())
        return _record(item)

    def get(self, tenant_id: str, list_id: str, import_id: str) -> ImportRecord:
        try:
            item = ImportItem.get(import_pk(tenant_id, import_id), IMPORT_SK, consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"import {import_id} not found") from None
        if item.list_id != list_id:
            raise NotFound(f"import {import_id} not found")
        return _record(item)

    def claim(self, tenant_id: str, import_id: str, at: datetime) -> ImportRecord | None:
        """Take an uploaded import for processing; None when another run has it (or had it
        and finished)."""
        item = ImportItem(pk=import_pk(tenant_id, import_id), sk=IMPORT_SK)
        try:
            item.update(
                actions=[
                    ImportItem.status.set(ImportStatus.PROCESSING.value),
                    ImportItem.updated_at.set(at),
                ],
                condition=(ImportItem.status == ImportStatus.AWAITING_UPLOAD.value)
                | (
                    (ImportItem.status == ImportStatus.PROCESSING.value)
                    & (ImportItem.updated_at < at - STALE_AFTER)
                ),
            )
        except UpdateError as error:
            if condition_failed(error):
                return None
            raise
        return _record(item)

    def finish(
        self,
        tenant_id: str,
        import_id: str,
        at: datetime,
        report: ImportReport | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        status = ImportStatus.FAILED if error is not None else ImportStatus.COMPLETED
        body: dict[str, Any] = {"error": error} if error is not None else {}
        if report is not None:
            body["report"] = _report_json(report)
        ImportItem(pk=import_pk(tenant_id, import_id), sk=IMPORT_SK).update(
            actions=[
                ImportItem.status.set(status.value),
                ImportItem.updated_at.set(at),
                ImportItem.finished_at.set(at),
                ImportItem.report.set(json.dumps(body, separators=(",", ":"))),
            ],
            condition=ImportItem.pk.exists(),
        )


def _report_json(report: ImportReport | None) -> dict[str, Any]:
    report = report or ImportReport()
    return {
        "rows": report.rows,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "pending_confirmation": report.pending_confirmation,
        "rejected_count": report.rejected_count,
        "rejected": [asdict(rejection) for rejection in report.rejected],
    }


def _record(item: ImportItem) -> ImportRecord:
    body: dict[str, Any] = json.loads(item.report) if item.report else {}
    stored = body.get("report")
    report = None
    if stored is not None:
        report = ImportReport(
            accepted=stored["accepted"],
            duplicates=stored["duplicates"],
            pending_confirmation=stored["pending_confirmation"],
            rejected_count=stored["rejected_count"],
            rejected=[Rejection(**rejection) for rejection in stored["rejected"]],
            rows=stored["rows"],
        )
    return ImportRecord(
        tenant_id=item.tenant_id,
        import_id=item.import_id,
        list_id=item.list_id,
        status=ImportStatus(item.status),
        source=item.source,
        created_at=item.created_at,
        updated_at=item.updated_at,
        finished_at=item.finished_at,
        report=report,
        error=body.get("error"),
    )
