"""Reading the items a batch of sends needs in one BatchGetItem, across both tables.

A sender's batch needs each message's subject (a reminder's appointment) and its recipient's
contact (consent and the caps). Read one at a time that is two calls a text; read together it
is one call for up to 100 items, whichever tables they live in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

#: BatchGetItem's limit on keys per call.
KEYS_PER_CALL = 100
#: Calls spent on keys DynamoDB left unprocessed (it does so under throttling) before giving
#: up; the caller's batch is then retried by the queue.
_UNPROCESSED_ROUNDS = 4


@dataclass(frozen=True)
class ItemKey:
    """One item to read: the table's root model (whose discriminator picks the item class)
    and the item's key."""

    model: type[Model]
    pk: str
    sk: str


class UnreadItems(RuntimeError):
    """DynamoDB kept some keys unprocessed; nothing about them is known."""


class BatchReader:
    """Strongly consistent batch reads: a consent revoked a moment ago must be seen."""

    def read(self, keys: Iterable[ItemKey]) -> dict[ItemKey, Any]:
        """The items that exist, by key; a missing item is simply absent."""
        wanted = list(dict.fromkeys(keys))
        found: dict[ItemKey, Any] = {}
        for start in range(0, len(wanted), KEYS_PER_CALL):
            found |= self._read_call(wanted[start : start + KEYS_PER_CALL])
        return found

    def _read_call(self, keys: list[ItemKey]) -> dict[ItemKey, Any]:
        if not keys:
            return {}
        by_table: dict[str, type[Model]] = {}
        request: dict[str, Any] = {}
        for key in keys:
            table = str(key.model.Meta.table_name)
            by_table[table] = key.model
            request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(
                {"pk": {"S": key.pk}, "sk": {"S": key.sk}}
            )
        client: Any = keys[0].model._get_connection().connection.client
        found: dict[ItemKey, Any] = {}
        for _ in range(_UNPROCESSED_ROUNDS):
            response = client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                model = by_table[table]
                for raw in items:
                    item = model.from_raw_data(raw)
                    found[ItemKey(model, raw["pk"]["S"], raw["sk"]["S"])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise UnreadItems(
            f"DynamoDB left {sum(len(t['Keys']) for t in request.values())} keys unread"
        )
