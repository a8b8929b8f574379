"""A DynamoDB stream's event source mapping, played locally: template.yaml's mapping from a
table's stream to a function, its filter, and the records moto's stream holds.

Lambda polls the stream, drops what the mapping's filter does not pass, and invokes the
function with up to ``BatchSize`` records. A record the function reports failed is delivered
again, with everything after it in the shard, up to ``MaximumRetryAttempts`` times; after that
the batch is described to the on-failure destination and the shard moves on. ``StreamFeed``
does the same from moto's shard, in this process, on demand: the local run, the benchmarks
and the tests call ``take`` where Lambda would poll.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import dynamodb_backends

from reach_tools.local import moto_speed
from reach_tools.template import TemplateError, resolve_find_in_map

MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
#: Lambda's default for a stream source.
DEFAULT_BATCH_SIZE = 100
#: Lambda's default: retry until the record expires; the local run stops after this many.
DEFAULT_RETRIES = 10


@dataclass(frozen=True)
class StreamMapping:
    """What template.yaml says about a table stream that feeds a function."""

    table: str
    batch_size: int
    patterns: tuple[Mapping[str, Any], ...]
    retries: int
    reports_batch_item_failures: bool

    def passes(self, record: Mapping[str, Any]) -> bool:
        """Whether the mapping's filter lets ``record`` through (any one pattern matching)."""
        return not self.patterns or any(matches(p, record) for p in self.patterns)

    def events(self) -> frozenset[str] | None:
        """The event names every pattern names (None when one of them takes any)."""
        names: set[str] = set()
        for pattern in self.patterns:
            listed = pattern.get("eventName")
            if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
                return None
            names |= set(listed)
        return frozenset(names) if self.patterns else None


def stream_mapping(template: Mapping[str, Any], function_id: str) -> StreamMapping:
    """The table stream that feeds ``function_id``, and how it hands records over."""
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != MAPPING_TYPE:
            continue
        properties = resource.get("Properties", {})
        source = properties.get("EventSourceArn")
        if properties.get("FunctionName") != {"Ref": function_id}:
            continue
        if not (isinstance(source, dict) and "Fn::GetAtt" in source):
            raise TemplateError(f"{logical_id}: EventSourceArn is not a !GetAtt")
        table, attribute = source["Fn::GetAtt"]
        if attribute != "StreamArn":
            continue
        filters = (properties.get("FilterCriteria") or {}).get("Filters", [])
        try:
            patterns = tuple(json.loads(f["Pattern"]) for f in filters)
        except (KeyError, TypeError, ValueError) as error:
            raise TemplateError(f"{logical_id}: a filter pattern is not JSON: {error}") from None
        for pattern in patterns:
            _check_pattern(pattern, f"{logical_id}.FilterCriteria")
        return StreamMapping(
            table=str(table),
            batch_size=int(
                resolve_find_in_map(template, properties.get("BatchSize", DEFAULT_BATCH_SIZE))
            ),
            patterns=patterns,
            retries=int(properties.get("MaximumRetryAttempts", DEFAULT_RETRIES)),
            reports_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
        )
    raise TemplateError(f"no table stream feeds {function_id}")


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Lambda's event filtering, for the forms the template uses: nested keys, and at the
    leaves a list of exact values or ``{"prefix": ...}``; every key must match."""
    for key, wanted in pattern.items():
        if key not in record:
            return False
        value = record[key]
        if isinstance(wanted, Mapping):
            if not (isinstance(value, Mapping) and matches(wanted, value)):
                return False
        elif not any(_leaf(option, value) for option in wanted):
            return False
    return True


def _leaf(option: Any, value: Any) -> bool:
    if isinstance(option, Mapping):
        prefix = option.get("prefix")
        return isinstance(value, str) and isinstance(prefix, str) and value.startswith(prefix)
    return bool(option == value)


def _check_pattern(pattern: Any, where: str) -> None:
    """Refuse what ``matches`` would read wrongly rather than pass or drop it silently."""
    if not isinstance(pattern, Mapping):
        raise TemplateError(f"{where}: a pattern level must be an object")
    for key, wanted in pattern.items():
        if isinstance(wanted, Mapping):
            _check_pattern(wanted, f"{where}.{key}")
            continue
        if not isinstance(wanted, list):
            raise TemplateError(f"{where}.{key}: a leaf must be a list")
        for option in wanted:
            if isinstance(option, Mapping) and set(option) != {"prefix"}:
                raise TemplateError(f"{where}.{key}: only exact values and prefix are read here")


def sequence_number(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class StreamFeed:
    """The records a table's stream holds for its mapping, taken in the order written."""

    def __init__(
        self, mapping: StreamMapping, table_name: str, *, account: str, region: str
    ) -> None:
        self.mapping = mapping
        self._table_name = table_name
        self._account = account
        self._region = region
        self._next = 1
        #: Records handed out and reported failed, to deliver again first, with their tries.
        self._again: list[tuple[dict[str, Any], int]] = []
        #: Records given up on after the mapping's retries (the on-failure destination's).
        self.given_up: list[dict[str, Any]] = []
        moto_speed.keep_stream_records(
            table_name, moto_speed.StreamFilter(mapping.passes, mapping.events())
        )

    def take(self) -> list[tuple[dict[str, Any], int]]:
        """Up to a batch of records that pass the filter, each with the times it was handed
        out before: first those to deliver again, then new ones (taken off moto's shard)."""
        batch = self._again[: self.mapping.batch_size]
        del self._again[: len(batch)]
        room = self.mapping.batch_size - len(batch)
        if room <= 0:
            return batch
        # Looked up each time: moto's own transaction rollback swaps the table object.
        table = dynamodb_backends[self._account][self._region].get_table(self._table_name)
        shard = table.stream_shard
        if shard is None:
            raise TemplateError(f"{self._table_name} has no stream")
        fresh: list[tuple[dict[str, Any], int]] = []
        while shard.items and len(fresh) < room:
            record = shard.items.pop(0).to_json()
            if not self.mapping.passes(record):
                continue
            fresh.append((self._numbered(record), 0))
        return batch + fresh

    def reported(self, batch: list[tuple[dict[str, Any], int]], failed: set[str]) -> int:
        """The function reported ``failed`` (sequence numbers) of ``batch``: the first of them
        and every record after it are delivered again, as Lambda does from a stream, unless
        that record is out of retries (then the batch is given up on). Returns how many will
        be delivered again."""
        at = next(
            (n for n, (record, _) in enumerate(batch) if sequence_number(record) in failed), None
        )
        if at is None:
            return 0
        again = batch[at:]
        if again[0][1] + 1 > self.mapping.retries:
            self.given_up += [record for record, _ in again]
            return 0
        self._again[:0] = [(record, tries + 1) for record, tries in again]
        return len(again)

    def _numbered(self, record: dict[str, Any]) -> dict[str, Any]:
        """moto numbers records by their place in its list, which ``take`` empties."""
        dynamodb = dict(record["dynamodb"])
        dynamodb["SequenceNumber"] = f"{self._next:021d}"
        self._next += 1
        return {**record, "dynamodb": dynamodb}
