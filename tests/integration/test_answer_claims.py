"""An automatic answer's record tells this attempt's own write from an earlier attempt's:
when DynamoDB applied the put but its answer was lost (a read timeout), the SDK's retry meets
the item it wrote, and the answer must still go out, once (issue 15, the fault matrix's
read-timeout rows)."""

from __future__ import annotations

from datetime import UTC, datetime

from reach.data.messages import MessageRepository
from reach.domain.message import Message, MessageKind, MessageStatus, Thread

AT = datetime(2026, 12, 5, 15, tzinfo=UTC)


def _answer(message_id: str = "msg_answer") -> Message:
    return Message(
        message_id=message_id,
        kind=MessageKind.ANSWER,
        phone="+12125550100",
        body="Thanks, see you then.",
        status=MessageStatus.SENDING,
        created_at=AT,
        updated_at=AT,
    )


def test_a_retried_put_that_meets_its_own_write_is_still_this_attempts(aws) -> None:
    messages = MessageRepository()
    thread = Thread("t-claims", "a-1", "+12125550100")

    # given the first try of an attempt's put, applied (its answer lost on the way back)
    assert messages.claim(thread, _answer(), "attempt-1") is None

    # when the SDK's retry of the same put meets the item, then it is still this attempt's
    assert messages.claim(thread, _answer(), "attempt-1") is None
    # and another attempt (a redelivered reply, a concurrent invocation) is told it is stored
    stored = messages.claim(thread, _answer(), "attempt-2")
    assert stored is not None
    assert (stored.message_id, stored.status) == ("msg_answer", MessageStatus.SENDING)
    assert messages.add(thread, _answer()) is False


def test_an_answer_stored_without_a_claim_belongs_to_no_later_attempt(aws) -> None:
    messages = MessageRepository()
    thread = Thread("t-claims", "a-2", "+12125550100")

    assert messages.add(thread, _answer("msg_old")) is True

    stored = messages.claim(thread, _answer("msg_old"), "attempt-1")
    assert stored is not None
    assert stored.message_id == "msg_old"
