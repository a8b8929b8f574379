"""CallbackService over recording fakes: what the callback routes get, and when a close
counts as this call's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from reach.data.callbacks import CallbackPage
from reach.domain.callbacks import Callback
from reach.domain.errors import Conflict, NotFound
from reach.services.callbacks import CallbackService

REQUESTED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = REQUESTED + timedelta(hours=1)
OPEN = Callback("ten_1", "cb_1", "+12025550187", None, "open", REQUESTED, REQUESTED, "in-1")


class Conversations:
    """The callback part of the conversation repository, in memory."""

    def __init__(self, *callbacks: Callback) -> None:
        self.stored = {c.callback_id: c for c in callbacks}

    def callbacks(self, tenant_id: str, status: str, limit: int, token: str | None) -> Any:
        items = [c for c in self.stored.values() if c.status == status]
        return CallbackPage(items[:limit], None)

    def get_callback(self, tenant_id: str, callback_id: str) -> Callback:
        if callback_id not in self.stored:
            raise NotFound(f"callback {callback_id} not found")
        return self.stored[callback_id]

    def close_callback(
        self, tenant_id: str, callback_id: str, outcome: str, note: str | None, now: datetime
    ) -> Callback:
        current = self.get_callback(tenant_id, callback_id)
        if current.status == "open":
            current = replace(current, status="closed", closed_at=now, outcome=outcome, note=note)
            self.stored[callback_id] = current
        return current


def service(conversations: Conversations) -> CallbackService:
    tenants = SimpleNamespace(get=lambda _tenant: SimpleNamespace(timezone="America/Chicago"))
    ticks = iter(NOW + timedelta(seconds=n) for n in range(100))
    return CallbackService(conversations, tenants, lambda: next(ticks))  # type: ignore[arg-type]


def test_a_listing_carries_the_tenants_zone_for_display():
    listed = service(Conversations(OPEN)).list("ten_1", "open", 50, None)

    assert listed.page.items == [OPEN]
    assert listed.zone == "America/Chicago"


def test_closing_an_open_request_is_this_calls_close_and_closing_again_is_not():
    callbacks = service(Conversations(OPEN))

    first = callbacks.close("ten_1", "cb_1", "reached", None)
    again = callbacks.close("ten_1", "cb_1", "reached", None)

    assert (first.closed_now, first.callback.closed_at, first.callback.outcome) == (
        True,
        NOW,
        "reached",
    )
    assert (again.closed_now, again.callback.outcome) == (False, "reached")


def test_closing_again_with_another_outcome_is_a_conflict_and_the_first_stands():
    # Issue #17 item 2: a repeat with other details says so instead of dropping them
    callbacks = service(Conversations(OPEN))
    callbacks.close("ten_1", "cb_1", "reached", None)

    with pytest.raises(Conflict) as refused:
        callbacks.close("ten_1", "cb_1", "no_answer", "tried twice")

    assert refused.value.field == "outcome"
    assert callbacks.get("ten_1", "cb_1").callback.outcome == "reached"


def test_an_unknown_request_is_not_found():
    with pytest.raises(NotFound):
        service(Conversations()).get("ten_1", "cb_2")
