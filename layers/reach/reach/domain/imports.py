"""Reading a list import (CSV): each row becomes a member to add, or a refusal that says why.

No consent is ever invented: a row without a consent source, or with a source the list's
purpose does not accept, is refused, never added on a default. Refusals name the row (its
line in the file, the header being line 1) and the column, so the tenant can fix the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reach.domain.errors import InvalidInput
from reach.domain.lists import ConsentSource, MemberConsent, OptInList
from reach.domain.phones import textable_e164
from reach.domain.zones import zone_name

#: The columns a file must have; the others are optional. Any order.
REQUIRED_COLUMNS = ("phone", "consent_source", "consent_at")
OPTIONAL_COLUMNS = ("first_name", "timezone", "evidence")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Refusals kept in a report with their row; past this only the count grows, so a file of a
#: million bad rows leaves a report that still fits one item.
MAX_REJECTIONS_LISTED = 500

#: A longer line is not a member's row (and must not fill the importer's memory).
MAX_LINE_BYTES = 16 * 1024

_MAX_FIRST_NAME = 50
_MAX_EVIDENCE = 500


@dataclass(frozen=True)
class Rejection:
    """A refused row: its line in the file, the column at fault and why."""

    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class ImportRow:
    """A row that may be added: the member and the consent it came with."""

    row: int
    phone: str
    consent: MemberConsent
    first_name: str | None
    timezone: str | None


@dataclass
class ImportReport:
    """What an import did, row by row counted."""

    accepted: int = 0
    duplicates: int = 0
    pending_confirmation: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rows: int = 0

    def reject(self, rejection: Rejection) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTIONS_LISTED:
            self.rejected.append(rejection)

    @property
    def rejected_unlisted(self) -> int:
        """Refusals counted but not listed (past ``MAX_REJECTIONS_LISTED``)."""
        return self.rejected_count - len(self.rejected)


def check_header(names: Iterable[str] | None) -> tuple[str, ...]:
    """The file's columns, or a refusal naming what is wrong with the header."""
    if names is None:
        raise InvalidInput("body", "is empty: expected a header line " + ",".join(COLUMNS))
    columns = tuple(name.strip().lower() for name in names)
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"header.{unknown[0] or '(empty)'}",
            "is not a column this import reads; the columns are " + ", ".join(COLUMNS),
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise InvalidInput(f"header.{repeated[0]}", "is given twice")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidInput(f"header.{missing[0]}", "is required")
    return columns


def read_rows(
    records: Iterable[Mapping[str | None, str | list[str] | None]],
    plist: OptInList,
    *,
    default_region: str | None,
    now: datetime,
    first_line: int = 2,
) -> Iterator[ImportRow | Rejection]:
    """Each record (a csv.DictReader row, keyed by the lower-cased header) as a row to add
    or a refusal; lazily, so a file of any size is read a row at a time."""
    for line, record in enumerate(records, start=first_line):
        try:
            yield _row(line, record, plist, default_region, now)
        except InvalidInput as refused:
            yield Rejection(line, refused.field, refused.reason)


def _row(
    line: int,
    record: Mapping[str | None, str | list[str] | None],
    plist: OptInList,
    default_region: str | None,
    now: datetime,
) -> ImportRow:
    if record.get(None):
        raise InvalidInput("row", "has more values than the header has columns")
    value = {name: _cell(record, name) for name in COLUMNS}
    if not value["phone"]:
        raise InvalidInput("phone", "is empty")
    phone = textable_e164(value["phone"], default_region=default_region)
    source = value["consent_source"]
    if not source:
        raise InvalidInput("consent_source", "is empty: a member is never added without consent")
    try:
        consent_source = ConsentSource(source.lower())
    except ValueError:
        raise InvalidInput(
            "consent_source",
            "must be one of " + ", ".join(s.value for s in _IMPORTABLE_SOURCES),
        ) from None
    if consent_source not in _IMPORTABLE_SOURCES:
        raise InvalidInput("consent_source", f"'{source}' is not a source an import can carry")
    obtained_at = _moment(value["consent_at"])
    if obtained_at > now:
        raise InvalidInput("consent_at", "is in the future: consent is recorded once given")
    consent = MemberConsent(consent_source, obtained_at, evidence=value["evidence"] or None)
    plist.check_consent(consent, field="consent_source")
    if value["evidence"] and len(value["evidence"]) > _MAX_EVIDENCE:
        raise InvalidInput("evidence", f"is longer than {_MAX_EVIDENCE} characters")
    first_name = value["first_name"] or None
    if first_name and len(first_name) > _MAX_FIRST_NAME:
        raise InvalidInput("first_name", f"is longer than {_MAX_FIRST_NAME} characters")
    timezone = zone_name(value["timezone"]) if value["timezone"] else None
    return ImportRow(line, phone, consent, first_name, timezone)


#: A row's consent is what the tenant collected: a YES or an import are not sources of it.
_IMPORTABLE_SOURCES = (
    ConsentSource.WEB_FORM,
    ConsentSource.PAPER_FORM,
    ConsentSource.KEYWORD,
    ConsentSource.VERBAL,
)


def _cell(record: Mapping[str | None, str | list[str] | None], name: str) -> str:
    value = record.get(name)
    return value.strip() if isinstance(value, str) else ""


def _moment(text: str) -> datetime:
    """``consent_at``: an ISO 8601 time with its offset (when consent was given is a fact
    about a moment; a time without a zone could be any of 24 hours)."""
    if not text:
        raise InvalidInput("consent_at", "is empty: when was consent given?")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "consent_at", f"'{text}' is not an ISO 8601 time, e.g. 2026-11-02T14:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput("consent_at", f"'{text}' has no offset, e.g. Z or -05:00")
    return moment


def decoded_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines (each with its line end, as ``csv`` wants them) of a UTF-8 file read in
    chunks, a BOM dropped; decoded as it streams, so no file is ever held whole. Lines end
    at "\n" only (a "\r\n" keeps its "\r" for ``csv`` to drop), so a character such as
    U+2028 inside a field stays in it. A line that is not UTF-8 raises InvalidInput naming
    it; the lines before it have been read. (A "\n" byte is never part of a multi-byte
    UTF-8 character, so splitting the bytes first is safe.)"""
    pending = b""
    line = 0
    for chunk in chunks:
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            line += 1
            yield _decoded(raw + b"\n", line)
        if len(pending) > MAX_LINE_BYTES:
            raise InvalidInput("body", f"line {line + 1} is longer than {MAX_LINE_BYTES} bytes")
    if pending:
        yield _decoded(pending, line + 1)


def _decoded(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body", f"is not UTF-8 text (line {line})") from None
