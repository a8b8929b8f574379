"""`reach tenants create|update --number-type/--mps` and `reach numbers list` under moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reach.data.tables import NUMBER_SK, SenderNumberItem, number_pk
from reach.wiring import Services
from reach_tools.cli import main

CLINIC = ["--name", "Riverside Family Clinic", "--timezone", "America/New_York"]
NUMBER = "+12025550143"
OTHER = "+13125550100"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create(capsys: pytest.CaptureFixture[str], *extra: str, number: str = NUMBER) -> Any:
    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", number, *extra, "--json")
    assert code == 0, err
    return json.loads(out)


def pace(document: dict[str, Any]) -> tuple[Any, Any, Any]:
    return document["number_type"], document["mps"], document["mps_is_default"]


def test_a_tenant_created_with_a_short_code_gets_its_default_100_mps(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    created = create(capsys, "--number-type", "short-code")

    assert pace(created) == ("short-code", 100.0, True)
    item = SenderNumberItem.get(number_pk(NUMBER), NUMBER_SK)
    assert (item.origination_type, item.mps) == ("short-code", 100)


def test_a_tenant_created_with_its_own_mps_keeps_it_and_says_it_is_not_the_default(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    created = create(capsys, "--number-type", "10dlc", "--mps", "4.5")

    assert pace(created) == ("10dlc", 4.5, False)


def test_a_tenant_created_without_a_type_takes_the_stacks_origination_settings(
    aws: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stack whose own number is a toll-free one granted 10 MPS
    monkeypatch.setenv("ORIGINATION_TYPE", "toll-free")
    monkeypatch.setenv("ORIGINATION_MPS", "10")

    # when tenants are created without a type, and with another type
    stacks = create(capsys)
    other = create(capsys, "--number-type", "short-code", number=OTHER)

    # then the first is recorded as the stack's number, the other at its type's default
    assert pace(stacks) == ("toll-free", 10.0, False)
    assert pace(other) == ("short-code", 100.0, True)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--number-type", "shortcode"], "--number-type"),
        (["--number-type", ""], "--number-type"),
        (["--mps", "fast"], "--mps"),
        (["--mps", "0"], "--mps"),
        (["--mps", "-3"], "--mps"),
        (["--mps", "nan"], "--mps"),
        (["--mps", "inf"], "--mps"),
        (["--mps", "1e9"], "--mps"),
    ],
)
def test_a_bad_number_type_or_mps_exits_2_naming_the_option_and_creates_nothing(
    aws: Services, capsys: pytest.CaptureFixture[str], options: list[str], named: str
) -> None:
    code, out, err = run(capsys, "tenants", "create", *CLINIC, "--number", NUMBER, *options)

    assert code == 2
    assert named in err
    assert "Traceback" not in err
    assert out == ""
    assert aws.admin.list_tenants() == []
    assert aws.admin.list_numbers() == []


def test_updating_the_type_alone_takes_that_types_default_mps(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create(capsys, "--number-type", "10dlc", "--mps", "4")

    code, out, err = run(
        capsys, "tenants", "update", tenant["tenant_id"], "--number-type", "toll-free", "--json"
    )

    assert code == 0, err
    assert pace(json.loads(out)) == ("toll-free", 3.0, True)


def test_updating_the_mps_alone_keeps_the_type_and_changes_nothing_else(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create(capsys, "--number-type", "short-code")

    code, out, err = run(capsys, "tenants", "update", tenant["tenant_id"], "--mps", "60", "--json")

    updated = json.loads(out)
    assert code == 0, err
    assert pace(updated) == ("short-code", 60.0, False)
    assert updated["quiet_hours"] == tenant["quiet_hours"]


@pytest.mark.parametrize(
    ("options", "named"),
    [(["--number-type", "pager"], "--number-type"), (["--mps", "0"], "--mps")],
)
def test_a_bad_update_exits_2_naming_the_option_and_changes_nothing(
    aws: Services, capsys: pytest.CaptureFixture[str], options: list[str], named: str
) -> None:
    tenant = create(capsys, "--number-type", "toll-free")

    code, _, err = run(capsys, "tenants", "update", tenant["tenant_id"], "--name", "New", *options)

    assert code == 2
    assert named in err
    assert "Traceback" not in err
    _, shown, _ = run(capsys, "tenants", "show", tenant["tenant_id"], "--json")
    assert (json.loads(shown)["name"], pace(json.loads(shown))) == (
        "Riverside Family Clinic",
        ("toll-free", 3.0, True),
    )


def test_tenants_show_and_list_display_the_numbers_type_and_mps(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = create(capsys, "--number-type", "short-code", "--mps", "80")
    create(capsys, "--number-type", "toll-free", number=OTHER)

    _, shown, _ = run(capsys, "tenants", "show", tenant["tenant_id"])
    _, listed_text, _ = run(capsys, "tenants", "list")
    _, listed, _ = run(capsys, "tenants", "list", "--json")

    assert "short-code, 80 MPS" in shown
    assert "short-code, 80 MPS" in listed_text
    assert "toll-free, 3 MPS (type default)" in listed_text
    assert [pace(t) for t in json.loads(listed)] == [
        ("short-code", 80.0, False),
        ("toll-free", 3.0, True),
    ]


def test_numbers_list_shows_each_number_its_tenant_type_mps_and_whether_it_is_the_default(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two tenants' numbers, and one recorded before numbers had a type
    first = create(capsys, "--number-type", "short-code", "--mps", "80")
    second = create(capsys, "--number-type", "toll-free", number=OTHER)
    SenderNumberItem(pk=number_pk("+14155550100"), sk=NUMBER_SK, tenant_id="ten_old").save()

    # when the numbers are listed
    code, out, err = run(capsys, "numbers", "list", "--json")
    _, text, _ = run(capsys, "numbers", "list")

    # then each shows what was recorded; the old one runs at the stack's 10DLC pace
    assert code == 0, err
    assert json.loads(out) == [
        {
            "number": NUMBER,
            "tenant_id": first["tenant_id"],
            "number_type": "short-code",
            "mps": 80.0,
            "mps_is_default": False,
            "recorded": True,
        },
        {
            "number": OTHER,
            "tenant_id": second["tenant_id"],
            "number_type": "toll-free",
            "mps": 3.0,
            "mps_is_default": True,
            "recorded": True,
        },
        {
            "number": "+14155550100",
            "tenant_id": "ten_old",
            "number_type": "10dlc",
            "mps": 1.0,
            "mps_is_default": True,
            "recorded": False,
        },
    ]
    assert "10dlc (stack's)" in text


def test_numbers_list_with_no_numbers_says_how_to_add_one(
    aws: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "numbers", "list")
    assert code == 0
    assert "reach tenants create" in out
