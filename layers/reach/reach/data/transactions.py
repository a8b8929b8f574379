"""Reading why DynamoDB refused a write or cancelled a transaction.

A ``TransactionCanceledException`` says only that the transaction did not happen. Its
cancellation reasons, one per item, say why: a condition that failed is a conflict the
caller can answer (already exists, changed meanwhile); a ``ValidationError`` (an attribute
DynamoDB cannot store) or throttling is not, and must not be reported as one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

#: The error DynamoDB answers a single write whose condition expression failed with.
CONDITION_FAILED_ERROR = "ConditionalCheckFailedException"
#: The reason DynamoDB gives an item whose condition expression failed.
CONDITION_FAILED = "ConditionalCheckFailed"
#: The reason given to an item another transaction was changing at the same moment.
TRANSACTION_CONFLICT = "TransactionConflict"


def cancelled_by(error: TransactWriteError, reasons: Collection[str] = (CONDITION_FAILED,)) -> bool:
    """Whether DynamoDB cancelled the transaction for ``reasons`` and nothing else.

    Items that were fine carry the code ``None``; every other code must be one of
    ``reasons``. A cancellation without reasons cannot be read, so it is not taken for a
    conflict either: the caller re-raises it. Neither is a transaction that never got an
    answer (a read timeout: its cause carries no response at all).
    """
    if _response_code(error) != "TransactionCanceledException":
        return False
    codes = {
        reason.code
        for reason in error.cancellation_reasons or ()
        if reason is not None and reason.code not in (None, "None")
    }
    return bool(codes) and codes <= set(reasons)


def condition_failed(error: PynamoDBException) -> bool:
    """Whether DynamoDB refused a put, update or delete because its condition failed; False
    for every other error, and for a write that never got an answer (a read timeout), which
    the caller re-raises as it is."""
    return _response_code(error) == CONDITION_FAILED_ERROR


def _response_code(error: PynamoDBException) -> str | None:
    """The error code DynamoDB answered with; None when there was no answer. (PynamoDB's own
    ``cause_response_code`` raises AttributeError on a cause whose ``response`` is None, as a
    botocore read timeout's is: a timeout would surface under the wrong name.)"""
    response = getattr(error.cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


def failed_positions(error: TransactWriteError, code: str = CONDITION_FAILED) -> set[int]:
    """The positions (in the order the items were added) of the items cancelled for ``code``."""
    return {
        n
        for n, reason in enumerate(error.cancellation_reasons or ())
        if reason is not None and reason.code == code
    }


class TrackedTransaction(TransactWrite):
    """A ``TransactWrite`` that knows whose each item is.

    DynamoDB reports a cancellation's reasons by position in the request, but PynamoDB sends
    a transaction's items grouped by operation (condition checks, deletes, puts, then
    updates), not in the order they were added. Set ``owner`` before adding an owner's items;
    ``owners_at`` maps the positions of a cancellation back to those owners.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = 0
        self._owners: dict[str, list[int]] = {kind: [] for kind in _OPERATION_ORDER}

    def condition_check(self, *args: Any, **kwargs: Any) -> None:
        self._owners["condition_check"].append(self.owner)
        super().condition_check(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        self._owners["delete"].append(self.owner)
        super().delete(*args, **kwargs)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._owners["put"].append(self.owner)
        super().save(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._owners["update"].append(self.owner)
        super().update(*args, **kwargs)

    def owners_at(self, positions: Collection[int]) -> set[int]:
        order = [owner for kind in _OPERATION_ORDER for owner in self._owners[kind]]
        return {order[position] for position in positions if position < len(order)}


#: The order PynamoDB's ``transact_write_items`` lays a transaction's items out in.
_OPERATION_ORDER = ("condition_check", "delete", "put", "update")


class ItemsTouched(TransactWrite):
    """Collects the items that parts added to a transaction would touch, and writes nothing.

    DynamoDB refuses a transaction that names one item twice, so parts that other code builds
    (a send's guards) are first added here to learn their items, and those that share one go
    in different transactions.
    """

    def __init__(self) -> None:  # never entered: it has no connection and commits nothing
        self.items: set[tuple[str, str, str]] = set()

    def condition_check(self, model_cls: Any, hash_key: Any, *args: Any, **kwargs: Any) -> None:
        range_key = args[0] if args else kwargs.get("range_key")
        hashed, ranged = model_cls._serialize_keys(hash_key, range_key)
        self.items.add((str(model_cls.Meta.table_name), str(hashed), str(ranged)))

    def delete(self, model: Any, *args: Any, **kwargs: Any) -> None:
        self._add(model)

    def save(self, model: Any, *args: Any, **kwargs: Any) -> None:
        self._add(model)

    def update(self, model: Any, *args: Any, **kwargs: Any) -> None:
        self._add(model)

    def _add(self, model: Any) -> None:
        hashed, ranged = model._get_hash_range_key_serialized_values()
        self.items.add((str(type(model).Meta.table_name), str(hashed), str(ranged)))


def write_in_chunks(
    count: int,
    size: int,
    write: Callable[[list[int]], set[int] | None],
    *,
    max_conflicts: int,
    conflicted: Callable[[int], Exception],
) -> list[bool]:
    """Write ``count`` items ``size`` to a transaction; whether each one was written.

    ``write`` takes the positions of a chunk and returns the positions within it whose
    condition failed (empty: all written), or None when the transaction collided with
    another one. A transaction is all or nothing, so a chunk with failed conditions is
    written again without them: one more transaction at most, since the failed items are
    known by position. A chunk that keeps colliding raises ``conflicted(len(chunk))``.
    """
    written = [False] * count
    for start in range(0, count, size):
        chunk = list(range(start, min(start + size, count)))
        conflicts = 0
        while chunk:
            failed = write(chunk)
            if failed is None:  # a concurrent transaction on one of the items
                conflicts += 1
                if conflicts >= max_conflicts:
                    raise conflicted(len(chunk))
                continue
            if not failed:
                for i in chunk:
                    written[i] = True
                break
            chunk = [i for n, i in enumerate(chunk) if n not in failed]
    return written
