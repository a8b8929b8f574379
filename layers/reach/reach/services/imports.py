"""List imports: a CSV of people the tenant has consent from, added row by row.

Two doors, one process: a CSV body on ``POST /lists/{id}/imports`` runs at once and answers
with the report; a file too big for a request is put at a presigned S3 URL and the importer
function runs it when S3 says it arrived, leaving the same report on the import's record.
Either way the file is read as a stream (a row at a time), every row goes through
``Membership.add`` (so consent rules, double opt-in and the consent history are the same as
for one member added by the API), and repeating an import adds nobody twice: a member
already on the list counts as a duplicate.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.data.imports import ImportRecord, ImportStore
from reach.data.lists import ListRepository
from reach.data.tenants import TenantRepository
from reach.domain.errors import InvalidInput
from reach.domain.imports import (
    ImportReport,
    ImportRow,
    Rejection,
    check_header,
    decoded_lines,
    read_rows,
)
from reach.domain.lists import Member, MemberStatus, OptInList
from reach.domain.phones import region_of
from reach.ports.events import DomainEvent, EventPublisher, EventType
from reach.ports.uploads import UPLOAD_URL_SECONDS, Uploads, import_key, parse_import_key
from reach.services.membership import Joiner, Membership, member_event

#: Events published together (PutEvents takes ten).
_EVENT_BATCH = 10
#: A cell larger than this is not a member's data; it stops the file (csv's own limit is
#: 128 KiB, which would let one row hold most of a Lambda's memory).
_FIELD_LIMIT = 4096


@dataclass(frozen=True)
class UploadTicket:
    record: ImportRecord
    url: str
    expires_at: datetime


class ImportService:
    def __init__(
        self,
        lists: ListRepository,
        imports: ImportStore,
        tenants: TenantRepository,
        events: EventPublisher,
        clock: Clock,
        *,
        uploads: Callable[[], Uploads],
        invite: Callable[[OptInList, Member], object] | None = None,
        new_id: Callable[[], str] = lambda: "imp_" + uuid.uuid4().hex,
        contacts: ContactRepository | None = None,
    ) -> None:
        self._lists = lists
        self._membership = Membership(lists)
        self._imports = imports
        self._tenants = tenants
        self._events = events
        self._clock = clock
        self._uploads = uploads
        #: Sends a new pending member the one "reply YES to join" text (double opt-in).
        self._invite = invite
        self._new_id = new_id
        self._contacts = contacts or ContactRepository()

    def import_csv(self, tenant_id: str, list_id: str, body: bytes) -> ImportRecord:
        """Run a CSV body now. A header that can't be read is refused (422) before anything
        is stored; the report of a file that was read is stored and returned (a file broken
        part way, say by a byte that is not UTF-8, is ``failed`` with the rows before it)."""
        plist = self._lists.get(tenant_id, list_id)
        records = _records(decoded_lines(_chunked(body)))
        import_id = self._new_id()
        self._imports.create(tenant_id, list_id, import_id, "api", self._clock())
        report, error = self._run(plist, import_id, records)
        self._imports.finish(tenant_id, import_id, self._clock(), report, error)
        return self._imports.get(tenant_id, list_id, import_id)

    def start_upload(self, tenant_id: str, list_id: str) -> UploadTicket:
        """An import waiting for its file at a presigned URL."""
        self._lists.get(tenant_id, list_id)  # 404 before any URL is handed out
        import_id = self._new_id()
        now = self._clock()
        record = self._imports.create(tenant_id, list_id, import_id, "upload", now)
        url = self._uploads().upload_url(
            import_key(tenant_id, list_id, import_id), UPLOAD_URL_SECONDS
        )
        return UploadTicket(record, url, now + timedelta(seconds=UPLOAD_URL_SECONDS))

    def process_upload(self, key: str) -> ImportRecord | None:
        """Run the file S3 says arrived at ``key``; None when the key is not an import's or
        another run has it (S3 may say so twice)."""
        named = parse_import_key(key)
        if named is None:
            return None
        tenant_id, list_id, import_id = named
        if self._imports.claim(tenant_id, import_id, self._clock()) is None:
            return None
        plist = self._lists.get(tenant_id, list_id)
        try:
            records = _records(decoded_lines(self._uploads().chunks(key)))
        except InvalidInput as refused:
            unread = {"field": refused.field, "message": refused.reason}
            self._imports.finish(tenant_id, import_id, self._clock(), None, unread)
            return self._imports.get(tenant_id, list_id, import_id)
        report, error = self._run(plist, import_id, records)
        self._imports.finish(tenant_id, import_id, self._clock(), report, error)
        return self._imports.get(tenant_id, list_id, import_id)

    def get(self, tenant_id: str, list_id: str, import_id: str) -> ImportRecord:
        return self._imports.get(tenant_id, list_id, import_id)

    def _run(
        self, plist: OptInList, import_id: str, records: Iterator[dict[str | None, str]]
    ) -> tuple[ImportReport, dict[str, str] | None]:
        """Every row, counted; a whole-file problem (header, encoding) ends it with an error."""
        report = ImportReport()
        tenant = self._tenants.get(plist.tenant_id)
        region = region_of(tenant.sender_number)
        pending_events: list[DomainEvent] = []
        try:
            rows = read_rows(records, plist, default_region=region, now=self._clock())
            for chunk in _in_chunks(rows, _CONTACTS_PER_READ):
                opted_out = self._contacts.opted_out_among(
                    plist.tenant_id, (row.phone for row in chunk if isinstance(row, ImportRow))
                )
                for row in chunk:
                    report.rows += 1
                    refusal = row if isinstance(row, Rejection) else _stopped(row, opted_out)
                    if refusal is not None:
                        report.reject(refusal)
                    else:
                        assert isinstance(row, ImportRow)
                        self._add(plist, tenant.name, import_id, row, report, pending_events)
        except InvalidInput as refused:
            return report, {"field": refused.field, "message": refused.reason}
        except csv.Error as broken:
            line = report.rows + 2
            return report, {"field": "body", "message": f"line {line}: {broken}"}
        finally:
            if pending_events:
                self._events.publish(pending_events)
        return report, None

    def _add(
        self,
        plist: OptInList,
        program: str,
        import_id: str,
        row: ImportRow,
        report: ImportReport,
        pending_events: list[DomainEvent],
    ) -> None:
        """One good row added (or found already there), counted in ``report``."""
        joiner = Joiner(
            row.phone,
            row.consent,
            cause=f"import={import_id}",
            first_name=row.first_name,
            timezone=row.timezone,
        )
        result = self._membership.add(plist, joiner, program, self._clock())
        if not result.changed:
            report.duplicates += 1
        elif result.member.status is MemberStatus.PENDING:
            report.pending_confirmation += 1
            if self._invite is not None:
                self._invite(plist, result.member)
        else:
            report.accepted += 1
            pending_events.append(_joined(result.member, import_id))
            if len(pending_events) == _EVENT_BATCH:
                self._events.publish(pending_events)
                pending_events.clear()


def _stopped(row: ImportRow, opted_out: set[str]) -> Rejection | None:
    """A row for a number that opted out of the tenant (STOP) is refused, whatever its
    consent says: the tenant's record can't outrank the person's STOP, only their own START
    or keyword can (docs/facts.md#help-and-stop). The API's add refuses it too."""
    if row.phone not in opted_out:
        return None
    return Rejection(row.row, "phone", "opted out of your texts (STOP); not added")


def _in_chunks[T](rows: Iterator[T], size: int) -> Iterator[list[T]]:
    """``rows`` ``size`` at a time. A file that turns out broken part-way (a bad line) still
    has the rows before it handled, as one at a time would: the part-chunk comes first,
    then the error."""
    chunk: list[T] = []
    try:
        for row in rows:
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except (InvalidInput, csv.Error):
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


#: Rows whose contacts are read in one batch (a BatchGetItem takes 100 keys).
_CONTACTS_PER_READ = 100


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _records(lines: Iterable[str]) -> Iterator[dict[str | None, str]]:
    """The file's rows keyed by its lower-cased header, which is read and checked now (a
    bad header raises InvalidInput before anything is stored); the rows come lazily."""
    csv.field_size_limit(_FIELD_LIMIT)
    reader = csv.reader(lines, strict=True)
    columns = check_header(next(reader, None))
    return _keyed(reader, columns)


def _keyed(
    reader: Iterator[list[str]], columns: tuple[str, ...]
) -> Iterator[dict[str | None, str]]:
    for values in reader:
        if not values:
            continue  # an empty line is not a row (a line of commas is, and is refused)
        record: dict[str | None, str] = dict(zip(columns, values, strict=False))
        if len(values) > len(columns):
            record[None] = ",".join(values[len(columns) :])
        yield record


def _joined(member: Member, import_id: str) -> DomainEvent:
    return member_event(EventType.LIST_JOINED, member, member.updated_at, {"import_id": import_id})
