"""The inbound function's idempotency store makes no client and reads no table name until
Powertools first configures it for a guarded call."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

from conftest import load_function
from reach.adapters.idempotency_dynamodb import DynamoDBIdempotencyStore


def test_the_store_connects_when_first_configured_and_only_then():
    asked: list[str] = []

    def table_name() -> str:
        asked.append("idempotency")
        return "reach-idempotency"

    store = DynamoDBIdempotencyStore(table_name)
    assert asked == []
    assert not hasattr(store, "client")

    config = IdempotencyConfig(event_key_jmespath="inbound_message_id")
    store.configure(config, "app.process_reply")
    store.configure(config, "app.process_reply")

    assert asked == ["idempotency"]
    assert store.table_name == "reach-idempotency"
    assert store.function_name.endswith(".app.process_reply")
    assert store.event_key_jmespath == "inbound_message_id"


def test_the_inbound_function_imports_without_reading_its_idempotency_table(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)

    function = load_function("inbound")

    assert isinstance(function.persistence, DynamoDBIdempotencyStore)
    assert not hasattr(function.persistence, "client")
