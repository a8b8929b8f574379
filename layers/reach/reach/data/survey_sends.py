"""Survey sends: one ``POST /surveys/{id}/sends`` each, in the survey's partition:

  ``<tenant>#survey#<sid> / send#<send_id>``   the send (``SurveySendItem``): what it targets,
                        where its fan-out has got to (member segment and the page's last key)
                        and its counts; while a list send is still starting responses it sits
                        in the sparse ``lookup`` index under ``survey-sends``, by creation,
                        where the dispatcher's fan-out step finds it with one key-bound Query

The cursor and the counts move together, conditioned on the version read: a page of members
is counted once however often it is read again (a crash, a second dispatcher), and the
responses it starts are idempotent by their id (``send_id`` + phone), so nobody is added twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from reach.data.surveys import survey_pk
from reach.data.tables import AppointmentsTableItem, LookupIndex
from reach.data.transactions import condition_failed
from reach.domain.errors import Conflict, NotFound

#: The ``lookup`` index key under which list sends wait for the fan-out step.
SENDS_KEY = "survey-sends"
STARTING = "starting"
DONE = "done"


class SurveySendItem(AppointmentsTableItem, discriminator="survey_send"):
    """One send of a survey (``appointment_id`` holds the survey id)."""

    survey_id = UnicodeAttribute()
    send_id = UnicodeAttribute()
    list_id = UnicodeAttribute(null=True)
    target_appointment_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    #: The member segment the fan-out is in, and the last key read in it (JSON; None: its
    #: start).
    segment = NumberAttribute(default=0)
    cursor = UnicodeAttribute(null=True)
    #: Responses this send started (each member once; a response found already is one it
    #: started before a crash: its id is this send's own).
    responses = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


@dataclass(frozen=True)
class SurveySend:
    tenant_id: str
    survey_id: str
    send_id: str
    created_at: datetime
    status: str = STARTING
    list_id: str | None = None
    appointment_id: str | None = None
    finished_at: datetime | None = None
    segment: int = 0
    cursor: dict[str, Any] | None = None
    responses: int = 0
    version: int = 0

    @property
    def done(self) -> bool:
        return self.status == DONE


def send_sk(send_id: str) -> str:
    return f"send#{send_id}"


class SurveySends:
    def create(self, send: SurveySend) -> SurveySend:
        """Store a new send: a list send in the fan-out's index, a finished one not."""
        item = _item(send)
        try:
            item.save(condition=SurveySendItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict(f"survey send {send.send_id} exists already") from error
            raise
        return send

    def get(self, tenant_id: str, survey_id: str, send_id: str) -> SurveySend:
        try:
            item = SurveySendItem.get(
                survey_pk(tenant_id, survey_id), send_sk(send_id), consistent_read=True
            )
        except DoesNotExist:
            raise NotFound(f"survey send {send_id} not found") from None
        return _send(item)

    def starting(self, limit: int) -> Iterator[SurveySend]:
        """List sends still starting responses, oldest first (one key-bound Query)."""
        for item in SurveySendItem.lookup.query(SENDS_KEY, limit=limit, page_size=limit):
            if isinstance(item, SurveySendItem):
                yield _send(item)

    def advance(self, before: SurveySend, after: SurveySend) -> bool:
        """Move the cursor and counts from ``before`` (as read) to ``after``; a finished send
        leaves the index. False: another dispatcher moved it first."""
        actions: list[Action] = [
            SurveySendItem.segment.set(after.segment),
            SurveySendItem.responses.set(after.responses),
            SurveySendItem.status.set(after.status),
            SurveySendItem.version.set(before.version + 1),
            (
                SurveySendItem.cursor.remove()
                if after.cursor is None
                else SurveySendItem.cursor.set(json.dumps(after.cursor))
            ),
        ]
        if after.done:
            actions += [
                SurveySendItem.finished_at.set(after.finished_at or after.created_at),
                SurveySendItem.lookup_key.remove(),
                SurveySendItem.lookup_at.remove(),
            ]
        item = SurveySendItem(
            pk=survey_pk(before.tenant_id, before.survey_id), sk=send_sk(before.send_id)
        )
        try:
            item.update(actions=actions, condition=SurveySendItem.version == before.version)
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True


def _item(send: SurveySend) -> SurveySendItem:
    return SurveySendItem(
        pk=survey_pk(send.tenant_id, send.survey_id),
        sk=send_sk(send.send_id),
        tenant_id=send.tenant_id,
        appointment_id=send.survey_id,
        survey_id=send.survey_id,
        send_id=send.send_id,
        list_id=send.list_id,
        target_appointment_id=send.appointment_id,
        status=send.status,
        created_at=send.created_at,
        finished_at=send.finished_at,
        segment=send.segment,
        cursor=None if send.cursor is None else json.dumps(send.cursor),
        responses=send.responses,
        version=send.version,
        lookup_key=None if send.done else SENDS_KEY,
        lookup_at=None if send.done else send.created_at,
    )


def _send(item: SurveySendItem) -> SurveySend:
    return SurveySend(
        tenant_id=item.tenant_id,
        survey_id=item.survey_id,
        send_id=item.send_id,
        created_at=item.created_at,
        status=item.status,
        list_id=item.list_id,
        appointment_id=item.target_appointment_id,
        finished_at=item.finished_at,
        segment=int(item.segment),
        cursor=json.loads(item.cursor) if item.cursor else None,
        responses=int(item.responses),
        version=int(item.version),
    )
