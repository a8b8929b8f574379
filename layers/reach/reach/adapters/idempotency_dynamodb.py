"""Powertools' DynamoDB idempotency store, connected on first use rather than at import."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)


class DynamoDBIdempotencyStore(DynamoDBPersistenceLayer):
    """The DynamoDB persistence layer of Powertools idempotency, with the same table layout
    and keys, whose client (and table name) is made when the first guarded call configures
    it.

    ``idempotent_function`` needs its store when the function module is imported; building
    the real one then would create an AWS client and read the environment at import time.
    """

    def __init__(self, table_name: Callable[[], str]) -> None:
        BasePersistenceLayer.__init__(self)
        self._table_name_of = table_name
        self._connected = False

    def configure(
        self,
        config: IdempotencyConfig,
        function_name: str | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """Connect on the first call, then configure as Powertools does on every call."""
        if not self._connected:
            # The parent constructor makes the client and resets the base state, so it runs
            # here, before the base class stores anything of the configuration.
            DynamoDBPersistenceLayer.__init__(self, table_name=self._table_name_of())
            self._connected = True
        super().configure(config, function_name, key_prefix)
