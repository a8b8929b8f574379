"""List imports: every bad row reported and none added, no consent invented, repeats harmless,
and big files streamed from S3 with the same report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from builders import a_list
from reach.adapters.events_fake import RecordingPublisher
from reach.adapters.uploads_s3 import build_uploads
from reach.data.consent_log import ConsentAction, ConsentLog
from reach.data.imports import ImportStatus, ImportStore
from reach.data.lists import ListRepository
from reach.domain.errors import InvalidInput, NotFound
from reach.domain.imports import MAX_REJECTIONS_LISTED
from reach.domain.lists import ListPurpose, MemberStatus
from reach.domain.models import Tenant
from reach.ports.events import EventType
from reach.ports.uploads import import_key
from reach.services.imports import ImportService
from reach.wiring import Services
from reach_tools.demo_clock import DemoClock

HEADER = "phone,first_name,timezone,consent_source,consent_at,evidence\n"
GOOD = "+12025550111,Ana,America/New_York,web_form,2026-11-02T14:00:00Z,form 17\n"


class MemoryUploads:
    """Files by key, read in small chunks (so a row spans chunks)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def upload_url(self, key: str, expires_in: int) -> str:
        return f"https://uploads.example/{key}?expires={expires_in}"

    def chunks(self, key: str) -> Iterator[bytes]:
        data = self.files[key]
        for start in range(0, len(data), 7):
            yield data[start : start + 7]


@pytest.fixture
def setup(aws: Services, clinic: Tenant, clock: DemoClock) -> Any:
    lists = ListRepository()
    plist = lists.create(replace(a_list(), tenant_id=clinic.tenant_id))
    events = RecordingPublisher()
    uploads = MemoryUploads()
    invited: list[str] = []
    service = ImportService(
        lists,
        ImportStore(),
        aws.tenants,
        events,
        clock,
        uploads=lambda: uploads,
        invite=lambda _plist, member: invited.append(member.phone),
    )
    return service, lists, plist, events, uploads, invited


def run(setup: Any, text: str) -> Any:
    service, _, plist, *_ = setup
    return service.import_csv(plist.tenant_id, plist.list_id, text.encode())


def test_good_rows_are_added_with_their_consent_and_announced(setup: Any) -> None:
    _, lists, plist, events, *_ = setup
    record = run(setup, HEADER + GOOD + "+12025550112,,,paper_form,2026-11-01T09:00:00-05:00,\n")
    assert record.status is ImportStatus.COMPLETED
    assert (record.report.accepted, record.report.rows, record.report.rejected_count) == (2, 2, 0)
    member = lists.member(plist.tenant_id, plist.list_id, "+12025550111")
    assert member is not None
    assert member.status is MemberStatus.ACTIVE
    assert member.first_name == "Ana"
    assert member.consent is not None
    assert member.consent.evidence == "form 17"
    history = ConsentLog().history(plist.tenant_id, "+12025550111")
    assert [(e.action, e.source, e.cause) for e in history] == [
        (ConsentAction.JOINED, "web_form", f"import={record.import_id}")
    ]
    joined = [e for e in events.events if e.type is EventType.LIST_JOINED]
    assert len(joined) == 2
    assert all("+1202" not in str(e.detail()) for e in joined)


def test_every_kind_of_bad_row_is_reported_and_none_is_added(setup: Any) -> None:
    _, lists, plist, *_ = setup
    bad_rows = [
        ("not-a-phone,,,web_form,2026-11-02T14:00:00Z,\n", "phone"),
        ("+12025550113,,,,2026-11-02T14:00:00Z,\n", "consent_source"),  # no consent
        ("+12025550114,,,telepathy,2026-11-02T14:00:00Z,\n", "consent_source"),
        ("+12025550115,,,web_form,yesterday,\n", "consent_at"),  # malformed date
        ("+12025550116,,,web_form,2026-11-02T14:00:00,\n", "consent_at"),  # no offset
        ("+12025550117,,,web_form,2030-01-01T00:00:00Z,\n", "consent_at"),  # future
        ("+12025550118,,Mars/Olympus,web_form,2026-11-02T14:00:00Z,\n", "timezone"),
        ("+442079460000,,,web_form,2026-11-02T14:00:00Z,\n", "phone"),  # a UK landline
        ("+12025550119,,,web_form,2026-11-02T14:00:00Z,,extra\n", "row"),
        ("+12025550120,,,confirmation,2026-11-02T14:00:00Z,\n", "consent_source"),
        (",,,,,\n", "phone"),  # an empty row with its commas
    ]
    record = run(setup, HEADER + GOOD + "".join(row for row, _ in bad_rows))
    report = record.report
    assert (report.accepted, report.rejected_count) == (1, len(bad_rows))
    assert [(r.row, r.field) for r in report.rejected] == [
        (n, field) for n, (_, field) in enumerate(bad_rows, start=3)
    ]
    assert "landline" in report.rejected[7].reason
    assert lists.get(plist.tenant_id, plist.list_id).counts["active"] == 1
    for n in range(13, 21):
        assert lists.member(plist.tenant_id, plist.list_id, f"+120255501{n}") is None


def test_a_marketing_list_refuses_rows_without_written_consent_and_evidence(
    setup: Any, aws: Services
) -> None:
    service, lists, plist, *_ = setup
    marketing = lists.create(
        replace(plist, list_id="deals", keyword="DEALS", purpose=ListPurpose.MARKETING)
    )
    text = (
        HEADER
        + "+12025550111,,,verbal,2026-11-02T14:00:00Z,call notes\n"
        + "+12025550112,,,web_form,2026-11-02T14:00:00Z,\n"
        + "+12025550113,,,web_form,2026-11-02T14:00:00Z,https://x.example/f/1\n"
    )
    record = service.import_csv(marketing.tenant_id, "deals", text.encode())
    assert [(r.row, r.field) for r in record.report.rejected] == [
        (2, "consent_source.source"),
        (3, "consent_source.evidence"),
    ]
    assert record.report.accepted == 1


def test_repeating_an_import_adds_nobody_twice(setup: Any) -> None:
    _, lists, plist, events, *_ = setup
    first = run(setup, HEADER + GOOD + GOOD)  # the same person twice in one file, too
    again = run(setup, HEADER + GOOD)
    assert (first.report.accepted, first.report.duplicates) == (1, 1)
    assert (again.report.accepted, again.report.duplicates) == (0, 1)
    assert lists.get(plist.tenant_id, plist.list_id).counts["active"] == 1
    assert len(ConsentLog().history(plist.tenant_id, "+12025550111")) == 1
    assert len([e for e in events.events if e.type is EventType.LIST_JOINED]) == 1


def test_a_double_opt_in_list_makes_members_pending_and_invites_each_once(setup: Any) -> None:
    service, lists, plist, _, _, invited = setup
    double = lists.create(replace(plist, list_id="dbl", keyword="DBL", double_opt_in=True))
    text = (HEADER + GOOD + GOOD).encode()
    record = service.import_csv(double.tenant_id, "dbl", text)
    assert (record.report.pending_confirmation, record.report.duplicates) == (1, 1)
    assert invited == ["+12025550111"]
    assert lists.get(double.tenant_id, "dbl").counts["pending"] == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "body"),
        ("phone,consent_source\n+12025550111,web_form\n", "header.consent_at"),
        ("phone,consent_source,consent_at,shoe_size\n", "header.shoe_size"),
        ("phone,phone,consent_source,consent_at\n", "header.phone"),
    ],
)
def test_a_header_that_cannot_be_read_is_refused_naming_the_column(
    setup: Any, text: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        run(setup, text)
    assert refused.value.field == field


def test_the_header_may_come_in_any_order_with_a_bom_and_crlf(setup: Any) -> None:
    service, lists, plist, *_ = setup
    text = (
        "\ufeffConsent_At,PHONE,consent_source\r\n2026-11-02T14:00:00Z,(202) 555-0111,keyword\r\n"
    )
    record = service.import_csv(plist.tenant_id, plist.list_id, text.encode())
    assert record.report.accepted == 1
    assert lists.member(plist.tenant_id, plist.list_id, "+12025550111") is not None


def test_a_file_that_stops_being_utf8_fails_with_the_rows_before_it(setup: Any) -> None:
    service, _, plist, *_ = setup
    data = (HEADER + GOOD).encode() + b"+12025550112,Jos\xe9,,web_form,2026-11-02T14:00:00Z,\n"
    record = service.import_csv(plist.tenant_id, plist.list_id, data)
    assert record.status is ImportStatus.FAILED
    assert record.error == {"field": "body", "message": "is not UTF-8 text (line 3)"}
    assert record.report.accepted == 1


def test_a_list_of_another_tenant_is_not_found(setup: Any, aws: Services) -> None:
    service, _, plist, *_ = setup
    with pytest.raises(NotFound):
        service.import_csv("someone-else", plist.list_id, (HEADER + GOOD).encode())


def test_a_report_lists_the_first_refusals_and_counts_the_rest(setup: Any) -> None:
    rows = "".join(
        "nope,,,web_form,2026-11-02T14:00:00Z,\n" for _ in range(MAX_REJECTIONS_LISTED + 3)
    )
    record = run(setup, HEADER + rows)
    assert record.report.rejected_count == MAX_REJECTIONS_LISTED + 3
    assert len(record.report.rejected) == MAX_REJECTIONS_LISTED


def test_an_uploaded_file_is_processed_once_and_leaves_its_report(
    setup: Any, clock: DemoClock
) -> None:
    service, _lists, plist, _, uploads, _ = setup
    ticket = service.start_upload(plist.tenant_id, plist.list_id)
    assert ticket.record.status is ImportStatus.AWAITING_UPLOAD
    key = import_key(plist.tenant_id, plist.list_id, ticket.record.import_id)
    assert key in ticket.url
    uploads.files[key] = (HEADER + GOOD + "bad,,,web_form,2026-11-02T14:00:00Z,\n").encode()
    done = service.process_upload(key)
    assert done is not None
    assert (done.status, done.report.accepted, done.report.rejected_count) == (
        ImportStatus.COMPLETED,
        1,
        1,
    )
    # S3 delivers its event again: the file is not run twice.
    assert service.process_upload(key) is None
    assert service.get(plist.tenant_id, plist.list_id, done.import_id).report == done.report
    # A key that is not an import's is ignored.
    assert service.process_upload("somewhere/else.csv") is None


def test_an_import_abandoned_mid_file_is_taken_over_after_a_while(
    setup: Any, clock: DemoClock
) -> None:
    service, _, plist, _, uploads, _ = setup
    ticket = service.start_upload(plist.tenant_id, plist.list_id)
    key = import_key(plist.tenant_id, plist.list_id, ticket.record.import_id)
    uploads.files[key] = (HEADER + GOOD).encode()
    store = ImportStore()
    assert store.claim(plist.tenant_id, ticket.record.import_id, clock()) is not None
    assert service.process_upload(key) is None  # another run holds it
    clock.advance(timedelta(minutes=21))
    done = service.process_upload(key)
    assert done is not None
    assert done.report.accepted == 1


def test_s3_uploads_stream_a_stored_file(aws: Services) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="imports-test")
    s3.put_object(Bucket="imports-test", Key="imports/t/l/i.csv", Body=b"a,b\n" * 50_000)
    uploads = build_uploads("imports-test", "us-east-1")
    chunks = list(uploads.chunks("imports/t/l/i.csv"))
    assert len(chunks) > 1
    assert b"".join(chunks) == b"a,b\n" * 50_000
    url = uploads.upload_url("imports/t/l/i.csv", 900)
    assert "imports-test" in url
    assert "X-Amz-Expires=900" in url  # signature version 4, valid 15 minutes
    assert "content-type" in url.lower()  # signed for text/csv only
