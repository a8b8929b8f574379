"""How long Reach keeps what people wrote and what it wrote to them.

Message bodies and inbound texts are kept ``retention_days`` (a tenant setting) after the
message was made; DynamoDB's TTL then deletes the message item (the table's TTL attribute is
``expires_at``, in epoch seconds). TTL deletes within days of the time, not at it
(docs/facts.md#dynamodb-ttl), so a reader must not rely on an expired item being gone.

Consent records (opt-outs and their source and time) never expire: an opt-out must be
honoured for as long as Reach might text the number again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reach.domain.errors import InvalidInput

#: Kept this long unless the tenant sets otherwise (README: "Retention and erasure").
DEFAULT_RETENTION_DAYS = 90
#: A day at least: a shorter retention would delete a reminder's text before its receipt.
MIN_RETENTION_DAYS = 1
#: Ten years: long enough for any medical-records rule we know of, short enough to be a choice.
MAX_RETENTION_DAYS = 3650


def retention_days(value: object, field: str = "retention_days") -> int:
    """A retention in whole days, checked (bools and fractions are refused, not coerced)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number of days")
    if not MIN_RETENTION_DAYS <= value <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            field, f"must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days"
        )
    return value


def expires_at(created_at: datetime, days: int) -> datetime:
    """When a message made at ``created_at`` may be deleted, kept ``days`` days."""
    return created_at + timedelta(days=days)


def epoch_seconds(moment: datetime) -> int:
    """The TTL attribute's value: whole seconds since the epoch (DynamoDB reads a Number)."""
    return int(moment.timestamp())
