"""`reach cost` (issue #15, item 2): a tenant's texts over a range of days, from the messages
Reach stored, priced from a price table in the repo."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from builders import new_tenant
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.prices import SMS_PRICES
from reach_tools.cli import main
from reach_tools.cost import PriceTable

DAY = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
US, CA, GB = "+12025550143", "+14165550123", "+447700900123"

PRICES = {
    "currency": "USD",
    "as_of": "2026-12-01",
    "notes": ["test prices"],
    "sms": {
        "US": {"toll-free": {"base": 0.005, "carrier_fee": 0.0025}},
        "CA": {"toll-free": {"base": 0.007, "carrier_fee": None}},
    },
    "requests": {
        "dynamodb_write_unit": {"per_million": 1.0},
        "sqs_request": {"per_million": 0.5},
    },
    "request_model": {
        "outbound": {"dynamodb_write_unit": 10, "sqs_request": 2},
        "inbound": {"dynamodb_write_unit": 4, "sqs_request": 1},
    },
}


def text(
    thread: Thread,
    n: int,
    phone: str,
    *,
    parts: int = 1,
    encoding: str = "GSM-7",
    status: MessageStatus = MessageStatus.SENT,
    at: datetime = DAY,
    kind: MessageKind = MessageKind.REMINDER,
) -> Message:
    return Message(
        message_id=f"m{n}",
        kind=kind,
        phone=phone,
        body="hello",
        status=status,
        created_at=at,
        updated_at=at,
        parts=parts,
        encoding=encoding,
    )


@pytest.fixture
def traffic(aws):
    """A toll-free tenant's texts of 2 and 3 November 2026, and another tenant's."""
    tenant = new_tenant(aws, number="+18885550100")
    aws.admin.update_tenant(tenant.tenant_id, number_type="toll-free")
    other = new_tenant(aws, "Hilltop Cable", number="+13125550100")
    ours = Thread(tenant.tenant_id, "apt1", US)
    for message in [
        text(ours, 1, US),
        text(ours, 2, US, parts=3),
        text(ours, 3, US, parts=2, encoding="UCS-2", status=MessageStatus.DELIVERED),
        text(ours, 4, CA, status=MessageStatus.UNDELIVERED),
        text(ours, 5, GB),
        text(ours, 6, US, status=MessageStatus.FAILED),
        text(ours, 7, US, status=MessageStatus.RECEIVED, kind=MessageKind.INBOUND, parts=0),
        text(ours, 8, US, at=datetime(2026, 11, 3, 23, 59, tzinfo=UTC)),
        # Outside the range, and another tenant's: neither counts.
        text(ours, 9, US, at=datetime(2026, 11, 4, 0, 0, tzinfo=UTC)),
    ]:
        aws.messages.add(Thread(tenant.tenant_id, "apt1", message.phone), message)
    aws.messages.add(Thread(other.tenant_id, "apt2", US), text(ours, 10, US))
    return tenant.tenant_id


def cost(capsys, *argv):
    code = main(["cost", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_tenants_known_messages_give_exact_counts_and_costs(aws, traffic, capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))

    code, out, err = cost(
        capsys, "--tenant", traffic, "--from", "2026-11-02", "--to", "2026-11-03",
        "--prices", str(prices), "--json",
    )  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert report["messages"] == {"outbound": 7, "inbound": 1, "not_billed": {"failed": 1}}
    assert report["parts"] == {"outbound": 10, "inbound": 0}
    assert report["encodings"] == {"GSM-7": 5, "UCS-2": 1}
    assert report["sms"] == {
        "lines": [
            {"country": "CA", "origination_type": "toll-free", "messages": 1, "parts": 1,
             "price_per_part": "0.007000", "cost": "0.007000"},
            {"country": "GB", "origination_type": "toll-free", "messages": 1, "parts": 1,
             "price_per_part": None, "cost": None},
            {"country": "US", "origination_type": "toll-free", "messages": 4, "parts": 7,
             "price_per_part": "0.007500", "cost": "0.052500"},
        ],
        "total": "0.059500",
        "unpriced_parts": 1,
    }  # fmt: skip
    # 7 outbound x 10 + 1 inbound x 4 = 74 writes at $1/M; 7 x 2 + 1 = 15 SQS at $0.50/M
    assert report["aws_requests"] == {
        "lines": [
            {"request": "dynamodb_write_unit", "count": 74, "price_per_million": "1.000000",
             "cost": "0.000074"},
            {"request": "sqs_request", "count": 15, "price_per_million": "0.500000",
             "cost": "0.000008"},
        ],
        "total": "0.000082",
    }  # fmt: skip


def test_the_text_report_shows_the_same_figures_as_the_json(aws, traffic, capsys):
    _, as_json, _ = cost(capsys, "--tenant", traffic, "--from", "2026-11-02", "--to", "2026-11-03",
                         "--json")  # fmt: skip
    code, out, err = cost(capsys, "--tenant", traffic, "--from", "2026-11-02", "--to", "2026-11-03")

    assert code == 0, err
    report = json.loads(as_json)
    assert "7 outbound (10 parts), 1 inbound" in out
    assert "US toll-free: 4 messages, 7 parts" in out
    assert f"requests total {report['aws_requests']['total']}" in out


def test_the_repos_price_table_carries_its_date_sources_and_no_unconfirmed_sms_guess():
    table = PriceTable.load()
    assert table.as_of
    assert any("aws.amazon.com/end-user-messaging/pricing" in note for note in table.notes)
    assert table.requests["dynamodb_write_unit"] == Decimal("0.625")
    for country in ("US", "CA", "GB"):
        assert country in table.sms.sms
        assert all(price.base is None for price in table.sms.sms[country].values())


def test_reach_cost_prices_sms_from_the_table_the_forecast_uses(aws, traffic, capsys):
    code, out, err = cost(capsys, "--tenant", traffic, "--from", "2026-11-02", "--to", "2026-11-03",
                          "--json")  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert PriceTable.load().sms is SMS_PRICES
    assert report["sms_prices_as_of"] == SMS_PRICES.as_of.isoformat()
    assert report["sms_prices_source"] == "docs/facts.md#sms-prices"
    # No base price is confirmed: every part is unpriced, none guessed.
    assert report["sms"]["total"] == "0.000000"
    assert report["sms"]["unpriced_parts"] == 9
    assert {line["price_per_part"] for line in report["sms"]["lines"]} == {None}


def test_a_prices_file_with_an_sms_section_prices_from_it_instead(aws, traffic, capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))

    code, out, err = cost(capsys, "--tenant", traffic, "--from", "2026-11-02", "--to", "2026-11-03",
                          "--prices", str(prices), "--json")  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert (report["sms_prices_as_of"], report["sms_prices_source"]) == ("2026-12-01", "--prices")


@pytest.mark.parametrize(
    ("dates", "option"),
    [
        (("2026-11-31", "2026-12-01"), "--from"),
        (("2026-11-02", "yesterday"), "--to"),
        (("2026-11-03", "2026-11-02"), "--to"),
        (("2025-01-01", "2026-12-01"), "--to"),
    ],
)
def test_bad_dates_are_refused_naming_the_option(aws, traffic, capsys, dates, option):
    code, out, err = cost(capsys, "--tenant", traffic, "--from", dates[0], "--to", dates[1])

    assert code == 2
    assert out == ""
    assert f"({option})" in err


def test_an_unknown_tenant_is_refused(aws, capsys):
    code, _, err = cost(
        capsys, "--tenant", "ten_nope", "--from", "2026-11-02", "--to", "2026-11-02"
    )
    assert code == 2
    assert "ten_nope" in err
