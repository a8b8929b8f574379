"""HELP names the tenant's lists (issue #13) within the carrier rules and two parts."""

from __future__ import annotations

import pytest

from reach.domain.conversation_texts import ReplyContext, ReplyKind, render_reply
from reach.domain.segments import SmsEncoding, count_segments

ORG_40 = "Northwest Riverside Family Health Clinic"
PHONE = "+12025550143"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("lists", [1, 2, 5, 12])
def test_help_names_as_many_lists_as_fit_and_keeps_the_disclosures_whole(language, lists):
    programs = tuple((f"Neighbourhood pantry alerts {n}", f"WORD{n}") for n in range(lists))

    text = render_reply(
        ReplyKind.HELP, ReplyContext(ORG_40, PHONE, language=language, programs=programs)
    )

    count = count_segments(text)
    assert count.encoding is SmsEncoding.GSM7
    assert count.parts <= 2
    assert ORG_40 in text
    assert "(WORD0)" in text
    assert "STOP" in text
    # The lists left out are counted
    assert (" more." in text or " mas." in text) == (f"(WORD{lists - 1})" not in text)


def test_a_list_name_that_is_not_gsm7_is_cleaned_and_never_forces_ucs2():
    text = render_reply(
        ReplyKind.HELP, ReplyContext("Riverside", PHONE, programs=(("Alertas 🥫", "ALERTAS"),))
    )

    assert "Alertas (ALERTAS)" in text
    assert count_segments(text).encoding is SmsEncoding.GSM7


def test_programs_change_no_other_answer():
    plain = ReplyContext("Riverside", PHONE)
    with_lists = ReplyContext("Riverside", PHONE, programs=(("Pantry alerts", "ALERTS"),))

    for kind in (ReplyKind.OPTED_OUT, ReplyKind.OPTED_IN, ReplyKind.UNKNOWN):
        assert render_reply(kind, with_lists) == render_reply(kind, plain)
