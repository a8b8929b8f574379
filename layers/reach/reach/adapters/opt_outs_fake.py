"""An in-memory ``ProviderOptOutList`` for service tests and the local run.

It keeps the port's contract (numbers in E.164, True for a number not listed, False while the
provider refuses) but none of a provider's mechanics: no paging, no 30-day clock. Tests decide
which numbers are refused with ``refuse_opt_in``, and read what was asked in ``opt_in_calls``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import datetime

from reach.domain.phones import to_e164
from reach.ports.opt_outs import OptOutListError, ProviderOptOut, require_e164


class FakeOptOutList:
    """A provider opt-out list held in a dict, phone -> ProviderOptOut, in insertion order."""

    name = "fake"

    def __init__(self) -> None:
        self.entries: dict[str, ProviderOptOut] = {}
        #: Numbers whose opt-in the "provider" refuses for now (its 30-day rule): opt_in
        #: answers False and the number stays listed.
        self.refuse_opt_in: set[str] = set()
        #: Every number passed to opt_in, refused or not, in call order.
        self.opt_in_calls: list[str] = []
        self._scripted: deque[OptOutListError] = deque()

    def add(self, phone: str, at: datetime | None = None, by_recipient: bool = True) -> None:
        """List ``phone`` as opted out (normalised to E.164; ``at`` must be aware or None)."""
        if at is not None and at.utcoffset() is None:
            raise ValueError("opted_out_at must be aware")
        e164 = to_e164(phone)
        self.entries[e164] = ProviderOptOut(phone=e164, opted_out_at=at, by_recipient=by_recipient)

    def fail_next(self, *errors: OptOutListError) -> None:
        """The next ``len(errors)`` calls (``opted_out`` or ``opt_in``) raise these, in order."""
        self._scripted.extend(errors)

    def opted_out(self) -> Iterator[ProviderOptOut]:
        self._raise_scripted()
        # A snapshot: opting numbers in while iterating does not disturb the listing.
        yield from list(self.entries.values())

    def opt_in(self, phone: str) -> bool:
        self.opt_in_calls.append(phone)
        require_e164(phone)
        self._raise_scripted()
        if phone in self.refuse_opt_in:
            return False
        self.entries.pop(phone, None)
        return True

    def _raise_scripted(self) -> None:
        if self._scripted:
            raise self._scripted.popleft()
