"""Reading why DynamoDB cancelled a transaction.

A ``TransactionCanceledException`` says only that the transaction did not happen. Its
cancellation reasons, one per item, say why: a condition that failed is a conflict the
caller can answer (already exists, changed meanwhile); a ``ValidationError`` (an attribute
DynamoDB cannot store) or throttling is not, and must not be reported as one.
"""

from __future__ import annotations

from collections.abc import Collection

from pynamodb.exceptions import TransactWriteError

#: The reason DynamoDB gives an item whose condition expression failed.
CONDITION_FAILED = "ConditionalCheckFailed"


def cancelled_by(error: TransactWriteError, reasons: Collection[str] = (CONDITION_FAILED,)) -> bool:
    """Whether DynamoDB cancelled the transaction for ``reasons`` and nothing else.

    Items that were fine carry the code ``None``; every other code must be one of
    ``reasons``. A cancellation without reasons cannot be read, so it is not taken for a
    conflict either: the caller re-raises it.
    """
    if error.cause_response_code != "TransactionCanceledException":
        return False
    codes = {
        reason.code
        for reason in error.cancellation_reasons or ()
        if reason is not None and reason.code not in (None, "None")
    }
    return bool(codes) and codes <= set(reasons)
