"""The pace each sending number is granted, read in batches by the dispatcher and the API."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import UpdateError

from reach.data.tables import NUMBER_SK, SenderNumberItem, number_pk
from reach.domain.errors import NotFound
from reach.domain.numbers import Throughput, throughput


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
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound(f"no tenant sends from {e164}") from error
            raise
