"""Issue 13, item 5: campaigns through the API: created scheduled with their size and
forecast (or only forecast, dry_run), refused for a text that may not go, followed with their
counts and recipients, paused, resumed and cancelled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_client import Api, refused
from builders import a_list
from conftest import load_function
from reach.data.campaigns import recipients_pk
from reach.data.lists import ListRepository
from reach.data.tables import AppointmentsTableItem, campaign_pk, campaigns_lookup_key
from reach.domain.lists import ConsentSource, MemberConsent, OptInList
from reach.services.membership import Joiner, Membership

PROGRAM = "Riverside Family Clinic"
TEXT = "Hi {first_name}, Riverside Family Clinic: the open day moved to Sat 10am. STOP to end"
#: A Tuesday far ahead, 13:00 UTC: 09:00 in New York, 06:00 in Los Angeles.
SEND_AT = "2099-03-10T13:00:00+00:00"


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


@pytest.fixture
def alerts(api) -> OptInList:
    """The clinic's list, with two members in New York (by their area) and one in Los Angeles
    (by the time zone they gave)."""
    lists = ListRepository()
    plist = lists.create(replace(a_list(), tenant_id=api.tenant_id))
    consent = MemberConsent(ConsentSource.WEB_FORM, datetime(2026, 1, 5, tzinfo=UTC), "form 1")
    membership = Membership(lists)
    for phone, zone in (
        ("+12125550101", None),
        ("+12125550102", None),
        ("+12125550103", "America/Los_Angeles"),
    ):
        joiner = Joiner(phone, consent, f"request_id={phone}", timezone=zone)
        membership.add(plist, joiner, PROGRAM, datetime(2026, 1, 5, tzinfo=UTC))
    return plist


def _create(api: Api, **changes: Any) -> tuple[int, dict[str, Any]]:
    body = {"name": "Open day", "list_id": "alerts", "message": TEXT, "send_at": SEND_AT}
    return api.call("POST", "/campaigns", body={**body, **changes})


def _raw(tenant_id: str, campaign_id: str) -> dict[str, Any]:
    item = AppointmentsTableItem._get_connection().get_item(
        campaign_pk(tenant_id, campaign_id), "campaign"
    )
    found: dict[str, Any] = item["Item"]
    return found


def test_a_campaign_is_created_scheduled_with_its_size_and_forecast(api, alerts):
    status, body = _create(api)

    assert status == 201, body
    assert body["status"] == "scheduled"
    assert (body["parts"], body["encoding"]) == (1, "GSM-7")
    forecast = body["forecast"]
    assert forecast["recipients"] == 3
    assert forecast["held"] == 1
    assert forecast["spills_into_quiet_hours"]
    opens = [(w["opens_at"], w["recipients"]) for w in forecast["windows"]]
    assert opens == [("2099-03-10T13:00:00Z", 2), ("2099-03-10T15:00:00Z", 1)]
    assert forecast["mps"] == 1.0  # the clinic's number: 10DLC
    assert forecast["cost"]["currency"] == "USD"
    # The repo's price table has no confirmed US base price: unpriced, never guessed.
    assert (forecast["cost"]["priced_recipients"], forecast["cost"]["unpriced_recipients"]) == (
        0,
        3,
    )
    assert body["estimated_finish"] == forecast["estimated_finish"] == "2099-03-10T15:00:01Z"
    # it waits in the dispatcher's registry of campaigns to start, by send_at
    raw = _raw(api.tenant_id, body["id"])
    assert raw["lookup_key"]["S"] == campaigns_lookup_key("scheduled")


def test_a_dry_run_answers_the_forecast_and_creates_nothing(api, alerts):
    status, body = api.call(
        "POST",
        "/campaigns",
        query={"dry_run": "true"},
        body={"name": "Open day", "list_id": "alerts", "message": TEXT, "send_at": SEND_AT},
    )

    assert status == 200, body
    assert body["status"] == "dry_run"
    assert body["forecast"]["recipients"] == 3
    assert "id" not in body
    connection = AppointmentsTableItem._get_connection()
    found = connection.connection.client.scan(
        TableName=connection.table_name,
        FilterExpression="#t = :c",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":c": {"S": "campaign"}},
    )
    assert found["Items"] == []


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("Hi {first_name}, the open day moved to Saturday. STOP to end", "must name the program"),
        ("Riverside Family Clinic: your lab results are ready. STOP to end", "health details"),
        ("Riverside Family Clinic " + "x" * 640, "SMS parts"),
        ("Riverside Family Clinic: see you {date}", "only {first_name}"),
    ],
    ids=["no program name", "health details", "over 4 parts", "another field"],
)
def test_a_text_that_may_not_go_is_refused_naming_message(api, alerts, message, words):
    status, error = _create(api, message=message)
    assert words in refused(status, error, "message")


def test_the_program_name_is_found_whatever_its_case_and_spacing(api, alerts):
    status, body = _create(api, message="RIVERSIDE  family clinic: open day Sat. STOP to end")
    assert status == 201, body


def test_a_list_the_tenant_does_not_have_is_refused_naming_list_id(api, alerts):
    status, error = _create(api, list_id="someone-elses")
    assert "no list" in refused(status, error, "list_id")


def test_a_send_at_gone_by_more_than_five_minutes_is_refused(api, alerts):
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    status, error = _create(api, send_at=past)
    assert "past" in refused(status, error, "send_at")


def test_a_send_at_just_gone_starts_now(api, alerts):
    just_now = datetime.now(UTC) - timedelta(minutes=1)
    status, body = _create(api, send_at=just_now.isoformat())
    assert status == 201, body
    assert datetime.fromisoformat(body["send_at"]) >= just_now


def test_another_tenants_campaign_is_not_found(api, alerts, tenants):
    _, created = _create(api)
    other = api.as_tenant(tenants[1])
    for method, path in (("GET", "/campaigns/{id}"), ("POST", "/campaigns/{id}/cancel")):
        status, error = other.call(method, path, params={"id": created["id"]})
        assert status == 404, error
        assert error["error"] == "not_found"


def test_the_campaign_shows_its_counts_summed_over_the_counter_shards(api, alerts):
    _, created = _create(api)
    pk = campaign_pk(api.tenant_id, created["id"])
    _counter(pk, 0, total=2, sent=1, skipped_opted_out=1)
    _counter(pk, 5, total=1, delivered=1, sent=1)

    status, body = api.call("GET", "/campaigns/{id}", params={"id": created["id"]})

    assert status == 200, body
    assert body["counts"] == {
        "total": 3,
        "sent": 2,
        "delivered": 1,
        "undelivered": 0,
        "held": 0,
        "failed": 0,
        "skipped": {"opted_out": 1},
    }


def test_a_new_campaign_counts_zero(api, alerts):
    _, created = _create(api)
    _, body = api.call("GET", "/campaigns/{id}", params={"id": created["id"]})
    assert body["counts"]["total"] == 0
    assert body["counts"]["skipped"] == {}


def test_pause_resume_and_cancel_move_the_campaign_in_and_out_of_the_registry(api, alerts):
    _, created = _create(api)
    ids = {"id": created["id"]}

    status, paused = api.call("POST", "/campaigns/{id}/pause", params=ids)
    assert (status, paused["status"]) == (200, "paused")
    assert "lookup_key" not in _raw(api.tenant_id, created["id"])

    # never started: resumed, it waits for send_at again
    status, resumed = api.call("POST", "/campaigns/{id}/resume", params=ids)
    assert (status, resumed["status"]) == (200, "scheduled")
    assert _raw(api.tenant_id, created["id"])["lookup_key"]["S"] == "campaigns#scheduled"

    status, cancelled = api.call("POST", "/campaigns/{id}/cancel", params=ids)
    assert (status, cancelled["status"]) == (200, "cancelled")
    assert cancelled["finished_at"] is not None
    # filed for the dispatcher to settle (end its held recipients, publish CampaignFinished)
    assert _raw(api.tenant_id, created["id"])["lookup_key"]["S"] == "campaigns#cancelled"


def test_a_paused_campaign_that_had_started_resumes_sending(api, alerts):
    _, created = _create(api)
    _started(api.tenant_id, created["id"])
    api.call("POST", "/campaigns/{id}/pause", params={"id": created["id"]})

    status, resumed = api.call("POST", "/campaigns/{id}/resume", params={"id": created["id"]})

    assert (status, resumed["status"]) == (200, "sending")
    assert _raw(api.tenant_id, created["id"])["lookup_key"]["S"] == "campaigns#sending"


@pytest.mark.parametrize(
    ("first", "then"),
    [("cancel", "resume"), ("cancel", "pause"), ("cancel", "cancel"), (None, "resume")],
)
def test_an_action_its_status_does_not_allow_is_a_409_naming_status(api, alerts, first, then):
    _, created = _create(api)
    if first:
        api.call("POST", f"/campaigns/{{id}}/{first}", params={"id": created["id"]})

    status, error = api.call("POST", f"/campaigns/{{id}}/{then}", params={"id": created["id"]})

    refused(status, error, "status", code=409)


def test_an_action_racing_the_dispatcher_is_decided_on_what_is_stored(api, alerts, monkeypatch):
    # the dispatcher starts the campaign between the read and the write of a pause
    from reach.data.campaigns import CampaignRepository

    _, created = _create(api)
    real_get = CampaignRepository.get
    raced: list[bool] = []

    def get_then_start(self, tenant_id, campaign_id):
        found = real_get(self, tenant_id, campaign_id)
        if not raced:
            raced.append(True)
            _started(tenant_id, campaign_id)
        return found

    monkeypatch.setattr(CampaignRepository, "get", get_then_start)
    status, paused = api.call("POST", "/campaigns/{id}/pause", params={"id": created["id"]})

    assert (status, paused["status"]) == (200, "paused")
    assert paused["started_at"] is not None  # the stored start was kept
    assert paused["version"] == 3


def test_recipients_page_over_the_segments_and_filter_by_status(api, alerts):
    _, created = _create(api)
    campaign = created["id"]
    for n in range(7):
        _recipient(api.tenant_id, campaign, n % 8, f"+1212555020{n}", "sent")
    _recipient(api.tenant_id, campaign, 3, "+12125550299", "skipped", reason="opted_out")

    seen: list[str] = []
    token = None
    for _ in range(10):
        query = {"limit": "3", **({"next_token": token} if token else {})}
        status, page = api.call(
            "GET", "/campaigns/{id}/recipients", params={"id": campaign}, query=query
        )
        assert status == 200, page
        seen += [item["phone"] for item in page["items"]]
        token = page["next_token"]
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 8

    status, skipped = api.call(
        "GET", "/campaigns/{id}/recipients", params={"id": campaign}, query={"status": "skipped"}
    )
    assert status == 200, skipped
    assert [(i["phone"], i["reason"]) for i in skipped["items"]] == [("+12125550299", "opted_out")]


def test_a_recipients_token_of_another_campaign_is_refused(api, alerts):
    _, first = _create(api)
    _, second = _create(api)
    for n in range(3):
        _recipient(api.tenant_id, first["id"], 0, f"+1212555030{n}", "sent")
    _, page = api.call(
        "GET", "/campaigns/{id}/recipients", params={"id": first["id"]}, query={"limit": "1"}
    )
    assert page["next_token"]

    status, error = api.call(
        "GET",
        "/campaigns/{id}/recipients",
        params={"id": second["id"]},
        query={"next_token": page["next_token"]},
    )

    refused(status, error, "next_token", code=400)


def test_a_campaign_with_no_recipients_yet_lists_none(api, alerts):
    _, created = _create(api)
    status, page = api.call("GET", "/campaigns/{id}/recipients", params={"id": created["id"]})
    assert (status, page) == (200, {"items": [], "next_token": None})


# --- what the send side writes, in its documented layout (design13.md) ---------------------


def _counter(pk: str, shard: int, **values: int) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": f"count#{shard}"}, "type": {"S": "campaign_count"}}
    item.update({name: {"N": str(value)} for name, value in values.items()})
    _put(item)


def _recipient(
    tenant_id: str,
    campaign_id: str,
    segment: int,
    phone: str,
    status: str,
    reason: str | None = None,
) -> None:
    item = {
        "pk": {"S": recipients_pk(tenant_id, campaign_id, segment)},
        "sk": {"S": f"recipient#{phone}"},
        "type": {"S": "recipient"},
        "tenant_id": {"S": tenant_id},
        "appointment_id": {"S": campaign_id},
        "phone": {"S": phone},
        "status": {"S": status},
        "updated_at": {"S": "2099-03-10T13:00:05.000000+0000"},
    }
    if reason:
        item["reason"] = {"S": reason}
    _put(item)


def _put(item: dict[str, Any]) -> None:
    connection = AppointmentsTableItem._get_connection()
    connection.connection.client.put_item(TableName=connection.table_name, Item=item)


def _started(tenant_id: str, campaign_id: str) -> None:
    """What the dispatcher's start does: sending, started_at, under campaigns#sending."""
    connection = AppointmentsTableItem._get_connection()
    connection.connection.client.update_item(
        TableName=connection.table_name,
        Key={"pk": {"S": campaign_pk(tenant_id, campaign_id)}, "sk": {"S": "campaign"}},
        UpdateExpression="SET #s = :s, started_at = :t, lookup_key = :k, version = version + :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":s": {"S": "sending"},
            ":t": {"S": "2099-03-10T13:00:30.000000+0000"},
            ":k": {"S": "campaigns#sending"},
            ":one": {"N": "1"},
        },
    )
