"""Reading why a DynamoDB transaction failed, including when it never got an answer."""

from __future__ import annotations

from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import TransactWriteError

from reach.data.transactions import CONDITION_FAILED, cancelled_by


def test_a_transaction_that_timed_out_is_not_taken_for_a_cancellation() -> None:
    # a read timeout's error has a response attribute of None, which PynamoDB's own
    # cause_response_code cannot read
    timed_out = TransactWriteError(
        "Failed to write transaction items",
        ReadTimeoutError(endpoint_url="http://127.0.0.1:4566/"),
    )

    assert cancelled_by(timed_out, (CONDITION_FAILED,)) is False


def test_a_throttled_transaction_is_not_taken_for_a_cancellation() -> None:
    cause = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "TransactWriteItems",
    )

    assert cancelled_by(TransactWriteError("Failed", cause), (CONDITION_FAILED,)) is False
