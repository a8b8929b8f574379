"""Erasing a person's survey answers (``DELETE /contacts/{phone}``), without a Scan: the
phone's survey lane lists every response it ever had (``LaneItem.history``).

An erased response keeps its survey, its state and its times, so the survey's dispositions
and response rate stay as they were; its answers and its phone go. The answers are replaced
by one marker (``ERASED_ANSWERS``, under a key no question id can take) when there were any,
so a response that had answered still reads as having answered (started, partial) while no
question counts an answer from it any more. The phone becomes ``ERASED_PHONE``.
"""

from __future__ import annotations

import json

from pynamodb.exceptions import UpdateError

from reach.data.survey_items import ResponseItem, response_pk, response_sk
from reach.data.survey_responses import SurveyResponses, parse_ref
from reach.data.transactions import condition_failed

#: The phone of an erased response (not a number: nothing can be sent to it).
ERASED_PHONE = "erased"
#: The answers of an erased response that had answered: one entry under a key question ids
#: can't take (they are letters, digits, ``_`` and ``-``), so no question counts it.
ERASED_ANSWERS = "#erased"


def erased_answers(had_answers: bool, at: str) -> str:
    if not had_answers:
        return "{}"
    return json.dumps({ERASED_ANSWERS: {"value": None, "at": at}})


def erase_survey_answers(responses: SurveyResponses, tenant_id: str, phone: str) -> int:
    """Erase the answers and the phone of each of the phone's responses with the tenant;
    how many it erased (0 on a repeat: the write holds only while the phone is still there)."""
    erased = 0
    for ref in responses.lane(tenant_id, phone).history:
        survey_id, response_id = parse_ref(ref)
        response = responses.get(tenant_id, survey_id, response_id)
        if response is None or response.phone != phone:
            continue
        item = ResponseItem(pk=response_pk(tenant_id, survey_id), sk=response_sk(response_id))
        try:
            item.update(
                actions=[
                    ResponseItem.answers.set(
                        erased_answers(bool(response.answers), response.created_at.isoformat())
                    ),
                    ResponseItem.phone.set(ERASED_PHONE),
                    # A reply or the sweep holding the old version must read it again,
                    # or its write would put the answers back.
                    ResponseItem.version.add(1),
                ],
                condition=ResponseItem.phone == phone,
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            continue
        erased += 1
    return erased
