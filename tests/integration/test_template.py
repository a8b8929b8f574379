"""template.yaml is what gets deployed: these tests read it (and what the SAM transform makes of
it) and hold it to the architecture's promises: least privilege, retained and recoverable data,
one runtime, logs that expire, and tables in tests built from the very same definitions."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reach.settings import Settings
from reach_tools import template_check
from reach_tools.template import (
    REPO_ROOT,
    TemplateError,
    create_tables,
    default_table_names,
    function_environment,
    functions,
    load_template,
    table_create_kwargs,
)

API_ROUTES = {
    ("/appointments", "post"),
    ("/appointments", "get"),
    ("/appointments/{id}", "get"),
    ("/appointments/{id}", "patch"),
    ("/appointments/{id}/cancel", "post"),
    ("/appointments/{id}/complete", "post"),
    ("/appointments/{id}/no-show", "post"),
    ("/appointments/{id}/notices", "post"),
    ("/appointments/{id}/messages", "get"),
    ("/callbacks", "get"),
    ("/callbacks/{id}", "get"),
    ("/callbacks/{id}/close", "post"),
    ("/contacts/{phone}", "get"),
    ("/contacts/{phone}/opt-out", "post"),
    ("/lists/{id}/imports", "post"),
    ("/lists/{id}/imports/{import_id}", "get"),
    ("/contacts/{phone}/opt-in", "post"),
    ("/contacts/{phone}/consent", "get"),
    ("/lists", "post"),
    ("/lists", "get"),
    ("/lists/{id}", "get"),
    ("/lists/{id}", "patch"),
    ("/lists/{id}/members", "get"),
    ("/lists/{id}/members", "post"),
    ("/lists/{id}/members/{phone}", "delete"),
    ("/campaigns", "post"),
    ("/campaigns/{id}", "get"),
    ("/campaigns/{id}/pause", "post"),
    ("/campaigns/{id}/resume", "post"),
    ("/campaigns/{id}/cancel", "post"),
    ("/campaigns/{id}/recipients", "get"),
    ("/surveys", "post"),
    ("/surveys", "get"),
    ("/surveys/{id}", "get"),
    ("/surveys/{id}/sends", "post"),
    ("/surveys/{id}/sends/{send_id}", "get"),
    ("/surveys/{id}/results", "get"),
    ("/surveys/{id}/responses", "get"),
    ("/surveys/{id}/responses.csv", "get"),
    ("/surveys/{id}/flow-results", "get"),
    ("/surveys/{id}/flow-results/responses", "get"),
    ("/fhir/Appointment", "post"),
    ("/fhir/Appointment/{id}", "put"),
}
#: How SAM's OpenAPI body names an ANY method.
ANY_METHOD = "x-amazon-apigateway-any-method"
# What SAM attaches to every function for logs and tracing; anything else must be written out
# as explicit statements in the template.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
DATA_AND_MESSAGING_SERVICES = ("dynamodb", "sns", "sms-voice", "events")
PHYSICAL = {
    "TenantsTable": "test-tenants",
    "AppointmentsTable": "test-appointments",
    "IdempotencyTable": "test-idempotency",
}
#: What !Ref gives the other resources function environments name.
REFS = {
    **PHYSICAL,
    "ReachEventBus": "test-reach",
    "SendQueue": "https://sqs.test/send",
    "ImportBucket": "test-imports",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    return template_check.transform(template)


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _inline_statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement a role may carry; both branches of a conditional (Fn::If) one."""
    for policy in role["Properties"].get("Policies", []):
        for statement in _as_list(policy["PolicyDocument"]["Statement"]):
            if set(statement) == {"Fn::If"}:
                _, when_true, when_false = statement["Fn::If"]
                yield from (s for s in (when_true, when_false) if s != {"Ref": "AWS::NoValue"})
            else:
                yield statement


def _own_statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A role's statements but the stack key's grant every function has when the stack has a
    key (StackKeyUse, tests/integration/test_operations_template.py)."""
    return (s for s in _inline_statements(role) if s.get("Sid") != "StackKeyUse")


# --- Lint and transform ------------------------------------------------------------------


def test_the_template_passes_cfn_lint_before_and_after_the_sam_transform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the repository's template and a scratch place for the transformed copy
    output = tmp_path / "transformed.json"

    # when the template check runs as `make template-check` runs it
    exit_code = template_check.main(["--output", str(output)])

    # then both lints find no errors and the output is plain CloudFormation
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "FAILED" not in report
    cloudformation = json.loads(output.read_text(encoding="utf-8"))
    assert "Transform" not in cloudformation
    assert not [
        logical_id
        for logical_id, resource in cloudformation["Resources"].items()
        if resource["Type"].startswith("AWS::Serverless::")
    ]


def test_the_sam_transform_reports_a_broken_template_instead_of_passing_it(
    template: dict[str, Any],
) -> None:
    # given the template with a default authorizer that is not defined (cfn-lint's SAM schema
    # cannot know which authorizer names exist)
    broken = json.loads(json.dumps(template))
    broken["Resources"]["ReachApi"]["Properties"]["Auth"]["DefaultAuthorizer"] = "KeyAuthorizer"

    # when it is transformed, then the check fails with SAM's reason
    with pytest.raises(template_check.TemplateCheckError, match="KeyAuthorizer"):
        template_check.transform(broken)


# --- Runtime and packaging ---------------------------------------------------------------


def test_every_function_runs_python313_on_arm64_with_the_reach_layer(
    transformed: dict[str, Any],
) -> None:
    # given the functions and the layer CloudFormation will create
    lambdas = _resources(transformed, "AWS::Lambda::Function")
    (layer_id,) = _resources(transformed, "AWS::Lambda::LayerVersion")

    # then each one runs the supported runtime on Graviton and loads the shared layer
    assert set(lambdas) == {
        "ApiFunction",
        "AuthorizerFunction",
        "DispatcherFunction",
        "SenderFunction",
        "InboundFunction",
        "ReconcilerFunction",
        "StatusFunction",
        "ImporterFunction",
    }
    for logical_id, function in lambdas.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13", logical_id
        assert properties["Architectures"] == ["arm64"], logical_id
        assert {"Ref": layer_id} in properties["Layers"], logical_id
        assert properties["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", logical_id


def test_every_function_handler_exists_in_its_code_folder(template: dict[str, Any]) -> None:
    for logical_id, properties in functions(template).items():
        # given the handler the template names
        module, _, handler = properties["Handler"].rpartition(".")

        # then sam build packages a module that defines it
        source = REPO_ROOT / properties["CodeUri"] / f"{module}.py"
        assert source.is_file(), f"{logical_id}: {source} is missing"
        assert re.search(
            rf"^(def|async def) {handler}\b|^{handler}\s*=", source.read_text(), re.M
        ), f"{logical_id}: {source} defines no {handler}"


def test_the_layer_is_built_by_sam_for_python313_on_arm64(template: dict[str, Any]) -> None:
    # given the layer resource
    layer = template["Resources"]["ReachLayer"]

    # then sam build runs the layer's Makefile (its requirements for the Lambda platform,
    # beside the package, compiled to Python 3.13 bytecode) for arm64
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    content = REPO_ROOT / layer["Properties"]["ContentUri"]
    assert (content / "requirements.txt").is_file()
    assert (content / "reach" / "__init__.py").is_file()


# --- Permissions -------------------------------------------------------------------------


def test_no_role_grants_data_or_messaging_actions_on_every_resource(
    transformed: dict[str, Any],
) -> None:
    # given every IAM role the stack creates
    roles = _resources(transformed, "AWS::IAM::Role")
    assert roles

    for logical_id, role in roles.items():
        # then managed policies are only SAM's logging and tracing ones
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES
        # and no statement lets DynamoDB, SNS, SMS or EventBridge actions loose on "*"
        for statement in _inline_statements(role):
            actions = _as_list(statement["Action"])
            assert not [a for a in actions if a == "*" or a.endswith(":*")], (logical_id, actions)
            if "*" in _as_list(statement.get("Resource")):
                risky = [a for a in actions if a.split(":")[0] in DATA_AND_MESSAGING_SERVICES]
                assert not risky, (logical_id, risky)


def test_the_authorizer_may_only_get_api_key_lookups_from_the_tenants_table(
    transformed: dict[str, Any],
) -> None:
    # given the authorizer's role
    role = transformed["Resources"]["AuthorizerFunctionRole"]

    # when its inline statements are read
    statements = list(_own_statements(role))

    # then there is exactly one: GetItem on the tenants table, apikey# items only
    assert len(statements) == 1
    (statement,) = statements
    assert statement["Effect"] == "Allow"
    assert _as_list(statement["Action"]) == ["dynamodb:GetItem"]
    assert _as_list(statement["Resource"]) == [{"Fn::GetAtt": ["TenantsTable", "Arn"]}]
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["apikey#*"]}
    }


def test_the_api_reads_tenant_profiles_but_never_api_key_hashes(
    transformed: dict[str, Any],
) -> None:
    # given the API function's role
    statements = list(_inline_statements(transformed["Resources"]["ApiFunctionRole"]))

    # when the statements on the tenants table are picked out
    on_tenants = {s["Sid"]: s for s in statements if "TenantsTable" in json.dumps(s["Resource"])}

    # then tenant profiles are read, lists (also tenant# items: IAM keys on the partition
    # only) written, and the other statements are the consent ones
    assert set(on_tenants) == {
        "TenantProfileRead",
        "TenantListsReadWrite",
        "ContactConsentReadWrite",
        "ConsentHistoryRead",
    }
    assert _as_list(on_tenants["TenantProfileRead"]["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
    ]
    assert on_tenants["TenantProfileRead"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["tenant#*"]}
    }


def test_the_api_may_read_and_write_contact_items_but_never_api_key_items(
    transformed: dict[str, Any],
) -> None:
    # given the API function's statements on the tenants table
    statements = list(_inline_statements(transformed["Resources"]["ApiFunctionRole"]))
    on_tenants = [s for s in statements if "TenantsTable" in json.dumps(s["Resource"])]

    # when the leading keys each statement allows are read
    allowed = {
        prefix: {a for s in on_tenants for a in _as_list(s["Action"]) if _leads(s, prefix)}
        for prefix in ("contact#", "tenant#", "apikey#")
    }

    # then consent records may be read, written and checked in a notice's transaction
    # (item-level verbs, and a Query of one recipient's history), tenant profiles read and
    # lists written under them (issue 13), and apikey# items neither
    assert allowed["contact#"] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    }
    assert allowed["tenant#"] == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert allowed["apikey#"] == set()
    for statement in on_tenants:
        assert set(statement["Condition"]) == {"ForAllValues:StringLike"}
        # each pattern a fixed prefix: "contact#*", never "*" or "c*"
        assert all(k.endswith("#*") and "*" not in k[:-1] for k in _leading_keys(statement))


def test_the_api_writes_appointments_item_by_item_and_publishes_only_to_the_reach_bus(
    transformed: dict[str, Any],
) -> None:
    # given the API function's statements, by Sid
    role = transformed["Resources"]["ApiFunctionRole"]
    statements = {s["Sid"]: s for s in _own_statements(role)}

    # then appointments get item-level verbs (DeleteItem: closing a callback frees its
    # guard item), never Scan
    granted = set(_as_list(statements["AppointmentsReadWrite"]["Action"]))
    assert granted == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
    }
    assert "dynamodb:Scan" not in granted
    # and domain events go to the Reach bus alone
    assert _as_list(statements["DomainEvents"]["Action"]) == ["events:PutEvents"]
    assert statements["DomainEvents"]["Resource"] == {"Fn::GetAtt": ["ReachEventBus", "Arn"]}
    assert set(statements) == {
        "AppointmentsReadWrite",
        "TenantProfileRead",
        "TenantListsReadWrite",
        "ContactConsentReadWrite",
        "ConsentHistoryRead",
        "DomainEvents",
        "NoticeQueueWrite",
        "ImportUploadUrls",
    }
    # and the one S3 permission is putting an import's file (what a presigned URL carries)
    assert _as_list(statements["ImportUploadUrls"]["Action"]) == ["s3:PutObject"]
    assert statements["ImportUploadUrls"]["Resource"] == {
        "Fn::Sub": "${ImportBucket.Arn}/imports/*"
    }


def test_the_api_may_only_send_notices_to_the_send_queue_and_is_told_its_url(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    # given the API function's role and environment
    statements = {
        s["Sid"]: s for s in _inline_statements(transformed["Resources"]["ApiFunctionRole"])
    }
    variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]

    # then it may send to the send queue and nothing else of SQS
    sqs = [
        s for s in statements.values() if any(a.startswith("sqs:") for a in _as_list(s["Action"]))
    ]
    assert [s["Sid"] for s in sqs] == ["NoticeQueueWrite"]
    assert _as_list(sqs[0]["Action"]) == ["sqs:SendMessage"]
    assert sqs[0]["Resource"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}
    # and it is told which queue that is
    assert variables["SEND_QUEUE_URL"] == {"Ref": "SendQueue"}


def test_the_api_function_is_told_which_event_bus_to_publish_to(
    template: dict[str, Any],
) -> None:
    variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]

    assert variables["EVENT_BUS_NAME"] == {"Ref": "ReachEventBus"}


def _leading_keys(statement: dict[str, Any]) -> list[str]:
    condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
    return list(condition.get("dynamodb:LeadingKeys", []))


def _leads(statement: dict[str, Any], prefix: str) -> bool:
    """Whether the statement lets a key starting with ``prefix`` in (without a LeadingKeys
    condition, every key)."""
    if "Condition" not in statement:
        return True
    return any(fnmatch.fnmatchcase(f"{prefix}x", key) for key in _leading_keys(statement))


# --- Data --------------------------------------------------------------------------------


def test_every_table_is_on_demand_encrypted_recoverable_and_retained(
    template: dict[str, Any],
) -> None:
    # given the DynamoDB tables
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert set(tables) == {"TenantsTable", "AppointmentsTable", "IdempotencyTable"}
    # Idempotency records expire by TTL after 14 days: nothing there is worth restoring.
    idempotency = tables.pop("IdempotencyTable")["Properties"]
    assert idempotency["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    assert idempotency["SSESpecification"]["SSEEnabled"] is True

    for logical_id, table in tables.items():
        properties = table["Properties"]
        # then none is lost to a stack delete or a replacement, and each can be restored
        assert table["DeletionPolicy"] == "Retain", logical_id
        assert table["UpdateReplacePolicy"] == "Retain", logical_id
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }, logical_id
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id


def test_table_definitions_drop_what_create_table_does_not_take(template: dict[str, Any]) -> None:
    # when the appointments table becomes create_table arguments
    kwargs = table_create_kwargs(template, "AppointmentsTable", "local-appointments")

    # then only CreateTable's own parameters are left, indexes included
    assert set(kwargs) == {
        "TableName",
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
    }
    assert kwargs["TableName"] == "local-appointments"
    # the notices' hand-off: CloudFormation implies the stream is on, CreateTable says it
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert [i["IndexName"] for i in kwargs["GlobalSecondaryIndexes"]] == [
        "by_start",
        "by_status",
        "due",
        "lookup",
    ]


@pytest.fixture
def moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def test_create_tables_builds_both_tables_with_the_template_indexes(
    template: dict[str, Any], moto_dynamodb: Any
) -> None:
    # given table names derived from the template
    names = default_table_names("test", template)
    assert names == PHYSICAL

    # when the tables are created under moto
    create_tables(moto_dynamodb, names, template=template)

    # then each exists with the template's keys and GSIs
    tenants = moto_dynamodb.describe_table(TableName="test-tenants")["Table"]
    appointments = moto_dynamodb.describe_table(TableName="test-appointments")["Table"]
    assert tenants["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    [by_phone] = tenants["GlobalSecondaryIndexes"]
    assert by_phone["IndexName"] == "contacts_by_phone"
    assert by_phone["KeySchema"] == [
        {"AttributeName": "phone", "KeyType": "HASH"},
        {"AttributeName": "tenant_id", "KeyType": "RANGE"},
    ]
    indexes = {i["IndexName"]: i for i in appointments["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by_start", "by_status", "due", "lookup"}
    assert indexes["lookup"]["KeySchema"] == [
        {"AttributeName": "lookup_key", "KeyType": "HASH"},
        {"AttributeName": "lookup_at", "KeyType": "RANGE"},
    ]
    assert indexes["due"]["KeySchema"] == [
        {"AttributeName": "due_shard", "KeyType": "HASH"},
        {"AttributeName": "due_at", "KeyType": "RANGE"},
    ]
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in indexes.values())


def test_create_tables_refuses_names_that_do_not_match_the_template_tables(
    template: dict[str, Any], moto_dynamodb: Any
) -> None:
    # given a mapping that forgets the appointments table
    names = {"TenantsTable": "test-tenants"}

    # when / then nothing is created and the missing table is named
    with pytest.raises(TemplateError, match="AppointmentsTable"):
        create_tables(moto_dynamodb, names, template=template)
    assert moto_dynamodb.list_tables()["TableNames"] == []


# --- Environment -------------------------------------------------------------------------


def test_function_environment_resolves_table_names_and_parameter_defaults(
    template: dict[str, Any],
) -> None:
    # when the API function's environment is resolved with local table and bus names
    environment = function_environment(template, "ApiFunction", REFS)

    # then tables come from the physical names, parameters from their defaults
    assert environment["TENANTS_TABLE"] == "test-tenants"
    assert environment["APPOINTMENTS_TABLE"] == "test-appointments"
    assert environment["STAGE"] == "dev"
    assert environment["SMS_PROVIDER"] == "sns"
    assert environment["ORIGINATION_IDENTITY"] == ""
    assert environment["DEFAULT_QUIET_HOURS"] == "21:00-08:00"
    assert environment["DEFAULT_REMINDER_OFFSETS"] == "P1D,PT2H"
    assert environment["DUE_SHARDS"] == "8"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "Reach"
    assert environment["POWERTOOLS_SERVICE_NAME"] == "reach-api"
    assert environment["EVENT_BUS_NAME"] == "test-reach"


def test_function_environment_takes_given_parameters_over_defaults(
    template: dict[str, Any],
) -> None:
    # when the authorizer's environment is resolved for a production stage
    environment = function_environment(
        template,
        "AuthorizerFunction",
        {**PHYSICAL, "DeliveryConfigurationSet": "reach-prod-delivery"},
        parameters={"Stage": "prod", "SmsProvider": "end-user-messaging"},
    )

    # then the given values win and the function keeps its own service name
    assert environment["STAGE"] == "prod"
    assert environment["SMS_PROVIDER"] == "end-user-messaging"
    assert environment["CONFIGURATION_SET"] == "reach-prod-delivery"
    assert environment["POWERTOOLS_SERVICE_NAME"] == "reach-authorizer"


def test_function_environment_names_what_it_cannot_resolve(template: dict[str, Any]) -> None:
    # given no physical name for the appointments table
    physical = {"TenantsTable": "test-tenants"}

    # when / then the error says which variable and which reference
    with pytest.raises(TemplateError, match=r"APPOINTMENTS_TABLE.*AppointmentsTable"):
        function_environment(template, "ApiFunction", physical)


def test_an_if_that_picks_no_value_drops_the_variable_as_cloudformation_does(
    template: dict[str, Any],
) -> None:
    # given a variable that exists only when the stack sends through End User Messaging
    changed = json.loads(json.dumps(template))
    variables = changed["Resources"]["StatusFunction"]["Properties"]["Environment"]["Variables"]
    variables["ONLY_WITH_EUM"] = {"Fn::If": ["SendsThroughSns", {"Ref": "AWS::NoValue"}, "set"]}

    sns = function_environment(changed, "StatusFunction", REFS)
    eum = function_environment(
        changed,
        "StatusFunction",
        {**REFS, "DeliveryConfigurationSet": "set"},
        {"SmsProvider": "end-user-messaging"},
    )

    assert "ONLY_WITH_EUM" not in sns
    assert eum["ONLY_WITH_EUM"] == "set"


@pytest.mark.parametrize(
    "logical_id",
    [
        "ApiFunction",
        "AuthorizerFunction",
        "DispatcherFunction",
        "SenderFunction",
        "InboundFunction",
        "ReconcilerFunction",
        "StatusFunction",
        "ImporterFunction",
    ],
)
def test_every_function_environment_is_valid_reach_settings(
    template: dict[str, Any], logical_id: str
) -> None:
    # given the environment a deployed function gets, plus the region Lambda sets
    environment = function_environment(template, logical_id, REFS)
    environment["AWS_REGION"] = "us-east-1"

    # when the layer's settings read it
    settings = Settings.from_env(environment)

    # then nothing required is missing and the defaults parse
    assert settings.tenants_table == "test-tenants"
    assert settings.appointments_table == "test-appointments"
    assert settings.due_shards == 8


# --- Logs --------------------------------------------------------------------------------


def test_every_function_logs_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    log_groups = _resources(template, "AWS::Logs::LogGroup")
    for logical_id, properties in functions(template).items():
        # given the log group the function is wired to
        reference = properties["LoggingConfig"]["LogGroup"]
        assert set(reference) == {"Ref"}, logical_id
        log_group = log_groups[reference["Ref"]]

        # then its logs expire after the configured retention
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    groups = {p["LoggingConfig"]["LogGroup"]["Ref"] for p in functions(template).values()}
    assert len(groups) == len(functions(template))


def test_api_access_logs_are_json_with_the_tenant_and_never_the_api_key(
    template: dict[str, Any],
) -> None:
    # given the access log setting (on unless the ApiAccessLogs parameter turns it off)
    api = template["Resources"]["ReachApi"]["Properties"]
    condition, setting, _ = api["AccessLogSetting"]["Fn::If"]
    assert condition == "WriteApiAccessLogs"
    log_group = template["Resources"]["ApiAccessLogGroup"]

    # when its format is read as JSON
    record = json.loads(setting["Format"])

    # then it carries the fields operators need, and nothing from request headers
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert record["tenant_id"] == "$context.authorizer.tenant_id"
    for field in ("requestId", "ip", "httpMethod", "resourcePath", "status", "responseLength"):
        assert field in record
    assert "authorization" not in setting["Format"].lower().replace("context.authorizer", "")


# --- API ---------------------------------------------------------------------------------


def test_every_api_route_goes_through_the_token_authorizer(transformed: dict[str, Any]) -> None:
    # given the OpenAPI body SAM generated for the REST API
    body = transformed["Resources"]["ReachApi"]["Properties"]["Body"]

    # when the routes are listed
    routes = {(path, method) for path, methods in body["paths"].items() for method in methods}

    # then they are the public contract's, and every resource's other methods (ANY, for the
    # function's 405), each guarded by the TOKEN authorizer, and each counted against the
    # tenant's usage plan key, which the authorizer returns
    assert routes == API_ROUTES | {(path, ANY_METHOD) for path, _ in API_ROUTES}
    for path, method in routes:
        assert body["paths"][path][method]["security"] == [
            {"TokenAuthorizer": []},
            {"api_key": []},
        ], (path, method)
    authorizer = body["securityDefinitions"]["TokenAuthorizer"]
    assert authorizer["name"] == "Authorization"
    assert authorizer["x-amazon-apigateway-authorizer"]["type"] == "token"


def test_the_authorizer_cache_ttl_is_the_parameter(template: dict[str, Any]) -> None:
    # given the authorizer's identity in the SAM template
    identity = template["Resources"]["ReachApi"]["Properties"]["Auth"]["Authorizers"][
        "TokenAuthorizer"
    ]["Identity"]
    assert identity["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"}
    assert template["Parameters"]["AuthorizerCacheSeconds"]["Default"] == 60

    for seconds in ("0", "300"):
        # when the stack is deployed with another cache time
        cloudformation = template_check.transform(
            template, parameter_values={"AuthorizerCacheSeconds": seconds}
        )

        # then API Gateway caches authorizer decisions for exactly that long
        body = cloudformation["Resources"]["ReachApi"]["Properties"]["Body"]
        ttl = body["securityDefinitions"]["TokenAuthorizer"]["x-amazon-apigateway-authorizer"][
            "authorizerResultTtlInSeconds"
        ]
        assert int(ttl) == int(seconds)


def test_authorizer_rejections_answer_in_the_api_json_error_shape(
    template: dict[str, Any],
) -> None:
    responses = template["Resources"]["ReachApi"]["Properties"]["GatewayResponses"]
    for response_type, status, error in (
        ("UNAUTHORIZED", 401, "unauthorized"),
        ("ACCESS_DENIED", 403, "forbidden"),
    ):
        # given API Gateway's response to a missing/invalid key or a Deny policy
        response = responses[response_type]

        # when its body template is rendered
        body = json.loads(response["ResponseTemplates"]["application/json"])

        # then it is JSON with an error code and a message
        assert response["StatusCode"] == status
        assert body["error"] == error
        assert body["message"]


@pytest.mark.parametrize(
    ("response_type", "status", "error"),
    [
        ("UNAUTHORIZED", 401, "unauthorized"),
        ("ACCESS_DENIED", 403, "forbidden"),
        ("MISSING_AUTHENTICATION_TOKEN", 404, "not_found"),
        ("REQUEST_TOO_LARGE", 413, "payload_too_large"),
        ("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type"),
        ("THROTTLED", 429, "throttled"),
        ("AUTHORIZER_FAILURE", 500, "authorizer_failure"),
        # Every other 4xx and 5xx API Gateway gives itself keeps its own status
        ("DEFAULT_4XX", None, "bad_request"),
        ("DEFAULT_5XX", None, "internal_error"),
    ],
)
def test_every_gateway_response_answers_in_the_one_error_shape(
    template: dict[str, Any], response_type: str, status: int | None, error: str
) -> None:
    from reach.api.schemas import ErrorBody

    response = template["Resources"]["ReachApi"]["Properties"]["GatewayResponses"][response_type]

    # API Gateway puts $context.error.messageString in as a quoted, escaped JSON string
    rendered = response["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", json.dumps('Request "failed"')
    )
    body = json.loads(rendered)

    assert response.get("StatusCode") == status
    assert set(body) <= {"error", "message", "fields"}
    assert ErrorBody.model_validate(body).error == error
    assert body["message"]


# --- Parameters and outputs --------------------------------------------------------------


def test_quiet_hours_parameter_accepts_hh_mm_ranges_only(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["DefaultQuietHours"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(parameter["Default"])
    assert pattern.fullmatch("22:30-07:00")
    for wrong in ("9pm-8am", "21:00", "24:00-08:00", "21:60-08:00"):
        assert not pattern.fullmatch(wrong), wrong


def test_the_outputs_the_admin_cli_reads_are_there(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${ReachApi}.execute-api.${AWS::Region}.amazonaws.com/${Stage}"
    }
    assert outputs["TenantsTableName"]["Value"] == {"Ref": "TenantsTable"}
    assert outputs["AppointmentsTableName"]["Value"] == {"Ref": "AppointmentsTable"}
    assert outputs["ReachLayerArn"]["Value"] == {"Ref": "ReachLayer"}


# --- Loader ------------------------------------------------------------------------------


def test_load_template_turns_short_tags_into_their_long_form(tmp_path: Path) -> None:
    # given a template written with every short tag CloudFormation knows
    path = tmp_path / "template.yaml"
    path.write_text(
        """\
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  Either: !Or [!Condition IsProd, !Not [!Condition IsProd]]
  Both: !And [!Condition IsProd, !Condition IsProd]
Resources:
  Thing:
    Type: AWS::SNS::Topic
    Properties:
      A: !GetAtt Db.Endpoint.Address
      B: !GetAtt [Db, Arn]
      C: !Sub "${AWS::StackName}-x"
      D: !If [IsProd, !Select [0, !GetAZs ""], !Join ["-", !Split [",", "a,b"]]]
      E: !FindInMap [Map, !Ref "AWS::Region", Key]
      F: !ImportValue shared-export
      G: !Base64 hello
      H: !Cidr ["10.0.0.0/16", 4, 8]
""",
        encoding="utf-8",
    )

    # when it is loaded
    loaded = load_template(path)

    # then each tag is the long form CloudFormation's JSON uses
    assert loaded["AWSTemplateFormatVersion"] == "2010-09-09"
    assert loaded["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert loaded["Conditions"]["Either"] == {
        "Fn::Or": [{"Condition": "IsProd"}, {"Fn::Not": [{"Condition": "IsProd"}]}]
    }
    assert loaded["Conditions"]["Both"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsProd"}]
    }
    properties = loaded["Resources"]["Thing"]["Properties"]
    assert properties["A"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert properties["B"] == {"Fn::GetAtt": ["Db", "Arn"]}
    assert properties["C"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert properties["D"] == {
        "Fn::If": [
            "IsProd",
            {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            {"Fn::Join": ["-", {"Fn::Split": [",", "a,b"]}]},
        ]
    }
    assert properties["E"] == {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "Key"]}
    assert properties["F"] == {"Fn::ImportValue": "shared-export"}
    assert properties["G"] == {"Fn::Base64": "hello"}
    assert properties["H"] == {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}


# --- Reminder delivery -----------------------------------------------------------------


def test_the_dispatcher_ticks_every_minute_on_an_eventbridge_rule(
    transformed: dict[str, Any],
) -> None:
    rules = _resources(transformed, "AWS::Events::Rule")

    schedules = {
        r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: r["Properties"]["ScheduleExpression"]
        for r in rules.values()
        if "ScheduleExpression" in r["Properties"]  # not the FHIR write-back's event rules
    }

    assert schedules == {
        "DispatcherFunction": "rate(1 minute)",
        "ReconcilerFunction": "rate(1 hour)",
    }


def test_the_send_queue_retries_as_often_as_the_sender_expects_then_dead_letters(
    template: dict[str, Any],
) -> None:
    from reach.services.dispatch import CLAIM_LEASE
    from reach.services.sending import MAX_RECEIVES

    queue = template["Resources"]["SendQueue"]["Properties"]
    sender = template["Resources"]["SenderFunction"]["Properties"]

    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]
    }
    assert queue["VisibilityTimeout"] >= 6 * sender["Timeout"]
    # A retried claim must come back through SQS before its lease lets a dispatcher re-claim
    assert CLAIM_LEASE.total_seconds() > queue["VisibilityTimeout"]
    mapping = template["Resources"]["SenderQueueMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}


def test_new_notices_reach_the_sender_from_the_appointments_stream_filtered_to_notices(
    template: dict[str, Any],
) -> None:
    from reach_tools.local.streams import StreamMapping, stream_mapping

    resources = template["Resources"]
    assert resources["AppointmentsTable"]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_IMAGE"
    }
    mapping = resources["SenderNoticeMapping"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # a poison record is isolated, retried a bounded number of times and then described to
    # the dead-letter queue (its notice's lease brings it back through a dispatcher)
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]
    }
    # a notice goes at once: no batching window
    assert mapping["MaximumBatchingWindowInSeconds"] == 0

    streamed: StreamMapping = stream_mapping(template, "SenderFunction")
    new_notice = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"type": {"S": "notice"}, "sk": {"S": "notice#ntc_1"}}},
    }
    assert streamed.passes(new_notice)
    # not its later changes, not its marks, not the other items of the table
    assert not streamed.passes({**new_notice, "eventName": "MODIFY"})
    for other in ("notice_mark", "appointment", "reminder", "message"):
        image = {"type": {"S": other}, "sk": {"S": "notice#last#on_the_way"}}
        assert not streamed.passes({"eventName": "INSERT", "dynamodb": {"NewImage": image}})
    assert streamed.events() == frozenset({"INSERT"})


def test_the_sender_reads_only_the_appointments_stream_and_requeues_only_to_its_queues(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["SenderFunctionRole"]
    statements = {s.get("Sid"): s for s in _inline_statements(role)}

    stream = statements["NoticeStreamRead"]
    assert sorted(_as_list(stream["Action"])) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ]
    assert stream["Resource"] == {"Fn::Sub": "${AppointmentsTable.Arn}/stream/*"}
    requeue = statements["SendQueueRequeue"]
    assert _as_list(requeue["Action"]) == ["sqs:SendMessage"]
    assert requeue["Resource"] == [
        {"Fn::GetAtt": ["SendQueue", "Arn"]},
        {"Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]},
    ]
    # and no managed policy that reads every stream of the account
    managed = transformed["Resources"]["SenderFunctionRole"]["Properties"].get(
        "ManagedPolicyArns", []
    )
    assert not any("DynamoDBExecutionRole" in str(arn) for arn in managed)


def test_the_sender_may_text_phone_numbers_but_publish_to_no_sns_topic(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["SenderFunctionRole"]

    statements = {s.get("Sid"): s for s in _inline_statements(role)}

    sns = statements["SnsDirectSms"]
    assert _as_list(sns["Action"]) == ["sns:Publish"]
    assert "Resource" not in sns
    assert sns["NotResource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}
    eum = statements["EndUserMessagingSend"]
    assert _as_list(eum["Action"]) == ["sms-voice:SendTextMessage"]
    assert eum["Resource"] != "*"
    consume = statements["SendQueueConsume"]
    assert consume["Resource"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}
    tenants = statements["TenantsContactsAndPacing"]
    assert tenants["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "tenant#*",
        "contact#*",
        "pace#*",
    ]


# --- Two-way replies ---------------------------------------------------------------------


def test_replies_reach_the_inbound_function_through_a_queue_with_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    from reach.services.sending import MAX_RECEIVES

    resources = template["Resources"]
    subscription = resources["InboundSubscription"]["Properties"]
    assert subscription["Protocol"] == "sqs"
    assert subscription["TopicArn"] == {"Ref": "InboundTopic"}
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    # The SNS envelope is kept, and the function reads the reply out of it
    assert subscription["RawMessageDelivery"] is False
    queue = resources["InboundQueue"]["Properties"]
    function = resources["InboundFunction"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["InboundDeadLetterQueue", "Arn"]
    }
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    mapping = resources["InboundQueueMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    # Only the topic may send to the queue, and only End User Messaging of this account may
    # publish to the topic
    [send] = resources["InboundQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "InboundTopic"}}}
    [publish] = resources["InboundTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "sms-voice.amazonaws.com"}
    assert publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_the_inbound_function_may_publish_only_to_the_reach_bus_and_text_only_phones(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["InboundFunctionRole"]
    statements = {s.get("Sid"): s for s in _inline_statements(role)}

    assert statements["DomainEvents"]["Resource"] == {"Fn::GetAtt": ["ReachEventBus", "Arn"]}
    assert statements["SnsDirectSms"]["NotResource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"
    }
    tenants = statements["RoutingConsentAndPacing"]
    assert tenants["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "tenant#*",
        "number#*",
        "contact#*",
        "pace#*",
    ]
    assert statements["InboundQueueConsume"]["Resource"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    assert statements["IdempotencyRecords"]["Resource"] == {
        "Fn::GetAtt": ["IdempotencyTable", "Arn"]
    }


def test_the_reconciler_may_read_and_clear_opt_out_lists_but_publish_to_no_topic(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["ReconcilerFunctionRole"]
    statements = {s.get("Sid"): s for s in _inline_statements(role)}

    sns = statements["SnsOptOutList"]
    assert _as_list(sns["Action"]) == ["sns:ListPhoneNumbersOptedOut", "sns:OptInPhoneNumber"]
    assert sns["NotResource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}
    assert statements["ContactConsent"]["Condition"]["ForAllValues:StringLike"][
        "dynamodb:LeadingKeys"
    ] == ["contact#*"]
    assert statements["ContactsByPhone"]["Resource"] == {
        "Fn::Sub": "${TenantsTable.Arn}/index/contacts_by_phone"
    }


def test_the_reconciler_reads_only_the_tenants_own_opt_out_lists_and_only_their_ids(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["ReconcilerFunctionRole"]
    statements = {s.get("Sid"): s for s in _inline_statements(role)}

    eum = statements["EndUserMessagingOptOutList"]
    assert _as_list(eum["Action"]) == [
        "sms-voice:DescribeOptedOutNumbers",
        "sms-voice:DeleteOptedOutNumber",
    ]
    # reach-<tenant id> only (reach.domain.numbers.tenant_opt_out_list), not the Default list
    assert eum["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}"
        ":opt-out-list/reach-*"
    }
    ids = statements["TenantIds"]
    assert _as_list(ids["Action"]) == ["dynamodb:Scan"]
    assert ids["Resource"] == {"Fn::GetAtt": ["TenantsTable", "Arn"]}
    assert ids["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "type"]},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }
    # For every provider: besides End User Messaging's per-tenant opt-out lists, the hourly
    # job expires each tenant's overdue pending list members (issue 13)
    assert not [
        s
        for policy in role["Properties"]["Policies"]
        for s in _as_list(policy["PolicyDocument"]["Statement"])
        if set(s) == {"Fn::If"} and s["Fn::If"][2] == ids
    ]
    environment = transformed["Resources"]["ReconcilerFunction"]["Properties"]["Environment"]
    assert "OPT_OUT_LIST_NAME" not in environment["Variables"]


# --- Delivery receipts -------------------------------------------------------------------


def test_delivery_events_reach_the_status_function_through_a_queue_with_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    from reach.domain.receipts import SUBSCRIBED_EVENTS
    from reach.services.sending import MAX_RECEIVES

    resources = template["Resources"]
    config_set = resources["DeliveryConfigurationSet"]
    assert config_set["Condition"] == "CreatesConfigurationSet"
    [destination] = config_set["Properties"]["EventDestinations"]
    assert destination["SnsDestination"] == {"TopicArn": {"Ref": "DeliveryEventsTopic"}}
    # Exactly the outcomes the parser reads; no queued/pending progress events
    assert sorted(destination["MatchingEventTypes"]) == sorted(SUBSCRIBED_EVENTS)
    subscription = resources["StatusSubscription"]["Properties"]
    assert subscription["TopicArn"] == {"Ref": "DeliveryEventsTopic"}
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["StatusQueue", "Arn"]}
    assert subscription["RawMessageDelivery"] is False
    queue = resources["StatusQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    assert queue["VisibilityTimeout"] >= 6 * resources["StatusFunction"]["Properties"]["Timeout"]
    mapping = resources["StatusQueueMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    [send] = resources["StatusQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "DeliveryEventsTopic"}}}
    [publish] = resources["DeliveryEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "sms-voice.amazonaws.com"}
    assert publish["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, ""),
        ({"SmsProvider": "end-user-messaging"}, "stack-delivery-set"),
        (
            {"SmsProvider": "end-user-messaging", "ConfigurationSetName": "their-set"},
            "their-set",
        ),
    ],
)
def test_texts_go_out_with_the_stacks_configuration_set_when_end_user_messaging_sends(
    template: dict[str, Any], parameters: dict[str, str], expected: str
) -> None:
    refs = {**REFS, "DeliveryConfigurationSet": "stack-delivery-set"}

    for function in ("SenderFunction", "InboundFunction"):
        environment = function_environment(template, function, refs, parameters)
        assert environment["CONFIGURATION_SET"] == expected


def test_the_status_function_may_only_read_and_update_appointments_items_and_publish_to_the_bus(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["StatusFunctionRole"]
    statements = {s.get("Sid"): s for s in _own_statements(role)}

    assert set(statements) == {"StatusQueueConsume", "MessageStatus", "DeliveryFailedEvents"}
    assert _as_list(statements["MessageStatus"]["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    assert statements["MessageStatus"]["Resource"] == {"Fn::GetAtt": ["AppointmentsTable", "Arn"]}
    assert statements["DeliveryFailedEvents"]["Resource"] == {
        "Fn::GetAtt": ["ReachEventBus", "Arn"]
    }
    assert statements["StatusQueueConsume"]["Resource"] == {"Fn::GetAtt": ["StatusQueue", "Arn"]}


# --- List imports --------------------------------------------------------------------------


def test_import_files_are_private_encrypted_short_lived_and_reach_the_importer(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    bucket = template["Resources"]["ImportBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] <= 7
    assert bucket["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    # The importer is invoked for objects created under imports/ in this bucket only.
    rules = _resources(transformed, "AWS::Events::Rule")
    (upload,) = [
        r["Properties"]
        for r in rules.values()
        if r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] == "ImporterFunction"
    ]
    pattern = upload["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "ImportBucket"}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "imports/"}]
    # It reads import files and nothing else from S3.
    statements = {
        s["Sid"]: s for s in _inline_statements(transformed["Resources"]["ImporterFunctionRole"])
    }
    assert _as_list(statements["ReadImportFiles"]["Action"]) == ["s3:GetObject"]
    assert statements["ReadImportFiles"]["Resource"] == {"Fn::Sub": "${ImportBucket.Arn}/imports/*"}
    assert not any(
        "s3:" in action and sid != "ReadImportFiles"
        for sid, statement in statements.items()
        for action in _as_list(statement["Action"])
    )
