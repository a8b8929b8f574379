"""The clinic's callback requests (recipients who texted CALL): list, read and close them."""

from __future__ import annotations

from dataclasses import dataclass

from reach.clock import Clock
from reach.data.callbacks import CallbackPage, CallbackRepository
from reach.data.tenants import TenantRepository
from reach.domain.callbacks import Callback


@dataclass(frozen=True)
class CallbackPageInZone:
    """A page of callback requests and the tenant's time zone, in which they are shown."""

    page: CallbackPage
    zone: str


@dataclass(frozen=True)
class CallbackInZone:
    """One callback request and the tenant's time zone, in which it is shown."""

    callback: Callback
    zone: str
    #: Closed by this call (False when it was open, or closed by an earlier call).
    closed_now: bool = False


class CallbackService:
    """Reads and closes a tenant's callback requests.

    Callback times are shown in the tenant's own time zone (the recipient was told when to
    expect the call in it), so every answer carries that zone.
    """

    def __init__(
        self, callbacks: CallbackRepository, tenants: TenantRepository, clock: Clock
    ) -> None:
        self._callbacks = callbacks
        self._tenants = tenants
        self._clock = clock

    def list(
        self, tenant_id: str, status: str, limit: int, next_token: str | None
    ) -> CallbackPageInZone:
        """The tenant's requests in ``status`` (open or closed), oldest request first."""
        page = self._callbacks.callbacks(tenant_id, status, limit, next_token)
        return CallbackPageInZone(page, self._zone(tenant_id))

    def get(self, tenant_id: str, callback_id: str) -> CallbackInZone:
        """One request, or NotFound."""
        callback = self._callbacks.get_callback(tenant_id, callback_id)
        return CallbackInZone(callback, self._zone(tenant_id))

    def close(
        self, tenant_id: str, callback_id: str, outcome: str, note: str | None
    ) -> CallbackInZone:
        """Close a request with how the call went; closing it again changes nothing."""
        now = self._clock()
        callback = self._callbacks.close_callback(tenant_id, callback_id, outcome, note, now)
        # The stored closing time is this call's own only when this call closed it.
        return CallbackInZone(callback, self._zone(tenant_id), closed_now=callback.closed_at == now)

    def _zone(self, tenant_id: str) -> str:
        return self._tenants.get(tenant_id).timezone
