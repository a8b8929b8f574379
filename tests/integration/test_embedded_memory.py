"""A long local run stays flat: moto lists no model instances while an embedded AWS runs, and
what it keeps of texts and deleted messages is capped (docs/facts.md#moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.common_models import BaseModel
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from reach_tools.bench.harness import embedded_aws
from reach_tools.local.embedded import (
    REGION,
    EmbeddedAws,
    ForgetfulHandles,
    RecentTexts,
    _untracked_new,
    resume_tracking_moto_models,
    stop_tracking_moto_models,
    tracked_moto_models,
)
from reach_tools.template import load_template

ROUNDS = 200


@pytest.fixture(autouse=True)
def fake_aws_environment() -> None:
    """Replaces the shared fixture: the embedded AWS sets its own fake environment."""


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    embedded = EmbeddedAws(load_template(), table_prefix="test-memory")
    embedded.start()
    yield embedded
    embedded.stop()


def _one_item_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "body": {"S": "x" * 1000}})


def _read_and_update(dynamodb: Any, name: str, rounds: int) -> None:
    for n in range(rounds):
        dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})
        dynamodb.update_item(
            TableName=name,
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": str(n)}},
        )


def test_reading_and_updating_one_item_many_times_lists_no_moto_instance(
    aws: EmbeddedAws,
) -> None:
    # given one item in the embedded DynamoDB
    dynamodb = aws.client("dynamodb")
    _one_item_table(dynamodb, "test-memory-one")
    before = tracked_moto_models()

    # when it is read and updated many times (each a new moto Item: a copy, a new version)
    _read_and_update(dynamodb, "test-memory-one", ROUNDS)

    # then moto's class-level lists hold none of them, and the item is still there
    assert tracked_moto_models() == before == 0
    item = dynamodb.get_item(TableName="test-memory-one", Key={"pk": {"S": "a"}})["Item"]
    assert item["n"] == {"N": str(ROUNDS - 1)}


def test_messages_sent_received_and_deleted_list_no_moto_instance_and_cap_handles(
    aws: EmbeddedAws,
) -> None:
    # given the template's send queue
    sqs = aws.sqs()
    url = aws.queue_urls["SendQueue"]

    # when messages pass through it
    for n in range(ROUNDS // 4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # then moto lists none of them, and its deleted handles are the capped kind
    assert tracked_moto_models() == 0
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[aws.queue_names["SendQueue"]]
    assert isinstance(queue.deleted_messages, ForgetfulHandles)
    assert isinstance(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages, RecentTexts)


def test_the_benchmarks_moto_lists_no_instance_either() -> None:
    # given the benchmarks' in-process moto
    with embedded_aws("test-memory-bench") as bench:
        _one_item_table(bench.dynamodb, "test-memory-bench-one")

        # when one item is read and updated many times
        _read_and_update(bench.dynamodb, "test-memory-bench-one", ROUNDS // 4)

        # then moto lists none of the copies
        assert tracked_moto_models() == 0


def test_moto_tracks_again_only_once_the_last_of_two_runs_stops() -> None:
    before = BaseModel.__dict__["__new__"]
    # given two runs that stopped moto's tracking, one inside the other
    stop_tracking_moto_models()
    stop_tracking_moto_models()
    try:
        # when the inner one ends, the outer still runs untracked
        resume_tracking_moto_models()
        assert BaseModel.__dict__["__new__"].__func__ is _untracked_new
    finally:
        resume_tracking_moto_models()
    # then after the outer one, __new__ is what it was before both
    assert BaseModel.__dict__["__new__"] is before


def test_the_kept_texts_are_the_latest_ones_up_to_the_limit() -> None:
    # given a cap of three texts, over two already kept
    texts = RecentTexts({"m1": ("+1", "a"), "m2": ("+1", "b")}, limit=3)

    # when three more come
    for n in (3, 4, 5):
        texts[f"m{n}"] = ("+1", str(n))

    # then the three latest are kept, oldest first
    assert list(texts) == ["m3", "m4", "m5"]


def test_deleted_handles_are_forgotten_once_past_the_limit() -> None:
    # given a cap of three handles
    handles = ForgetfulHandles(limit=3)

    # when they stay within it, all are remembered (a repeated delete stays harmless)
    handles.update(["h1", "h2"])
    handles.add("h3")
    assert handles == {"h1", "h2", "h3"}

    # and when one more passes it, all are forgotten
    handles.update(["h4"])
    assert handles == set()


def test_the_queue_still_counts_delayed_and_in_flight_messages(aws: EmbeddedAws) -> None:
    # given a queue with one message delayed, one received (in flight) and one waiting
    sqs = aws.sqs()
    url = sqs.create_queue(QueueName="test-memory-counts")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.send_message(QueueUrl=url, MessageBody="taken")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)
    sqs.send_message(QueueUrl=url, MessageBody="waiting")

    # when its attributes are read, with the counts that read the clock once
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    # then each count is right
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attributes["ApproximateNumberOfMessages"] == "1"
