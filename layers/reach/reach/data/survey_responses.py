"""Survey responses, each phone's survey lane, and the texts the dispatcher sends for them
(the layout is in ``reach.data.survey_items``).

Every write that changes a response is conditioned on the version read, so a reply, the
timer sweep and a STOP racing on one response each decide on what is stored, never on a
stale copy. Every write that changes a lane is conditioned on the lane's version, so two
surveys started for one phone at once still go one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.paging import PageTokens
from reach.data.reminders import DueIndex, ReminderKey
from reach.data.survey_items import (
    FIRST_ASK,
    LANE_SK,
    NUDGE_ASK,
    SURVEY_ITEM,
    TIMERS_KEY,
    LaneItem,
    ResponseItem,
    SurveyAskItem,
    ask_sk,
    lane_pk,
    response_pk,
    response_sk,
)
from reach.data.tables import AppointmentsTableItem, appointment_pk
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    cancelled_by,
    condition_failed,
)
from reach.domain.errors import Conflict
from reach.domain.message import MessageStatus
from reach.domain.retention import DEFAULT_RETENTION_DAYS, epoch_seconds, expires_at
from reach.domain.survey_flow import (
    RecordedAnswer,
    ResponseState,
    SurveyResponse,
    response_thread_id,
)

#: How often a lane write is tried again after another write to the same lane won.
LANE_ATTEMPTS = 5


def response_ref(survey_id: str, response_id: str) -> str:
    """How a lane names a response."""
    return f"{survey_id}#{response_id}"


def parse_ref(ref: str) -> tuple[str, str]:
    survey_id, _, response_id = ref.partition("#")
    return survey_id, response_id


@dataclass(frozen=True)
class Lane:
    """One phone's surveys with one tenant, as stored (an empty lane: never surveyed)."""

    tenant_id: str
    phone: str
    active: str | None = None
    waiting: tuple[str, ...] = ()
    last: str | None = None
    history: tuple[str, ...] = ()
    version: int = 0
    exists: bool = False


@dataclass(frozen=True)
class Started:
    """What ``start`` did: the response as stored, and whether this call wrote it (False:
    it existed already, e.g. a repeated trigger for the same appointment)."""

    response: SurveyResponse
    created: bool


@dataclass(frozen=True)
class Finished:
    """What ``finish`` did: whether it wrote the finished response, and the response it
    started next in the lane, if any."""

    written: bool
    promoted: SurveyResponse | None = None


@dataclass(frozen=True)
class ResponsePage:
    items: list[SurveyResponse]
    next_token: str | None


@dataclass
class _Plan:
    """One transaction being built: the items and their parts."""

    puts: list[tuple[AppointmentsTableItem, Condition | None]] = field(default_factory=list)
    updates: list[tuple[AppointmentsTableItem, list[Action], Condition | None]] = field(
        default_factory=list
    )

    def write(self) -> bool:
        """Write it; False when a condition failed or another transaction collided."""
        try:
            with TransactWrite(
                connection=AppointmentsTableItem._get_connection().connection
            ) as transaction:
                for item, condition in self.puts:
                    transaction.save(item, condition=condition)
                for item, actions, condition in self.updates:
                    transaction.update(item, actions=actions, condition=condition)
        except TransactWriteError as error:
            if cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                return False
            raise
        return True


class SurveyResponses:
    """Reads and writes responses, lanes and survey texts."""

    def __init__(self, due_shards: int, *, tokens: PageTokens | None = None) -> None:
        self._due = DueIndex(due_shards)
        self._tokens = tokens or PageTokens()

    # --- reads ------------------------------------------------------------------------------

    def get(self, tenant_id: str, survey_id: str, response_id: str) -> SurveyResponse | None:
        try:
            item = ResponseItem.get(
                response_pk(tenant_id, survey_id), response_sk(response_id), consistent_read=True
            )
        except DoesNotExist:
            return None
        return response_of(item)

    def by_ref(self, tenant_id: str, ref: str) -> SurveyResponse | None:
        return self.get(tenant_id, *parse_ref(ref))

    def lane(self, tenant_id: str, phone: str) -> Lane:
        try:
            item = LaneItem.get(lane_pk(tenant_id, phone), LANE_SK, consistent_read=True)
        except DoesNotExist:
            return Lane(tenant_id, phone)
        return Lane(
            tenant_id=tenant_id,
            phone=phone,
            active=item.active,
            waiting=tuple(item.waiting or ()),
            last=item.last,
            history=tuple(item.history or ()),
            version=int(item.version),
            exists=True,
        )

    def page(
        self, tenant_id: str, survey_id: str, limit: int, next_token: str | None
    ) -> ResponsePage:
        """The survey's responses in id order, ``limit`` at a time (a key-bound Query)."""
        pk = response_pk(tenant_id, survey_id)
        scope = f"survey-responses\n{pk}"
        start = self._tokens.open(next_token, scope, pk, "pk", ("sk",)) if next_token else None
        results = ResponseItem.query(
            pk,
            ResponseItem.sk.startswith("response#"),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )
        items = [response_of(item) for item in results if isinstance(item, ResponseItem)]
        last = results.last_evaluated_key if len(items) == limit else None
        return ResponsePage(items, self._tokens.seal(last, scope))

    def each(
        self, tenant_id: str, survey_id: str, page_size: int = 200
    ) -> Iterator[SurveyResponse]:
        """Every response of the survey, read a page at a time (never all held at once)."""
        for item in ResponseItem.query(
            response_pk(tenant_id, survey_id),
            ResponseItem.sk.startswith("response#"),
            page_size=page_size,
        ):
            if isinstance(item, ResponseItem):
                yield response_of(item)

    def timers(self, now: datetime, limit: int) -> Iterator[SurveyResponse]:
        """Responses whose timer (a nudge, an expiry, a first text to settle) has come by
        ``now``, oldest first: a key-bound Query on the ``lookup`` index."""
        for item in ResponseItem.lookup.query(
            TIMERS_KEY,
            ResponseItem.lookup_at <= now,
            limit=limit,
            page_size=min(limit, 200),
        ):
            if isinstance(item, ResponseItem):
                yield response_of(item)

    # --- writes -----------------------------------------------------------------------------

    def start(
        self,
        response: SurveyResponse,
        now: datetime,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> Started:
        """Write a new response for its phone: its first question due at ``send_after`` (or
        now) when the phone's lane is free, else waiting behind the lane's other surveys.
        Idempotent by response id: a second call finds it and writes nothing. The response,
        answers and all, expires ``retention_days`` (the tenant's) after it was made, through
        the table's TTL (reach.domain.retention)."""
        for _ in range(LANE_ATTEMPTS):
            lane = self.lane(response.tenant_id, response.phone)
            ref = response_ref(response.survey_id, response.response_id)
            free = lane.active is None
            state = ResponseState.QUEUED if free else ResponseState.WAITING
            stored = replace(response, state=state)
            plan = _Plan()
            item = _response_item(stored)
            item.expires_at = epoch_seconds(expires_at(stored.created_at, retention_days))
            plan.puts.append((item, ResponseItem.pk.does_not_exist()))
            # The lists are written whole: the write holds only if the lane is as read.
            lane_actions = [LaneItem.history.set([*lane.history, ref])]
            if free:
                lane_actions.append(LaneItem.active.set(ref))
                due = max(now, stored.send_after)
                plan.puts.append((self._ask(stored, FIRST_ASK, due, now), None))
            else:
                lane_actions.append(LaneItem.waiting.set([*lane.waiting, ref]))
            plan.updates.append(_lane_update(lane, lane_actions))
            if plan.write():
                return Started(stored, created=True)
            # Refused: the response exists already (a repeat), or the lane moved on.
            existing = self.get(response.tenant_id, response.survey_id, response.response_id)
            if existing is not None:
                return Started(existing, created=False)
        raise Conflict(f"the survey lane of {response.response_id} kept changing; try again")

    def save(self, response: SurveyResponse, before: int, timer: datetime | None) -> bool:
        """Store ``response`` (a reply or a sweep moved it on; unfinished) if it is still at
        version ``before``; ``timer``: when the sweep must next look at it."""
        try:
            _response_item(response).update(
                actions=[*_state_actions(response), *_timer_actions(timer)],
                condition=ResponseItem.version == before,
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def nudge(
        self, response: SurveyResponse, before: int, timer: datetime | None, now: datetime
    ) -> bool:
        """Store ``response`` (marked nudged) and write its waiting question's one reminder,
        due now, in one transaction; False if the response moved on since ``before``."""
        plan = _Plan()
        # Each waiting question may have its reminder: an earlier question's, once it is no
        # longer in a sender's hands, is replaced (its stale version would skip it anyway).
        in_flight = SurveyAskItem.status.is_in(
            MessageStatus.QUEUED.value, MessageStatus.SENDING.value
        )
        plan.puts.append(
            (
                self._ask(response, NUDGE_ASK, now, now),
                SurveyAskItem.pk.does_not_exist() | ~in_flight,
            )
        )
        plan.updates.append(
            (
                _response_item(response),
                [*_state_actions(response), *_timer_actions(timer)],
                ResponseItem.version == before,
            )
        )
        return plan.write()

    def finish(self, response: SurveyResponse, before: int, now: datetime) -> Finished:
        """Store a finished ``response`` (still at version ``before``), free its lane, and
        start the next waiting survey of the phone, all in one transaction."""
        ref = response_ref(response.survey_id, response.response_id)
        for _ in range(LANE_ATTEMPTS):
            lane = self.lane(response.tenant_id, response.phone)
            plan = _Plan()
            plan.updates.append(
                (
                    _response_item(response),
                    [*_state_actions(response), *_timer_actions(None)],
                    ResponseItem.version == before,
                )
            )
            promoted = self._next(lane, ref, now, plan)
            if plan.write():
                return Finished(True, promoted)
            current = self.get(response.tenant_id, response.survey_id, response.response_id)
            if current is None or current.version != before:
                return Finished(False)
        raise Conflict(f"the survey lane of {response.response_id} kept changing; try again")

    def _next(self, lane: Lane, ref: str, now: datetime, plan: _Plan) -> SurveyResponse | None:
        """Add to ``plan`` the lane without ``ref``, and the start of the next waiting
        response when ``ref`` was the one being answered; that response, if any."""
        waiting = [other for other in lane.waiting if other != ref]
        actions: list[Action] = [LaneItem.last.set(ref), LaneItem.waiting.set(waiting)]
        promoted: SurveyResponse | None = None
        if lane.active == ref or lane.active is None:
            promoted = self._first_waiting(lane.tenant_id, waiting)
            if promoted is None:
                actions.append(LaneItem.active.remove())
            else:
                before = promoted.version
                promoted = replace(promoted, state=ResponseState.QUEUED, version=before + 1)
                next_ref = response_ref(promoted.survey_id, promoted.response_id)
                actions[1] = LaneItem.waiting.set([other for other in waiting if other != next_ref])
                actions.append(LaneItem.active.set(next_ref))
                plan.updates.append(
                    (
                        _response_item(promoted),
                        _state_actions(promoted),
                        (ResponseItem.version == before)
                        & (ResponseItem.state == ResponseState.WAITING.value),
                    )
                )
                due = max(now, promoted.send_after)
                plan.puts.append((self._ask(promoted, FIRST_ASK, due, now), None))
        plan.updates.append(_lane_update(lane, actions))
        return promoted

    def _first_waiting(self, tenant_id: str, waiting: Sequence[str]) -> SurveyResponse | None:
        for ref in waiting:
            response = self.by_ref(tenant_id, ref)
            if response is not None and response.state is ResponseState.WAITING:
                return response
        return None

    def _ask(
        self, response: SurveyResponse, which: str, due_at: datetime, now: datetime
    ) -> SurveyAskItem:
        """A survey text for the dispatcher: pending in the ``due`` index from ``due_at``."""
        thread = response.thread_id
        key = ReminderKey(response.tenant_id, thread, which, SURVEY_ITEM)
        return SurveyAskItem(
            pk=appointment_pk(response.tenant_id, thread),
            sk=ask_sk(which),
            tenant_id=response.tenant_id,
            appointment_id=thread,
            survey_id=response.survey_id,
            response_id=response.response_id,
            phone=response.phone,
            question_id=response.question_id,
            response_version=response.version,
            created_at=now,
            status=MessageStatus.PENDING.value,
            updated_at=now,
            attempts=0,
            due_shard=self._due.shard_of(key),
            due_at=due_at,
            send_at=due_at,
        )


# --- mapping ------------------------------------------------------------------------------


def _lane_update(
    lane: Lane, actions: Sequence[Action]
) -> tuple[AppointmentsTableItem, list[Action], Condition | None]:
    item = LaneItem(pk=lane_pk(lane.tenant_id, lane.phone), sk=LANE_SK)
    condition = LaneItem.version == lane.version if lane.exists else LaneItem.pk.does_not_exist()
    base: list[Action] = [
        LaneItem.item_type.set(LaneItem),
        LaneItem.tenant_id.set(lane.tenant_id),
        LaneItem.appointment_id.set(f"respondent#{lane.phone}"),
        LaneItem.phone.set(lane.phone),
        LaneItem.version.set(lane.version + 1),
    ]
    return item, [*base, *actions], condition


def _state_actions(response: SurveyResponse) -> list[Action]:
    """What a change of state writes (everything a reply or the sweep may change)."""
    return [
        ResponseItem.state.set(response.state.value),
        ResponseItem.question_id.set(response.question_id),
        ResponseItem.reprompted.set(response.reprompted),
        ResponseItem.answers.set(_answers_json(response)),
        _set_or_remove(ResponseItem.asked_at, response.asked_at),
        ResponseItem.nudged.set(response.nudged),
        ResponseItem.closed_told.set(response.closed_told),
        _set_or_remove(ResponseItem.finished_at, response.finished_at),
        _set_or_remove(ResponseItem.unsent_reason, response.unsent_reason),
        ResponseItem.version.set(response.version),
        _set_or_remove(ResponseItem.last_reply_id, response.last_reply_id),
        _set_or_remove(ResponseItem.last_reply_at, response.last_reply_at),
        _set_or_remove(ResponseItem.last_reply_text, response.last_reply_text),
        _set_or_remove(ResponseItem.last_reply_callback, response.last_reply_callback),
    ]


def _timer_actions(timer: datetime | None) -> list[Action]:
    if timer is None:
        return [ResponseItem.lookup_key.remove(), ResponseItem.lookup_at.remove()]
    return [ResponseItem.lookup_key.set(TIMERS_KEY), ResponseItem.lookup_at.set(timer)]


def _set_or_remove(attribute: Any, value: object) -> Action:
    action: Action = attribute.remove() if value is None else attribute.set(value)
    return action


def _answers_json(response: SurveyResponse) -> str:
    return json.dumps(
        {
            question_id: {
                "value": answer.value,
                "at": answer.at.isoformat(),
                **({"truncated": True} if answer.truncated else {}),
            }
            for question_id, answer in response.answers.items()
        },
        ensure_ascii=False,
    )


def _response_item(response: SurveyResponse) -> ResponseItem:
    return ResponseItem(
        pk=response_pk(response.tenant_id, response.survey_id),
        sk=response_sk(response.response_id),
        tenant_id=response.tenant_id,
        appointment_id=response.survey_id,
        survey_id=response.survey_id,
        response_id=response.response_id,
        phone=response.phone,
        state=response.state.value,
        origin=response.origin,
        created_at=response.created_at,
        send_after=response.send_after,
        question_id=response.question_id,
        reprompted=response.reprompted,
        answers=_answers_json(response),
        asked_at=response.asked_at,
        nudged=response.nudged,
        closed_told=response.closed_told,
        finished_at=response.finished_at,
        unsent_reason=response.unsent_reason,
        version=response.version,
        timezone=response.timezone,
    )


def response_of(item: ResponseItem) -> SurveyResponse:
    raw: dict[str, dict[str, Any]] = json.loads(item.answers or "{}")
    return SurveyResponse(
        tenant_id=item.tenant_id,
        survey_id=item.survey_id,
        response_id=item.response_id,
        phone=item.phone,
        state=ResponseState(item.state),
        origin=item.origin,
        created_at=item.created_at,
        send_after=item.send_after,
        question_id=item.question_id,
        reprompted=bool(item.reprompted),
        answers={
            question_id: RecordedAnswer(
                value=answer["value"],
                at=datetime.fromisoformat(answer["at"]),
                truncated=bool(answer.get("truncated")),
            )
            for question_id, answer in raw.items()
        },
        asked_at=item.asked_at,
        nudged=bool(item.nudged),
        closed_told=bool(item.closed_told),
        finished_at=item.finished_at,
        unsent_reason=item.unsent_reason,
        version=int(item.version),
        first_sent_at=item.first_sent_at,
        first_outcome=item.first_outcome,
        last_reply_id=item.last_reply_id,
        last_reply_at=item.last_reply_at,
        last_reply_text=item.last_reply_text,
        last_reply_callback=item.last_reply_callback,
        timezone=item.timezone,
    )


__all__ = [
    "Finished",
    "Lane",
    "ResponsePage",
    "Started",
    "SurveyResponses",
    "parse_ref",
    "response_of",
    "response_ref",
    "response_thread_id",
]
