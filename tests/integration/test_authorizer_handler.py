"""The authorizer function, invoked with events/authorizer_token.json under moto."""

from __future__ import annotations

import copy

import boto3
import pytest

from conftest import load_event, load_function

API_WIDE = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*"


@pytest.fixture
def authorizer():
    return load_function("authorizer")


@pytest.fixture
def issued(aws):
    tenant, key = aws.admin.create_tenant(
        "Riverside Family Clinic", "America/New_York", "+12025550143", "21:00-08:00", ("P1D",)
    )
    return tenant.tenant_id, key


def token_event(header: str | None) -> dict:
    event = copy.deepcopy(load_event("authorizer_token.json"))
    if header is None:
        del event["authorizationToken"]
    else:
        event["authorizationToken"] = header
    return event


def test_a_valid_key_allows_the_whole_api_for_its_tenant(authorizer, issued, lambda_context):
    tenant_id, key = issued

    policy = authorizer.lambda_handler(token_event(f"Bearer {key.secret}"), lambda_context)

    assert policy["principalId"] == tenant_id
    assert policy["context"] == {"tenant_id": tenant_id}
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    # Cached for every route, so it must cover every route (docs/facts.md#authorizer-cache)
    assert statement["Resource"] == [API_WIDE]


def test_the_scheme_is_case_insensitive(authorizer, issued, lambda_context):
    tenant_id, key = issued

    policy = authorizer.lambda_handler(token_event(f"bearer {key.secret}"), lambda_context)

    assert policy["principalId"] == tenant_id


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer rk_00000000_sample-key-not-real-00000000000000000000000",
        "Bearer rk_zzzz",
    ],
)
def test_missing_malformed_or_unknown_keys_are_unauthorized(
    authorizer, issued, lambda_context, header
):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(token_event(header), lambda_context)


def test_a_revoked_key_is_denied_which_api_gateway_answers_with_403(
    authorizer, issued, aws, lambda_context
):
    tenant_id, key = issued
    aws.admin.revoke_key(tenant_id, key.record.prefix)

    policy = authorizer.lambda_handler(token_event(f"Bearer {key.secret}"), lambda_context)

    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert "context" not in policy or "tenant_id" not in (policy.get("context") or {})


def test_a_rotated_key_replaces_the_old_one(authorizer, issued, aws, lambda_context):
    tenant_id, key = issued

    new, old = aws.admin.rotate_key(tenant_id, key.record.prefix)

    allowed = authorizer.lambda_handler(token_event(f"Bearer {new.secret}"), lambda_context)
    denied = authorizer.lambda_handler(token_event(f"Bearer {key.secret}"), lambda_context)
    assert allowed["principalId"] == tenant_id
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert old.revoked_at is not None


def test_keys_are_stored_only_as_hashes(aws, issued):
    _, key = issued
    table = aws.settings.tenants_table

    items = boto3.client("dynamodb").scan(TableName=table)["Items"]

    stored = repr(items)
    assert key.secret not in stored
    assert key.secret[len(key.record.prefix) + 1 :] not in stored
    assert key.record.prefix in stored
