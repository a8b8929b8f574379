"""What a field-service notice says, in each language (issue 12, item 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.notices import (
    NoticeText,
    NoticeType,
    checked_eta,
    checked_link,
    checked_parts,
    render_notice,
)
from reach.domain.segments import count_segments

CHICAGO = ZoneInfo("America/Chicago")
OPENS = datetime(2027, 3, 15, 14, 0, tzinfo=UTC)  # 9 AM in Chicago
ETA = datetime(2027, 3, 15, 15, 40, tzinfo=UTC)  # 10:40 AM in Chicago


def text(notice_type=NoticeType.ON_THE_WAY, language="en", link=None, **options):
    fields = {
        "language": language,
        "zone": CHICAGO,
        "org_name": "Hilltop Cable",
        "technician_name": "Luis",
        "starts_at": OPENS,
        "window_ends_at": OPENS + timedelta(hours=4),
        **options,
    }
    return render_notice(NoticeText(notice_type, ETA, link), **fields)


def test_an_on_the_way_notice_says_the_technician_the_eta_and_the_window_in_local_time():
    assert text() == (
        "Hilltop Cable: your technician Luis is on the way, arriving around 10:40 AM. "
        "Your window: between 9 AM and 1 PM. Reply STOP to opt out."
    )


def test_a_delayed_notice_says_the_new_time_and_fits_one_part_without_a_window():
    body = text(NoticeType.DELAYED, window_ends_at=None, technician_name=None)

    assert body == (
        "Hilltop Cable: sorry, your technician is running late. New arrival time: around "
        "10:40 AM. Reply STOP to opt out."
    )
    assert count_segments(body).parts == 1


@pytest.mark.parametrize(
    ("language", "words"),
    [("es", ["va en camino", "10:40", "entre las"]), ("ar", ["في الطريق", "10:40", "بين"])],
)
def test_a_notice_reads_in_the_visits_language(language, words):
    body = text(language=language)

    assert all(word in body for word in words), body
    assert "STOP" in body


@pytest.mark.parametrize(
    "link",
    ["http://t.example/1", "javascript:alert(1)", "https://", "https://t.example/a b", "ftp://x"],
)
def test_only_an_https_link_with_a_host_is_taken(link):
    with pytest.raises(InvalidInput) as refused:
        checked_link(link)
    assert refused.value.field == "link"


def test_a_text_longer_than_three_parts_is_refused_naming_the_link():
    body = text(language="ar", link="https://t.example/" + "x" * 150)

    with pytest.raises(InvalidInput) as refused:
        checked_parts(body)
    assert refused.value.field == "link"


def test_an_eta_needs_an_offset_and_must_lie_within_the_next_twelve_hours():
    now = ETA - timedelta(hours=1)
    for eta in (ETA.replace(tzinfo=None), now, now + timedelta(hours=12, seconds=1)):
        with pytest.raises(InvalidInput) as refused:
            checked_eta(eta, now)
        assert refused.value.field == "eta"
    assert checked_eta(ETA, now) == ETA
