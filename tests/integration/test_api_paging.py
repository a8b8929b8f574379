"""Issue 17, item 5: paging tokens are opaque, signed and bound to the tenant and the query;
an appointment's conversation has one order, pages, and can start from the newest."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_api_conversations import _message, in_days

from api_client import Api, refused
from builders import PATIENT
from conftest import load_function
from reach.data.messages import MessageRepository
from reach.data.paging import PageTokens, stored_page_key
from reach.domain.errors import InvalidToken
from reach.domain.message import MessageKind, MessageStatus, Thread


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def _payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    key: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return key


def _with_payload(token: str, key: dict[str, Any]) -> str:
    version, _, mac = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    return f"{version}.{payload}.{mac}"


def _bad_token(status: int, error: dict[str, Any]) -> None:
    refused(status, error, "next_token", code=400)
    assert error["error"] == "invalid_next_token"


@pytest.fixture
def appointments_page(api) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Three bookings in a window, and its first page of one."""
    for days in (3, 4, 5):
        api.book(starts_at=in_days(days))
    window = {"from": [in_days(2)], "to": [in_days(6)]}
    status, page = api.call("GET", "/appointments", query={**window, "limit": ["1"]})
    assert status == 200, page
    return window, page


def test_a_page_token_edited_to_skip_ahead_in_the_same_listing_gets_400(api, appointments_page):
    # given a real token, whose start key is moved to the third booking of the same listing
    window, page = appointments_page
    _, everything = api.call("GET", "/appointments", query=window)
    third = everything["items"][2]
    key = _payload(page["next_token"])
    moved = {**key, "starts_at": {"S": third["starts_at"]}}

    # when the edited token is presented with the very same query
    status, error = api.call(
        "GET",
        "/appointments",
        query={**window, "limit": ["1"], "next_token": [_with_payload(page["next_token"], moved)]},
    )

    # then its signature no longer holds: 400, not a page the API never issued
    _bad_token(status, error)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda t: t[:-1], id="last-character-cut"),
        pytest.param(lambda t: t[: len(t) // 2], id="cut-in-half"),
        pytest.param(lambda t: t + "A", id="one-character-added"),
        pytest.param(lambda t: t.replace(".", "", 1), id="separator-removed"),
        pytest.param(lambda t: t.split(".", 1)[1], id="version-removed"),
    ],
)
def test_a_truncated_or_extended_page_token_gets_400(api, appointments_page, cut):
    window, page = appointments_page

    status, error = api.call(
        "GET", "/appointments", query={**window, "next_token": [cut(page["next_token"])]}
    )

    _bad_token(status, error)


def test_a_page_token_presented_with_other_query_parameters_gets_400(api, appointments_page):
    # given a token from the window [2 days, 6 days]
    window, page = appointments_page

    # when it is presented with a wider window that still holds its start key
    wider = {"from": window["from"], "to": [in_days(8)]}
    status, error = api.call(
        "GET", "/appointments", query={**wider, "next_token": [page["next_token"]]}
    )

    # then it is not a token of that listing
    _bad_token(status, error)


def test_a_page_token_of_one_tenant_gets_400_from_another(api, tenants, appointments_page):
    window, page = appointments_page

    status, error = api.as_tenant(tenants[1]).call(
        "GET", "/appointments", query={**window, "next_token": [page["next_token"]]}
    )

    _bad_token(status, error)


def test_a_page_token_signed_with_another_stacks_key_gets_400(api, appointments_page):
    # given the same start key sealed by another stack, with the same listing's scope
    window, page = appointments_page
    elsewhere = PageTokens(lambda: b"another stack's key".ljust(32, b"."))
    bounds = "\n".join(datetime.fromisoformat(window[n][0]).isoformat() for n in ("from", "to"))
    scope = f"appointments\n{api.tenant_id}\n{bounds}"
    forged = elsewhere.seal(_payload(page["next_token"]), scope)
    assert forged is not None

    status, error = api.call("GET", "/appointments", query={**window, "next_token": [forged]})

    _bad_token(status, error)


def test_the_token_key_is_made_once_per_stack_and_shared_by_every_reader(aws):
    # two cold starts read the same key, made by the first
    first, second = stored_page_key(), stored_page_key()

    assert first == second
    assert len(first) == 32
    token = PageTokens().seal({"pk": {"S": "x"}, "sk": {"S": "message#1"}}, "scope")
    assert token is not None
    assert PageTokens().open(token, "scope", "x", "pk", ("sk",))["sk"] == {"S": "message#1"}
    with pytest.raises(InvalidToken):
        PageTokens().open(token, "another scope", "x", "pk", ("sk",))


# --- the conversation: one order, pages, newest first ---------------------------------------


@pytest.fixture
def conversation(api) -> tuple[str, list[str]]:
    """An appointment with five messages, three of them stored at the very same time."""
    appointment = api.book()
    thread = Thread(api.tenant_id, appointment["id"], PATIENT)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    times = {
        "msg_a": at,
        "msg_c": at + timedelta(minutes=1),
        "msg_b": at + timedelta(minutes=1),
        "msg_d": at + timedelta(minutes=1),
        "msg_e": at + timedelta(minutes=3),
    }
    for message_id, created in times.items():
        stored = MessageRepository().add(
            thread,
            _message(
                message_id, MessageKind.INBOUND, created, status=MessageStatus.RECEIVED, body="ok"
            ),
        )
        assert stored
    return appointment["id"], ["msg_a", "msg_b", "msg_c", "msg_d", "msg_e"]


def _pages(api: Api, appointment_id: str, **query: str) -> list[str]:
    seen: list[str] = []
    token = None
    for _ in range(10):
        params = {"limit": "2", **query, **({"next_token": token} if token else {})}
        status, page = api.call(
            "GET", "/appointments/{id}/messages", params={"id": appointment_id}, query=params
        )
        assert status == 200, page
        seen += [m["id"] for m in page["items"]]
        token = page["next_token"]
        if token is None:
            return seen
    raise AssertionError("the pages never ended")


def test_the_conversation_pages_in_time_order_and_by_id_within_one_time(api, conversation):
    appointment_id, in_order = conversation

    assert _pages(api, appointment_id) == in_order
    assert _pages(api, appointment_id, order="oldest") == in_order


def test_the_conversation_can_start_from_the_newest_message(api, conversation):
    appointment_id, in_order = conversation

    assert _pages(api, appointment_id, order="newest") == in_order[::-1]


def test_a_conversation_token_holds_only_for_its_appointment_and_order(api, tenants, conversation):
    # given the first page's token of the appointment's conversation, oldest first
    appointment_id, _ = conversation
    other = api.book(starts_at=in_days(9))["id"]
    status, page = api.call(
        "GET", "/appointments/{id}/messages", params={"id": appointment_id}, query={"limit": "2"}
    )
    assert status == 200, page
    token = page["next_token"]

    for caller, target, query in (
        (api, appointment_id, {"order": "newest"}),  # the other order
        (api, other, {}),  # another appointment of the tenant
        (api, appointment_id, {"next_token": token[:-2]}),  # cut short
    ):
        # when it is presented elsewhere
        status, error = caller.call(
            "GET",
            "/appointments/{id}/messages",
            params={"id": target},
            query={"next_token": token, **query},
        )

        # then it is refused as a token
        _bad_token(status, error)


def test_an_unknown_message_order_is_refused_naming_it(api, conversation):
    appointment_id, _ = conversation

    status, error = api.call(
        "GET",
        "/appointments/{id}/messages",
        params={"id": appointment_id},
        query={"order": "random"},
    )

    refused(status, error, "order")
