"""Reading why a DynamoDB transaction failed, including when it never got an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError

from reach.data.transactions import CONDITION_FAILED, cancelled_by, condition_failed

_NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


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


def _condition_failed_cause() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "UpdateItem"
    )


def test_a_write_refused_by_its_condition_is_read_as_such() -> None:
    assert condition_failed(UpdateError("Failed to update item", _condition_failed_cause()))
    assert condition_failed(PutError("Failed to put item", _condition_failed_cause()))


def test_a_write_that_timed_out_or_was_throttled_is_not_a_failed_condition() -> None:
    timed_out = PutError("Failed to put item", ReadTimeoutError(endpoint_url="http://x/"))
    throttled = UpdateError(
        "Failed to update item",
        ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "UpdateItem"),
    )

    # PynamoDB's own reading raises AttributeError on the timeout
    with pytest.raises(AttributeError):
        _ = timed_out.cause_response_code
    assert condition_failed(timed_out) is False
    assert condition_failed(throttled) is False
    assert condition_failed(DeleteError("Failed to delete item")) is False


def test_a_timed_out_pacing_reservation_surfaces_as_the_write_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a pace item whose conditional update never gets an answer
    from reach.data import pacing

    def times_out(self: object, *args: object, **kwargs: object) -> None:
        raise UpdateError("Failed to update item", ReadTimeoutError(endpoint_url="http://x/"))

    monkeypatch.setattr(pacing.PaceItem, "update", times_out)
    gate = pacing.ThroughputGate("sc-1", 100, clock=lambda: _NOW, sleep=lambda _s: None)

    # when a batch is appended to the schedule, then the write's own error comes out (retried
    # by the caller as a failed write), not an AttributeError, and not "the schedule is idle"
    with pytest.raises(UpdateError):
        gate._extend(_NOW, timedelta(seconds=1))


def test_no_data_module_reads_pynamodb_s_own_response_code() -> None:
    # cause_response_code raises AttributeError on a timeout; condition_failed replaces it
    layer = Path(__file__).resolve().parents[2] / "layers" / "reach" / "reach"
    readers = [
        path.relative_to(layer).as_posix()
        for path in layer.rglob("*.py")
        if "cause_response_code" in path.read_text().replace("``cause_response_code``", "")
    ]
    assert readers == []
