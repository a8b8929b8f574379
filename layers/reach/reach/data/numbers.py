"""The pace each sending number is granted, read in batches by the dispatcher and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from reach.data.tables import NUMBER_SK, SenderNumberItem, TenantsTableItem, number_pk
from reach.data.transactions import condition_failed
from reach.domain.errors import NotFound
from reach.domain.numbers import DEFAULT_MPS, Throughput, throughput


@dataclass(frozen=True)
class NumberRecord:
    """A sending number as Reach recorded it: whose it is and the pace it is given."""

    e164: str
    tenant_id: str
    throughput: Throughput
    recorded: bool
    """False for a number recorded before numbers had a type: it runs at the stack's pace."""

    @property
    def mps_is_default(self) -> bool:
        """Whether the pace is its type's default (no grant of its own was recorded)."""
        return self.throughput.mps == DEFAULT_MPS[self.throughput.origination_type]


def number_item(tenant_id: str, e164: str, value: Throughput | None) -> SenderNumberItem:
    """The ``number#`` item that gives ``e164`` to ``tenant_id``, with its pace when known."""
    item = SenderNumberItem(pk=number_pk(e164), sk=NUMBER_SK, tenant_id=tenant_id)
    if value is not None:
        item.origination_type = value.origination_type.value
        item.mps = value.mps
    return item


class NumberRepository:
    """Sending numbers' throughput records (the ``number#<e164>`` items that also route replies).

    ``fallback`` is the stack's own origination settings: the pace of a number recorded before
    numbers carried a type.
    """

    def __init__(self, fallback: Throughput) -> None:
        self._fallback = fallback

    @property
    def fallback(self) -> Throughput:
        """The stack's own origination settings."""
        return self._fallback

    def throughputs(self, numbers: Iterable[str]) -> dict[str, Throughput]:
        """Each known number's throughput: one BatchGetItem per 100 numbers. A number with no
        record is left out (it belongs to no tenant, so nothing may be sent from it)."""
        keys = [(number_pk(e164), NUMBER_SK) for e164 in dict.fromkeys(numbers)]
        found: dict[str, Throughput] = {}
        if not keys:
            return found
        for item in SenderNumberItem.batch_get(keys):
            e164 = item.pk.removeprefix("number#")
            found[e164] = throughput(item.origination_type, item.mps, self._fallback)
        return found

    def get(self, e164: str) -> NumberRecord:
        """One number's record; NotFound when no tenant sends from it."""
        try:
            item = SenderNumberItem.get(number_pk(e164), NUMBER_SK)
        except DoesNotExist as error:
            raise NotFound(f"no tenant sends from {e164}") from error
        return self._record(item)

    def list_all(self) -> list[NumberRecord]:
        """Every sending number, by number. Admin tooling only: it scans the tenants table."""
        condition = TenantsTableItem.item_type == SenderNumberItem
        return sorted(
            (self._record(item) for item in SenderNumberItem.scan(condition)),
            key=lambda record: record.e164,
        )

    def _record(self, item: SenderNumberItem) -> NumberRecord:
        return NumberRecord(
            e164=item.pk.removeprefix("number#"),
            tenant_id=item.tenant_id,
            throughput=throughput(item.origination_type, item.mps, self._fallback),
            recorded=bool(item.origination_type),
        )

    def throughput_of(self, e164: str) -> Throughput:
        """One number's throughput (the stack's own when the number has no record)."""
        return self.throughputs([e164]).get(e164, self._fallback)

    def set_throughput(self, e164: str, value: Throughput) -> None:
        """Record a number's type and pace; the number must already belong to a tenant."""
        item = SenderNumberItem(pk=number_pk(e164), sk=NUMBER_SK)
        try:
            item.update(
                actions=[
                    SenderNumberItem.origination_type.set(value.origination_type.value),
                    SenderNumberItem.mps.set(value.mps),
                ],
                condition=SenderNumberItem.pk.exists(),
            )
        except UpdateError as error:
            if condition_failed(error):
                raise NotFound(f"no tenant sends from {e164}") from error
            raise
