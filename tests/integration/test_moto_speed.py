"""The embedded DynamoDB answers Queries and transactions exactly as moto does, at the cost of
what they read and write, not of the whole table (reach_tools.local.moto_speed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from conftest import pk_sk_table
from reach_tools.local import moto_speed
from reach_tools.local.embedded import untracked_moto_models

TABLE = "speed"
PARTITIONS = 30
PER_PARTITION = 12


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        pk_sk_table(
            client,
            TABLE,
            attributes=("gsi_pk", "gsi_sk"),
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "due",
                    "KeySchema": [
                        {"AttributeName": "gsi_pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi_sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        for p in range(PARTITIONS):
            for s in range(PER_PARTITION):
                item = {"pk": {"S": f"p{p:02d}"}, "sk": {"S": f"s{s:02d}"}, "n": {"N": str(s)}}
                if s % 3:  # a third of the items are not in the index
                    item |= {"gsi_pk": {"S": f"shard{(p + s) % 4}"}, "gsi_sk": {"S": f"{s % 5}"}}
                client.put_item(TableName=TABLE, Item=item)
        yield client


def _queries(client: Any) -> list[Any]:
    """Table and index Queries, forward and back, conditions on the sort key, and pages."""
    answers: list[Any] = []
    asks: list[dict[str, Any]] = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p07"}}},
        {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":p": {"S": "p03"},
                ":a": {"S": "s02"},
                ":b": {"S": "s08"},
            },
            "ScanIndexForward": False,
        },
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
        {
            "IndexName": "due",
            "KeyConditionExpression": "gsi_pk = :s AND gsi_sk <= :d",
            "ExpressionAttributeValues": {":s": {"S": "shard1"}, ":d": {"S": "3"}},
        },
        {
            "IndexName": "due",
            "KeyConditionExpression": "gsi_pk = :s",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":s": {"S": "shard2"}, ":n": {"N": "4"}},
            "ScanIndexForward": False,
        },
    ]
    for ask in asks:
        for limit in (None, 7):
            pages, start = [], None
            while True:
                extra = ({"Limit": limit} if limit else {}) | (
                    {"ExclusiveStartKey": start} if start else {}
                )
                page = client.query(TableName=TABLE, **ask, **extra)
                pages.append((page["Items"], page.get("LastEvaluatedKey")))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            answers.append(pages)
    return answers


def test_queries_answer_exactly_what_moto_answers(dynamodb: Any) -> None:
    # given moto's own answers to table and index Queries, paged and not
    expected = _queries(dynamodb)
    assert any(len(pages) > 1 for pages in expected)  # some are paged

    # when the same Queries run while an embedded AWS runs
    with untracked_moto_models():
        answered = _queries(dynamodb)

    # then the items, their order and the pages are the same
    assert answered == expected


@contextmanager
def _counting(name: str) -> Iterator[list[int]]:
    """Counts calls to moto's own ``name`` while the patches are in."""
    calls = [0]
    original: Callable[..., Any] = moto_speed._originals[name]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    moto_speed._originals[name] = counted
    try:
        yield calls
    finally:
        moto_speed._originals[name] = original


def test_a_query_no_longer_sorts_the_whole_table(dynamodb: Any) -> None:
    # given moto's all-items sort, counted
    with untracked_moto_models(), _counting("all_items") as sorted_whole_table:
        # when table and index Queries run
        _queries(dynamodb)

        # then none of them sorted every item of the table
        assert sorted_whole_table == [0]
        # and a Scan, which needs moto's whole-table order, still gets it
        dynamodb.scan(TableName=TABLE, Limit=5)
        assert sorted_whole_table == [1]


def _transaction(client: Any, *, fail: bool) -> None:
    key = {"pk": {"S": "p01"}, "sk": {"S": "s01"}}
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}, "sk": {"S": "x"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key,
                    "UpdateExpression": "SET n = :n, gsi_pk = :s",
                    "ExpressionAttributeValues": {":n": {"N": "99"}, ":s": {"S": "shard9"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "p02"}, "sk": {"S": "s02"}}}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "p05"}, "sk": {"S": "s05"}},
                    "ConditionExpression": "n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "-1" if fail else "5"}},
                }
            },
        ]
    )


def _everything(client: Any) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_a_failed_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    before = _everything(dynamodb)
    with untracked_moto_models():
        # given the table object moto holds
        table = _table()

        # when a transaction writes, updates and deletes, then fails its last condition
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            _transaction(dynamodb, fail=True)

        # then every item is back as it was, the new one absent, in the same table object
        # (moto's own rollback would have put back a copy of the whole table)
        assert _everything(dynamodb) == before
        assert _table() is table
        shard9 = dynamodb.query(
            TableName=TABLE,
            IndexName="due",
            KeyConditionExpression="gsi_pk = :s",
            ExpressionAttributeValues={":s": {"S": "shard9"}},
        )
        assert shard9["Items"] == []


def _reset(client: Any, items: list[dict[str, Any]]) -> None:
    for item in _everything(client):
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    for item in items:
        client.put_item(TableName=TABLE, Item=item)


def test_a_transaction_that_succeeds_writes_what_moto_writes(dynamodb: Any) -> None:
    # given moto's own result of the transaction
    before = _everything(dynamodb)
    _transaction(dynamodb, fail=False)
    expected = _everything(dynamodb)
    assert expected != before
    assert {"pk": {"S": "new"}, "sk": {"S": "x"}} in expected

    # when the same items take the same transaction while an embedded AWS runs
    _reset(dynamodb, before)
    with untracked_moto_models():
        _transaction(dynamodb, fail=False)

        # then the table holds exactly what moto's own transaction left
        assert _everything(dynamodb) == expected


def _table() -> Table:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[TABLE]


def test_moto_is_itself_again_once_the_embedded_run_stops(dynamodb: Any) -> None:
    original_query = Table.__dict__["query"]
    with untracked_moto_models():
        assert Table.__dict__["query"] is not original_query
    assert Table.__dict__["query"] is original_query
    assert "__deepcopy__" not in Table.__dict__


def _writes_and_queries(client: Any) -> list[Any]:
    """Index Queries after each kind of write: what an index Query finds follows every write."""

    def shard(name: str) -> list[dict[str, Any]]:
        return client.query(  # type: ignore[no-any-return]
            TableName=TABLE,
            IndexName="due",
            KeyConditionExpression="gsi_pk = :s",
            ExpressionAttributeValues={":s": {"S": name}},
        )["Items"]

    seen = [shard("shard1"), shard("shard7")]
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "w"}, "sk": {"S": "1"}, "gsi_pk": {"S": "shard7"}, "gsi_sk": {"S": "1"}},
    )
    seen.append(shard("shard7"))
    client.update_item(  # moves an item from one index partition to another, in place
        TableName=TABLE,
        Key={"pk": {"S": "p00"}, "sk": {"S": "s01"}},
        UpdateExpression="SET gsi_pk = :s",
        ExpressionAttributeValues={":s": {"S": "shard7"}},
    )
    seen += [shard("shard1"), shard("shard7")]
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "w"}, "sk": {"S": "1"}})
    seen.append(shard("shard7"))
    client.batch_write_item(
        RequestItems={
            TABLE: [
                {"DeleteRequest": {"Key": {"pk": {"S": "p00"}, "sk": {"S": "s01"}}}},
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": "b"},
                            "sk": {"S": "1"},
                            "gsi_pk": {"S": "shard1"},
                            "gsi_sk": {"S": "0"},
                        }
                    }
                },
            ]
        }
    )
    seen += [shard("shard1"), shard("shard7")]
    _transaction(client, fail=False)
    seen.append(shard("shard9"))
    return seen


def test_index_queries_see_every_write_as_moto_does(dynamodb: Any) -> None:
    # given what plain moto's index Queries find after puts, in-place updates, deletes,
    # batch writes and a transaction
    before = _everything(dynamodb)
    expected = _writes_and_queries(dynamodb)
    assert expected[1] == []
    assert expected[2] != []

    # when the same writes and Queries run while an embedded AWS runs
    _reset(dynamodb, before)
    with untracked_moto_models():
        found = _writes_and_queries(dynamodb)

    # then each Query finds the same items, in the same order
    assert found == expected


def test_a_retried_transaction_with_its_token_succeeds_again_without_writing(
    dynamodb: Any,
) -> None:
    def transaction(n: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "p00"}, "sk": {"S": "s00"}},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "n = :was",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":was": {"N": str(n)}},
            }
        }

    def stored_n() -> str:
        key = {"pk": {"S": "p00"}, "sk": {"S": "s00"}}
        return str(dynamodb.get_item(TableName=TABLE, Key=key)["Item"]["n"]["N"])

    with untracked_moto_models():
        dynamodb.transact_write_items(TransactItems=[transaction(0)], ClientRequestToken="t1")
        # botocore's retry of the same call: the same token and items, after it was applied
        dynamodb.transact_write_items(TransactItems=[transaction(0)], ClientRequestToken="t1")
        assert stored_n() == "1"
        # another call (another token) meets the conditions as they are now
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[transaction(0)], ClientRequestToken="t2")
        # and the same token with other items is refused, as DynamoDB does
        with pytest.raises(dynamodb.exceptions.IdempotentParameterMismatchException):
            dynamodb.transact_write_items(TransactItems=[transaction(1)], ClientRequestToken="t1")
        assert stored_n() == "1"
    # plain moto ignores the token: the retry fails its own condition
    dynamodb.transact_write_items(TransactItems=[transaction(1)], ClientRequestToken="t3")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[transaction(1)], ClientRequestToken="t3")
