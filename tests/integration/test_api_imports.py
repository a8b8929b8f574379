"""POST /lists/{id}/imports and GET .../imports/{import_id} through the API handler, and the
importer function run on an upload's EventBridge event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest

from api_client import Api, refused
from builders import a_list
from conftest import load_function
from reach.data.lists import ListRepository
from reach.domain.lists import OptInList
from reach.ports.uploads import import_key

IMPORTS = "/lists/{id}/imports"
LIST_ID = "lst_" + "0" * 31 + "1"
HEADER = "phone,first_name,timezone,consent_source,consent_at,evidence\n"
GOOD = "+12025550111,Ana,America/New_York,web_form,2026-11-02T14:00:00Z,form 17\n"
BAD = "+12025550112,,,,2026-11-02T14:00:00Z,\n"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def api(clinic: Any, lambda_context: Any) -> Api:
    return Api(load_function("api"), lambda_context, clinic.tenant_id)


@pytest.fixture
def plist(clinic: Any) -> OptInList:
    return ListRepository().create(replace(a_list(list_id=LIST_ID), tenant_id=clinic.tenant_id))


def test_a_csv_body_is_imported_and_answered_with_its_report(api: Api, plist: OptInList) -> None:
    status, body = api.call(
        "POST", IMPORTS, params={"id": LIST_ID}, text=HEADER + GOOD + BAD, headers=CSV
    )
    assert status == 201, body
    assert body["status"] == "completed"
    assert body["report"] == {
        "rows": 2,
        "accepted": 1,
        "duplicates": 0,
        "pending_confirmation": 0,
        "rejected_count": 1,
        "rejected": [
            {
                "row": 3,
                "field": "consent_source",
                "reason": "is empty: a member is never added without consent",
            }
        ],
    }
    status, again = api.call(
        "GET", IMPORTS + "/{import_id}", params={"id": LIST_ID, "import_id": body["id"]}
    )
    assert status == 200
    assert again == body


def test_a_csv_body_sent_as_base64_bytes_with_a_bom_is_read(api: Api, plist: OptInList) -> None:
    data = ("\ufeff" + HEADER + GOOD).encode("utf-8")
    status, body = api.call("POST", IMPORTS, params={"id": LIST_ID}, data=data, headers=CSV)
    assert status == 201, body
    assert body["report"]["accepted"] == 1


@pytest.mark.parametrize(
    ("request_", "field", "code"),
    [
        ({"text": "phone,consent_source\n", "headers": CSV}, "header.consent_at", 422),
        ({"text": "", "headers": CSV}, "body", 422),
        (
            {"text": HEADER, "headers": {"Content-Type": "text/csv; charset=latin-1"}},
            "Content-Type",
            422,
        ),
        ({"text": "a=b", "headers": {"Content-Type": "text/plain"}}, "Content-Type", 415),
        ({"body": {"upload": False}}, "upload", 422),
        ({"body": {"upload": True, "bucket": "mine"}}, "bucket", 422),
        ({"text": "[1]", "headers": {"Content-Type": "application/json"}}, "body", 422),
    ],
)
def test_refusals_name_the_field(
    api: Api, plist: OptInList, request_: dict[str, Any], field: str, code: int
) -> None:
    status, error = api.call("POST", IMPORTS, params={"id": LIST_ID}, **request_)
    refused(status, error, field, code)


def test_another_tenants_list_and_import_are_not_found(
    api: Api, plist: OptInList, aws: Any
) -> None:
    status, body = api.call(
        "POST", IMPORTS, params={"id": LIST_ID}, text=HEADER + GOOD, headers=CSV
    )
    stranger = api.as_tenant("someone-else")
    status, _ = stranger.call(
        "POST", IMPORTS, params={"id": LIST_ID}, text=HEADER + GOOD, headers=CSV
    )
    assert status == 404
    status, _ = stranger.call(
        "GET", IMPORTS + "/{import_id}", params={"id": LIST_ID, "import_id": body["id"]}
    )
    assert status == 404
    status, _ = api.call(
        "GET",
        IMPORTS + "/{import_id}",
        params={"id": LIST_ID, "import_id": "imp_" + "0" * 32},
    )
    assert status == 404


def test_an_upload_url_then_the_importer_leaves_the_report(
    api: Api, plist: OptInList, lambda_context: Any
) -> None:
    status, ticket = api.call("POST", IMPORTS, params={"id": LIST_ID}, body={"upload": True})
    assert status == 202, ticket
    assert ticket["import"]["status"] == "awaiting_upload"
    assert ticket["upload_method"] == "PUT"
    assert ticket["upload_headers"] == {"Content-Type": "text/csv"}
    key = import_key(plist.tenant_id, LIST_ID, ticket["import"]["id"])
    assert f"/{key}?" in ticket["upload_url"]
    # The tenant PUTs the file (here straight into the embedded S3), and S3 tells
    # EventBridge, which invokes the importer.
    boto3.client("s3").put_object(
        Bucket="test-imports", Key=key, Body=(HEADER + GOOD + BAD).encode()
    )
    importer = load_function("importer")
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "test-imports"}, "object": {"key": key, "size": 1}},
    }
    assert importer.lambda_handler(event, lambda_context)["processed"] is True
    assert importer.lambda_handler(event, lambda_context) == {"processed": False}
    status, done = api.call(
        "GET",
        IMPORTS + "/{import_id}",
        params={"id": LIST_ID, "import_id": ticket["import"]["id"]},
    )
    assert status == 200
    assert done["status"] == "completed"
    assert (done["source"], done["report"]["accepted"], done["report"]["rejected_count"]) == (
        "upload",
        1,
        1,
    )


def test_the_importer_ignores_events_that_are_not_an_upload(lambda_context: Any, aws: Any) -> None:
    importer = load_function("importer")
    assert importer.lambda_handler({"source": "aws.events"}, lambda_context) == {"processed": False}
    other = {"source": "aws.s3", "detail": {"object": {"key": "elsewhere/x.csv"}}}
    assert importer.lambda_handler(other, lambda_context) == {"processed": False}
