"""The table stream's event source mapping as the local run plays it (reach_tools.local.streams):
the template's filter, redelivery after a reported failure, and what the embedded DynamoDB
keeps of a stream (reach_tools.local.moto_speed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from conftest import pk_sk_table
from reach_tools.local.embedded import untracked_moto_models
from reach_tools.local.streams import StreamFeed, StreamMapping, matches, stream_mapping
from reach_tools.template import TemplateError

TABLE = "streamed"
NOTICES = ({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["notice"]}}}},)


def mapping(batch_size: int = 3, retries: int = 2) -> StreamMapping:
    return StreamMapping(TABLE, batch_size, NOTICES, retries, reports_batch_item_failures=True)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        pk_sk_table(
            client,
            TABLE,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        yield client


def put(client: Any, sk: str, kind: str = "notice", **extra: str) -> None:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}, "type": {"S": kind}}
    item |= {name: {"S": value} for name, value in extra.items()}
    client.put_item(TableName=TABLE, Item=item)


def feed() -> StreamFeed:
    return StreamFeed(mapping(), TABLE, account="123456789012", region="us-east-1")


def keys(batch: list[tuple[dict[str, Any], int]]) -> list[tuple[str, int]]:
    return [(record["dynamodb"]["NewImage"]["sk"]["S"], tries) for record, tries in batch]


def held() -> int:
    shard = dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE).stream_shard
    assert shard is not None
    return len(shard.items)


def test_the_filter_matches_exact_values_prefixes_and_nested_keys() -> None:
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": {"sk": {"S": "notice#ntc_1"}}}}

    assert matches({"eventName": ["INSERT", "MODIFY"]}, record)
    assert matches({"dynamodb": {"NewImage": {"sk": {"S": [{"prefix": "notice#"}]}}}}, record)
    assert not matches({"dynamodb": {"NewImage": {"sk": {"S": [{"prefix": "reminder#"}]}}}}, record)
    assert not matches({"eventName": ["REMOVE"]}, record)
    assert not matches({"dynamodb": {"OldImage": {"sk": {"S": ["x"]}}}}, record)  # absent key
    assert not matches({"eventName": {"S": ["INSERT"]}}, record)  # a level that is a leaf


@pytest.mark.parametrize(
    "pattern",
    [
        '{"eventName": "INSERT"}',  # a leaf that is not a list
        '{"eventName": [{"anything-but": ["REMOVE"]}]}',  # an operator not read here
        '["INSERT"]',
        "not json",
    ],
)
def test_a_filter_the_local_run_cannot_read_is_refused_not_guessed(pattern: str) -> None:
    template = {
        "Resources": {
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
                    "FilterCriteria": {"Filters": [{"Pattern": pattern}]},
                },
            }
        }
    }

    with pytest.raises(TemplateError):
        stream_mapping(template, "Fn")


def test_a_feed_hands_out_new_matching_records_in_order_a_batch_at_a_time(dynamodb: Any) -> None:
    stream = feed()
    for n in range(5):
        put(dynamodb, f"notice#{n}")
    put(dynamodb, "notice#last#on_the_way", kind="notice_mark")  # not passed by the filter
    dynamodb.update_item(  # a later change of a notice: not passed either
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "notice#0"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "sent"}},
    )

    first, second, third = stream.take(), stream.take(), stream.take()

    assert keys(first) == [("notice#0", 0), ("notice#1", 0), ("notice#2", 0)]
    assert keys(second) == [("notice#3", 0), ("notice#4", 0)]
    assert third == []
    numbers = [r["dynamodb"]["SequenceNumber"] for r, _ in first + second]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5


def test_a_reported_record_comes_back_with_those_after_it_until_its_retries_run_out(
    dynamodb: Any,
) -> None:
    stream = feed()
    for n in range(3):
        put(dynamodb, f"notice#{n}")
    batch = stream.take()
    failed = {batch[1][0]["dynamodb"]["SequenceNumber"]}

    stream.reported(batch, failed)
    again = stream.take()
    # as Lambda does from a stream: from the failed record on, the rest of the batch again
    assert keys(again) == [("notice#1", 1), ("notice#2", 1)]

    stream.reported(again, failed)
    last = stream.take()
    assert keys(last) == [("notice#1", 2), ("notice#2", 2)]
    stream.reported(last, failed)  # the mapping's 2 retries are spent: given up on

    assert stream.take() == []
    assert [r["dynamodb"]["NewImage"]["sk"]["S"] for r in stream.given_up] == [
        "notice#1",
        "notice#2",
    ]


def test_the_embedded_stream_keeps_only_what_the_filter_passes(dynamodb: Any) -> None:
    with untracked_moto_models():
        feed()  # registers the mapping's filter, as the local scheduler does
        for n in range(4):
            put(dynamodb, f"reminder#{n}", kind="reminder")
            put(dynamodb, f"notice#{n}")
        for n in range(4):
            put(dynamodb, f"notice#{n}", status="sent")  # changes

        # moto would hold all 16 records; the embedded stream holds the 4 it can hand out
        assert held() == 4


def test_the_embedded_stream_of_a_table_no_mapping_reads_keeps_nothing(dynamodb: Any) -> None:
    unread = "unread"
    dynamodb.create_table(
        TableName=unread,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    backend = dynamodb_backends["123456789012"]["us-east-1"]

    with untracked_moto_models():
        for n in range(5):
            dynamodb.put_item(TableName=unread, Item={"pk": {"S": f"k{n}"}})
        assert backend.get_table(unread).stream_shard.items == []
    dynamodb.put_item(TableName=unread, Item={"pk": {"S": "plain"}})  # plain moto keeps all
    assert len(backend.get_table(unread).stream_shard.items) == 1


def test_a_cancelled_transaction_leaves_nothing_on_the_stream(dynamodb: Any) -> None:
    def cancelled() -> None:
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": _item("notice#new")}},
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": _item("notice#taken"),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

    put(dynamodb, "notice#taken")
    before = held()
    cancelled()  # plain moto: its rollback swaps the table, stream and all
    assert held() == before
    with untracked_moto_models():
        cancelled()  # the embedded rollback puts items back and drops the records
        assert held() == before
        stream = feed()
        assert keys(stream.take()) == [("notice#taken", 0)]


def _item(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "p"}, "sk": {"S": sk}, "type": {"S": "notice"}}


def test_the_templates_notice_mapping_is_read_with_its_sizing() -> None:
    from reach_tools.template import load_template, resolve_find_in_map

    template = load_template()

    streamed = stream_mapping(template, "SenderFunction")

    queue_batch = template["Resources"]["SenderQueueMapping"]["Properties"]["BatchSize"]
    assert streamed.batch_size == resolve_find_in_map(template, queue_batch)
    assert streamed.table == "AppointmentsTable"
    assert streamed.retries == 5
    assert streamed.reports_batch_item_failures
