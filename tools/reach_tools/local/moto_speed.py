"""Keeping the embedded DynamoDB's cost per call independent of how much it stores.

moto's DynamoDB was written for tests that hold a few items, and two of its calls cost the
size of the whole table (docs/facts.md#moto):

- **Query** starts from ``Table.all_items()``, which sorts every item of the table by its keys
  (comparing moto's typed values, a cast per comparison), then keeps the items of the one
  partition asked for. Real DynamoDB reads the partition alone. With 10,000 reminders stored,
  a dispatcher tick's 13 Queries took 9 s here.
- **TransactWriteItems** deep-copies the whole table once per item in the transaction, to roll
  back if one condition fails. A 100-item transaction over a 10,000-item table copied a
  million items, and outlasted the SDK's read timeout in ``make serve``.

While an embedded AWS runs (``reach_tools.local.embedded``), both are replaced by what gives
the same answers at the cost of what they read or write:

- a Query's candidate items are the partition's own (a table Query: one dict lookup), or the
  items whose index hash key matches (an index Query: a lookup in the table's items bucketed
  by that attribute, rebuilt at the first Query after a write), with the sort key condition
  applied first; moto's own code then filters, sorts and pages those exactly as before;
- a transaction remembers the items it is about to touch (one deep copy each) and puts those
  back if it fails, in place of the whole table's copy (and drops the stream records it
  made);
- a transaction carries its ``ClientRequestToken`` (botocore fills one in per call, the same
  for each retry): a retry of one that was applied succeeds again without writing, as in
  DynamoDB, where moto would fail it on its own conditions;
- a table's stream builds and keeps only the records its event source mapping's filter
  passes (``keep_stream_records``), and none while no mapping reads it (a benchmark that does
  not run the sender from the stream), where moto builds one for every write and keeps it.
"""

from __future__ import annotations

import copy
import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler

_scope = threading.local()
_originals: dict[str, Any] = {}
_ABSENT = object()


def items_of(table: Table) -> Iterator[Item]:
    """Every item of a moto table, partition by partition."""
    for held in table.items.values():
        if table.range_key_attr:
            yield from held.values()
        else:
            yield held  # type: ignore[misc]


def _candidates(table: Table, asked: dict[str, Any]) -> list[Item] | None:
    """The items a Query can match, a superset of moto's own choice (moto filters, sorts and
    pages them as before); None: let moto choose from the whole table."""
    hash_key: DynamoType | None = asked["hash_key"]
    index_name: str | None = asked.get("index_name")
    if not index_name:
        if hash_key is None:
            return None
        held = table.items.get(hash_key)
        if held is None:
            return []
        partition = list(held.values()) if table.range_key_attr else [held]
        order = [table.range_key_attr] if table.range_key_attr else []
        return _in_range(partition, table.range_key_attr, asked, order)  # type: ignore[arg-type]
    conditions: list[tuple[str, DynamoType]] = asked.get("hash_key_conditions") or []
    if not conditions:
        return None
    (first, expected), rest = conditions[0], conditions[1:]
    matched = [
        item
        for item in _buckets(table, first).get(expected, ())
        if all(_same(item.attrs.get(name), value) for name, value in rest)
    ]
    index_range = _index_range_key(table, index_name)
    order = [name for name, _value in conditions] + [
        name for name in (index_range, table.hash_key_attr, table.range_key_attr) if name
    ]
    return _in_range(matched, index_range, asked, order)


# Each table's items by the value of an index's hash key attribute, built at the first Query
# after a write: a tick's dozen index Queries cost one pass over the table, not one each.
# Every write goes through Table.put_item, Table.delete_item or the backend's update_item
# (which may change an item in place), and each counts one more write of its table.
_WRITES = "_reach_writes"
_BUCKETS = "_reach_buckets"
_epoch = 0  # one more each time the patches go in or out: what moto wrote meanwhile is unseen


def _written(table: Table | None) -> None:
    if table is not None:
        table.__dict__[_WRITES] = table.__dict__.get(_WRITES, 0) + 1


def _buckets(table: Table, attribute: str) -> dict[DynamoType, list[Item]]:
    stamp = (_epoch, table.__dict__.get(_WRITES, 0))
    held_stamp, by_attribute = table.__dict__.get(_BUCKETS, (None, {}))
    if held_stamp != stamp:
        by_attribute = {}
        table.__dict__[_BUCKETS] = (stamp, by_attribute)
    if attribute not in by_attribute:
        buckets: dict[DynamoType, list[Item]] = {}
        for item in items_of(table):
            value = item.attrs.get(attribute)
            if value is not None and value.type in ("S", "N", "B"):
                buckets.setdefault(value, []).append(item)
        by_attribute[attribute] = buckets
    return by_attribute[attribute]  # type: ignore[no-any-return]


def _counting_writes(name: str) -> Callable[..., Any]:
    """``Table.<name>`` that counts a write of its table."""

    def write(self: Table, *args: Any, **kwargs: Any) -> Any:
        try:
            return _originals[name](self, *args, **kwargs)
        finally:
            _written(self)

    return write


def _backend_update(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return _originals["update_item"](self, table_name, *args, **kwargs)
    finally:
        _written(self.tables.get(table_name))


def _index_range_key(table: Table, index_name: str) -> str | None:
    for index in table.all_indexes():
        if index.name == index_name:
            ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
            return ranges[0] if len(ranges) == 1 else None
    return None


def _in_range(
    items: list[Item], attribute: str | None, asked: dict[str, Any], order: list[str]
) -> list[Item]:
    """Drops the items the sort key condition rules out (moto checks the rest again), but for
    the first and the last of them in moto's order: a page that ends at its Limit with more
    items after it in the partition gets a LastEvaluatedKey, as from moto (and DynamoDB)."""
    comparison: str | None = asked.get("range_comparison")
    conditions = asked.get("range_key_conditions") or []
    if len(conditions) > 1:
        return items  # a multi-attribute sort key: moto's own checks alone
    if conditions:
        attribute = conditions[-1][0]
    if not comparison or attribute is None:
        return items
    values = asked.get("range_objs") or []
    kept, outside = [], []
    for item in items:
        value = item.attrs.get(attribute)
        if value is None or value.compare(comparison, values):
            kept.append(item)
        else:
            outside.append(item)
    if outside:

        def in_order(item: Item) -> tuple[Any, ...]:
            return tuple(_sortable(item.attrs[name]) for name in order)

        first, last = min(outside, key=in_order), max(outside, key=in_order)
        kept.extend([first] if first is last else [first, last])
    return kept


def _sortable(value: DynamoType) -> Any:
    """What moto sorts a key value by (its cast), without the cast where the raw value sorts
    the same: strings and bytes (key attributes are strings, numbers or bytes)."""
    return value.cast_value if value.type == "N" else value.value


def _same(value: DynamoType | None, expected: DynamoType) -> bool:
    """``value == expected`` as moto compares, without its cast where the raw values agree."""
    if value is None or value.type != expected.type:
        return False
    return value.value == expected.value or (value.type == "N" and value == expected)


def _all_items(self: Table) -> list[Item]:
    if getattr(_scope, "table", None) is self:
        return list(_scope.candidates)
    return _originals["all_items"](self)  # type: ignore[no-any-return]


#: moto's own Query signature, to read its arguments however they are passed.
_QUERY = inspect.signature(Table.query)


def _query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    asked = _QUERY.bind(self, hash_key, *args, **kwargs)
    candidates = _candidates(self, asked.arguments)
    if candidates is None:
        return _originals["query"](self, hash_key, *args, **kwargs)
    _scope.table, _scope.candidates = self, candidates
    try:
        return _originals["query"](self, hash_key, *args, **kwargs)
    finally:
        _scope.table = _scope.candidates = None


# --- Transactions: an undo list of the items touched, not a copy of every table ------------


def _same_table(self: Table, memo: dict[int, Any]) -> Table:
    """moto's backend deep-copies whole tables only to roll a transaction back: the "copy" is
    the table itself (so moto's own rollback puts back what is there), and
    ``_transact_write_items`` undoes the items the transaction named instead."""
    return self


_Undo = dict[tuple[str, DynamoType, DynamoType | None], Item | None]


def _before(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> _Undo:
    """Each item the transaction names, as it is now (None: absent), keyed by table and key."""
    undo: _Undo = {}
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before writing anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op["Item"] if op_type == "Put" and "Item" in op else op.get("Key")
        named = (table.hash_key_attr, table.range_key_attr or table.hash_key_attr)
        if not isinstance(key, dict) or any(name not in key for name in named):
            continue  # moto refuses this item with its own validation error, unwritten
        hash_value, range_value = backend.get_keys_value(table, key)
        current = table.get_item(hash_value, range_value)
        undo.setdefault((table.name, hash_value, range_value), copy.deepcopy(current))
    return undo


def _put_back(backend: DynamoDBBackend, undo: _Undo) -> None:
    for (table_name, hash_value, range_value), item in undo.items():
        table = backend.tables.get(table_name)
        if table is None:
            continue
        _written(table)
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item  # type: ignore[assignment]
            continue
        held = table.items[hash_value]
        if item is None:
            held.pop(range_value, None)
            if not held:
                table.items.pop(hash_value, None)
        else:
            held[range_value] = item


def _stream_lengths(backend: DynamoDBBackend, undo: _Undo) -> dict[str, int]:
    """How many stream records each table the transaction touches holds now."""
    lengths: dict[str, int] = {}
    for table_name, _, _ in undo:
        table = backend.tables.get(table_name)
        if table is not None and table.stream_shard is not None:
            lengths[table_name] = len(table.stream_shard.items)
    return lengths


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    undo = _before(self, transact_items) if len(transact_items) <= 100 else {}
    streamed = _stream_lengths(self, undo)
    try:
        _originals["transact_write_items"](self, transact_items)
    except BaseException:
        _put_back(self, undo)
        # A cancelled transaction wrote nothing, so its stream shows nothing either (moto's
        # own rollback swaps the whole table, stream included).
        for table_name, length in streamed.items():
            shard = self.tables[table_name].stream_shard
            if shard is not None:
                del shard.items[length:]
        raise


@dataclass(frozen=True)
class StreamFilter:
    """Which stream records of a table to build and keep: the event source mapping's filter.
    ``events``: the event names it can pass at all (None: any), checked before moto builds the
    record; ``keep``: the whole pattern, on the record as Lambda would see it."""

    keep: Callable[[dict[str, Any]], bool]
    events: frozenset[str] | None = None


#: table name -> its filter.
_stream_filters: dict[str, StreamFilter] = {}


def keep_stream_records(table_name: str, only: StreamFilter) -> None:
    """Build and keep only the stream records of ``table_name`` that ``only`` passes. moto
    builds a record (its images as JSON) for every write and keeps them all; the local run
    reads only these, and a long run would otherwise hold every write it made."""
    _stream_filters[table_name] = only


def _event_name(old: Item | None, new: Item | None) -> str:
    return "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"


def _stream_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
    only = _stream_filters.get(self.table.name)
    if only is None:
        return  # no local mapping reads this table's stream: nothing would ever take it
    if only.events is not None and _event_name(old, new) not in only.events:
        return
    before = len(self.items)
    _MOTO_STREAM_ADD(self, old, new)
    if len(self.items) > before and not only.keep(self.items[-1].to_json()):
        self.items.pop()


#: moto's own, whatever is patched in meanwhile (``filtered_streams`` may be on already when an
#: embedded run starts, and the other way round).
_MOTO_STREAM_ADD = StreamShard.add


@contextmanager
def filtered_streams() -> Iterator[None]:
    """Only the stream records a registered filter passes, for the block (the tests' moto,
    which is otherwise plain): a stream no local mapping reads would hold a record of every
    write a test makes."""
    previous = StreamShard.__dict__["add"]
    StreamShard.add = _stream_add  # type: ignore[method-assign]
    try:
        yield
    finally:
        StreamShard.add = previous  # type: ignore[method-assign]


#: Tokens of TransactWriteItems calls that succeeded: token -> (their items, the answer).
_TOKENS: OrderedDict[str, tuple[str, Any]] = OrderedDict()
#: Kept at most: DynamoDB honours a token for 10 minutes; a local run sends far fewer.
TOKENS_KEPT = 10_000


def _idempotent_transact(self: DynamoHandler) -> Any:
    """TransactWriteItems with its ``ClientRequestToken``, which botocore fills in once per
    call, so that every retry of the call carries it: a retry of a transaction that was
    applied (its answer lost to a timeout) succeeds again without writing, as DynamoDB does,
    instead of failing its own conditions. moto ignores the token."""
    token = self.body.get("ClientRequestToken")
    items = json.dumps(self.body.get("TransactItems"), sort_keys=True) if token else ""
    if token and token in _TOKENS:
        if _TOKENS[token][0] != items:
            raise DynamodbException(
                ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                "the ClientRequestToken was used with another TransactItems",
            )
        return _TOKENS[token][1]
    answer = _originals["transact_write_items_handler"](self)
    if token:
        _TOKENS[token] = (items, answer)
        while len(_TOKENS) > TOKENS_KEPT:
            _TOKENS.popitem(last=False)
    return answer


_PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (Table, "all_items"): _all_items,
    (Table, "query"): _query,
    (DynamoDBBackend, "transact_write_items"): _transact_write_items,
    (Table, "__deepcopy__"): _same_table,
    (Table, "put_item"): _counting_writes("put_item"),
    (Table, "delete_item"): _counting_writes("delete_item"),
    (DynamoDBBackend, "update_item"): _backend_update,
    (StreamShard, "add"): _stream_add,
    (DynamoHandler, "transact_write_items"): _idempotent_transact,
}
#: Where ``_originals`` keeps a patched method whose name another patch uses too.
_ORIGINAL_KEYS: dict[tuple[type, str], str] = {
    (DynamoHandler, "transact_write_items"): "transact_write_items_handler"
}


def speed_up() -> None:
    """Put the patches in (called once per embedded run's start, under its lock)."""
    global _epoch
    if "query" in _originals:
        return
    _epoch += 1
    for (owner, name), patch in _PATCHES.items():
        _originals[_ORIGINAL_KEYS.get((owner, name), name)] = owner.__dict__.get(name, _ABSENT)
        setattr(owner, name, patch)


def slow_down() -> None:
    """moto as it was (called when the last embedded run stops)."""
    global _epoch
    if "query" not in _originals:
        return
    _epoch += 1
    for (owner, name), _patch in _PATCHES.items():
        original = _originals.pop(_ORIGINAL_KEYS.get((owner, name), name))
        if original is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
