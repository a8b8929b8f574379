"""The clinic's callback requests (recipients who texted CALL): list, read and close them."""

from __future__ import annotations

from dataclasses import dataclass

from reach.clock import Clock
from reach.data.callbacks import CallbackPage, CallbackRepository
from reach.data.tenants import TenantRepository
from reach.domain.callbacks import Callback
from reach.domain.errors import Conflict


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
        """Close a request with how the call went.

        Closing it again changes nothing: the same outcome (and note, when one is sent) is
        answered with the request as closed; another outcome or note is a Conflict naming
        it, since the first close's record stands and this one's would be lost.
        """
        now = self._clock()
        callback = self._callbacks.close_callback(tenant_id, callback_id, outcome, note, now)
        # The stored closing time is this call's own only when this call closed it.
        closed_now = callback.closed_at == now
        if not closed_now:
            _ensure_same_close(callback, outcome, note)
        return CallbackInZone(callback, self._zone(tenant_id), closed_now=closed_now)

    def _zone(self, tenant_id: str) -> str:
        return self._tenants.get(tenant_id).timezone


def _ensure_same_close(callback: Callback, outcome: str, note: str | None) -> None:
    """A close of a closed request repeats the first one, or is refused naming what differs.
    A repeat without a note drops nothing, so it does not have to repeat the note."""
    closed = callback.closed_at.isoformat() if callback.closed_at else "earlier"
    if callback.outcome != outcome:
        raise Conflict(
            f"the request was already closed ({closed}) as {callback.outcome}; that outcome "
            f"stands and {outcome} was not recorded",
            field="outcome",
        )
    if note is not None and callback.note != note:
        held = "another note" if callback.note else "no note"
        raise Conflict(
            f"the request was already closed ({closed}) with {held}; that record stands and "
            "this note was not recorded",
            field="note",
        )
