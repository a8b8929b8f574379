"""template.yaml's operations side (issue 15): the dashboard reads metrics the functions
really emit, every alarm notifies the DevOps topic, per-tenant throttling is keyed by the
authorizer, and the optional customer-managed key covers every table, queue and topic."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reach_tools import template_check
from reach_tools.template import REPO_ROOT, load_template

FUNCTIONS = (
    "Api",
    "Authorizer",
    "Dispatcher",
    "Sender",
    "Inbound",
    "Status",
    "Reconciler",
    "Importer",
)
DEAD_LETTER_QUEUES = ("SendDeadLetterQueue", "InboundDeadLetterQueue", "StatusDeadLetterQueue")
#: Dead-letter queues that exist only with an option (the FHIR write-back): alarmed, but
#: not on the dashboard, whose body cannot name a resource the stack may not have.
OPTIONAL_DEAD_LETTER_QUEUES = ("FhirWriteBackDeadLetterQueue",)
#: What issue 15 asks the dashboard to show, as the metrics that carry it.
DASHBOARD_FIGURES = {
    "sent": "RemindersSent",
    "delivered": "MessagesDelivered",
    "undelivered": "MessagesUndelivered",
    "held": "RemindersHeld",
    "skipped": "RemindersSkipped",
    "opt-outs": "OptedOutByReply",
    "replies by intent": "Replies",
    "sender throttles": "SendsThrottled",
    "tick duration": "TickDuration",
    "oldest due age": "OldestDueAge",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body with every ${...} of its Fn::Sub replaced, as CloudFormation would."""
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    numbers = {"DeliveryFailureAlarmPercent", "OptOutSpikePerHour", "DispatchLagAlarmSeconds"}
    resolved = re.sub(
        r"\$\{([^}]+)\}", lambda m: "10" if m.group(1) in numbers else f"<{m.group(1)}>", body
    )
    parsed: dict[str, Any] = json.loads(resolved)
    return parsed


def emitted_metric_names() -> set[str]:
    """Every metric name the code passes to Powertools: name="...", the sender's and the
    status function's outcome tables, and the dispatcher's and reconciler's report pairs."""
    names: set[str] = set()
    for folder in ("functions", "layers/reach/reach"):
        for path in Path(REPO_ROOT, folder).rglob("*.py"):
            text = path.read_text()
            if "add_metric" not in text and "single_metric" not in text:
                continue
            names |= set(re.findall(r'name="([A-Z][A-Za-z]+)"', text))
            names |= set(re.findall(r':\s*"([A-Z][A-Za-z]+)",?\n', text))
            names |= set(re.findall(r'\("([A-Z][A-Za-z]+)", report\.', text))
    return names


def reach_metrics(widget_or_alarm: Any) -> set[str]:
    """The Reach-namespace metric names a dashboard or alarm definition reads."""
    text = json.dumps(widget_or_alarm)
    rows = re.findall(r'\["Reach", "([A-Za-z]+)"', text)
    alarm = re.findall(r'"Namespace": "Reach", "MetricName": "([A-Za-z]+)"', text)
    searched = re.findall(r'MetricName=\\"([A-Za-z]+)\\"', text)
    return set(rows) | set(alarm) | set(searched)


def test_the_dashboard_shows_every_figure_the_issue_names_and_every_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    body = dashboard(template)
    shown = reach_metrics(body)

    assert set(DASHBOARD_FIGURES.values()) <= shown
    text = json.dumps(body)
    for queue in DEAD_LETTER_QUEUES:
        assert f"<{queue}.QueueName>" in text
    # replies by intent: every intent the inbound function counts, found by SEARCH
    assert "{Reach,intent,service}" in text


def test_every_reach_metric_the_dashboard_and_alarms_read_is_one_the_code_emits(
    template: dict[str, Any],
) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    read = reach_metrics(dashboard(template)) | reach_metrics(alarms)

    assert read
    assert read - emitted_metric_names() == set()


def test_every_dead_letter_queue_and_every_function_has_an_alarm_that_notifies_devops(
    template: dict[str, Any],
) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    watched_queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    }
    watched_functions = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "Errors"
    }

    assert watched_queues == set(DEAD_LETTER_QUEUES + OPTIONAL_DEAD_LETTER_QUEUES)
    assert watched_functions == {f"{name}Function" for name in FUNCTIONS}
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_the_delivery_failure_rate_is_undelivered_over_all_final_receipts(
    template: dict[str, Any],
) -> None:
    metrics = template["Resources"]["DeliveryFailureRateAlarm"]["Properties"]["Metrics"]
    [rate] = [m for m in metrics if m.get("ReturnData")]

    assert "100 * undelivered / (delivered + undelivered)" in rate["Expression"]
    read = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m}
    assert read == {"delivered": "MessagesDelivered", "undelivered": "MessagesUndelivered"}


def test_a_dispatcher_that_stops_ticking_raises_the_lag_alarm(template: dict[str, Any]) -> None:
    lag = template["Resources"]["DispatchLagAlarm"]["Properties"]

    assert lag["MetricName"] == "OldestDueAge"
    assert lag["Threshold"] == {"Ref": "DispatchLagAlarmSeconds"}
    assert lag["TreatMissingData"] == "breaching"


def test_the_alarm_email_is_subscribed_only_when_given(template: dict[str, Any]) -> None:
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    subscription = template["Resources"]["AlarmEmailSubscription"]

    assert subscription["Condition"] == "MailsAlarms"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Conditions"]["MailsAlarms"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    pattern = re.compile(template["Parameters"]["AlarmEmail"]["AllowedPattern"])
    assert pattern.match("devops@example.com")
    assert pattern.match("")
    assert not pattern.match("not an address")


def test_api_keys_come_from_the_authorizer_and_every_method_requires_one() -> None:
    transformed = template_check.transform(load_template())
    api = transformed["Resources"]["ReachApi"]["Properties"]

    assert api["ApiKeySourceType"] == "AUTHORIZER"
    for path, methods in api["Body"]["paths"].items():
        for method, operation in methods.items():
            assert {"api_key": []} in operation["security"], (path, method)
    plan = transformed["Resources"]["TenantUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "ReachApi"}, "Stage": {"Ref": "ReachApiStage"}}]
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": "TenantRateLimit"},
        "BurstLimit": {"Ref": "TenantBurstLimit"},
    }


def test_a_tenant_without_a_usage_key_gets_the_one_error_shape(template: dict[str, Any]) -> None:
    response = template["Resources"]["ReachApi"]["Properties"]["GatewayResponses"][
        "INVALID_API_KEY"
    ]

    assert response["StatusCode"] == 403
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert body["error"] == "forbidden"


def _if_key(value: Any) -> bool:
    return value == {"Fn::If": ["UsesCustomerKey", {"Ref": "ReachKey"}, {"Ref": "AWS::NoValue"}]}


def test_the_customer_managed_key_encrypts_every_table_queue_and_topic_when_chosen(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["CustomerManagedKey"]["Default"] == "false"
    assert template["Resources"]["ReachKey"]["Condition"] == "UsesCustomerKey"
    assert template["Resources"]["ReachKey"]["Properties"]["EnableKeyRotation"] is True

    for logical_id, table in resources(template, "AWS::DynamoDB::Table").items():
        assert _if_key(table["Properties"]["SSESpecification"]["KMSMasterKeyId"]), logical_id
    for logical_id, queue in resources(template, "AWS::SQS::Queue").items():
        assert _if_key(queue["Properties"]["KmsMasterKeyId"]), logical_id
        assert queue["Properties"]["SqsManagedSseEnabled"] == {
            "Fn::If": ["UsesCustomerKey", False, True]
        }, logical_id
    for logical_id, topic in resources(template, "AWS::SNS::Topic").items():
        assert _if_key(topic["Properties"]["KmsMasterKeyId"]), logical_id


def test_the_key_lets_the_services_that_deliver_to_the_stack_use_it_for_this_account_only(
    template: dict[str, Any],
) -> None:
    statements = template["Resources"]["ReachKey"]["Properties"]["KeyPolicy"]["Statement"]
    [services] = [s for s in statements if "Service" in s["Principal"]]

    assert set(services["Principal"]["Service"]) == {
        "sns.amazonaws.com",
        "sms-voice.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    assert set(services["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert services["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_each_function_may_use_the_key_only_when_the_stack_has_one(
    template: dict[str, Any],
) -> None:
    for name in FUNCTIONS:
        statements = template["Resources"][f"{name}Function"]["Properties"]["Policies"][0][
            "Statement"
        ]
        [grant] = [s for s in statements if "Fn::If" in s and s["Fn::If"][0] == "UsesCustomerKey"]
        _, when_set, when_not = grant["Fn::If"]
        assert when_not == {"Ref": "AWS::NoValue"}, name
        assert when_set["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"], name
        assert when_set["Resource"] == {"Fn::GetAtt": ["ReachKey", "Arn"]}, name


def test_the_template_transforms_with_the_key_and_the_alarm_email_set(
    template: dict[str, Any],
) -> None:
    transformed = template_check.transform(
        template,
        parameter_values={"CustomerManagedKey": "true", "AlarmEmail": "devops@example.com"},
    )

    assert transformed["Resources"]["ReachKey"]["Type"] == "AWS::KMS::Key"
    assert transformed["Outputs"]["StackKeyArn"]["Condition"] == "UsesCustomerKey"
