"""Bodies of the list import routes (apart from api.schemas: CSV in, reports out)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reach.data.imports import ImportRecord, ImportStatus
from reach.domain.imports import ImportReport


class RejectedRow(BaseModel):
    row: int = Field(description="The row's line in the file; the header is row 1")
    field: str = Field(description="The column at fault (`row` for the row as a whole)")
    reason: str


class ImportReportView(BaseModel):
    rows: int = Field(description="Rows read (not counting the header and empty lines)")
    accepted: int = Field(description="Added to the list as active members")
    duplicates: int = Field(description="Already on the list (or repeated in the file)")
    pending_confirmation: int = Field(
        description="Added as pending: a double opt-in list texts each one to reply YES"
    )
    rejected_count: int
    rejected: list[RejectedRow] = Field(
        description="The refused rows, the first 500; `rejected_count` counts them all"
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportView:
        return cls(
            rows=report.rows,
            accepted=report.accepted,
            duplicates=report.duplicates,
            pending_confirmation=report.pending_confirmation,
            rejected_count=report.rejected_count,
            rejected=[
                RejectedRow(row=r.row, field=r.field, reason=r.reason) for r in report.rejected
            ],
        )


class ImportFailure(BaseModel):
    field: str
    message: str


class ImportView(BaseModel):
    id: str
    list_id: str
    status: ImportStatus = Field(
        description="awaiting_upload, processing, completed, or failed (`error` says why)"
    )
    source: Literal["api", "upload"]
    created_at: datetime
    finished_at: datetime | None
    report: ImportReportView | None
    error: ImportFailure | None

    @classmethod
    def of(cls, record: ImportRecord) -> ImportView:
        return cls(
            id=record.import_id,
            list_id=record.list_id,
            status=record.status,
            source="upload" if record.source == "upload" else "api",
            created_at=record.created_at,
            finished_at=record.finished_at,
            report=ImportReportView.of(record.report) if record.report else None,
            error=ImportFailure(**record.error) if record.error else None,
        )


class UploadTicketView(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    import_: ImportView = Field(alias="import")
    upload_url: str = Field(description="PUT the file here, with the headers below")
    upload_method: Literal["PUT"] = "PUT"
    upload_headers: dict[str, str]
    expires_at: datetime = Field(description="The URL stops working then")
