"""Tenant administration and API-key authentication."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, replace

from reach.clock import Clock
from reach.data.numbers import NumberRecord, NumberRepository
from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.domain.durations import reminder_offsets as valid_offsets
from reach.domain.errors import InvalidInput, NotFound
from reach.domain.languages import normalize_language, supported_language
from reach.domain.models import ApiKey, AppointmentKind, Tenant
from reach.domain.numbers import (
    DEFAULT_MPS,
    OriginationType,
    Throughput,
    mps_value,
    origination_type,
)
from reach.domain.phones import to_e164
from reach.domain.quiet_hours import quiet_hours_text
from reach.domain.replies import keywords_with
from reach.domain.retention import DEFAULT_RETENTION_DAYS
from reach.domain.retention import retention_days as checked_retention
from reach.domain.template_review import TemplateReport, review_template_edit
from reach.domain.text import plain_text
from reach.domain.zones import zone_name
from reach.services.api_keys import hash_key


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: ``secret`` is shown once and never stored."""

    secret: str
    record: ApiKey


class TenantAdmin:
    """Creates tenants and manages their API keys (used by the `reach` admin CLI)."""

    def __init__(
        self,
        tenants: TenantRepository,
        keys: ApiKeyRepository,
        clock: Clock,
        numbers: NumberRepository | None = None,
    ) -> None:
        self._tenants = tenants
        self._keys = keys
        self._clock = clock
        # Without the stack's settings, a number recorded with no type runs at 10DLC's pace,
        # the stack's default type (reach.settings.Settings.origination_type).
        self._numbers = numbers or NumberRepository(Throughput.default(OriginationType.TEN_DLC))

    def create_tenant(
        self,
        name: str,
        timezone: str,
        sender_number: str,
        quiet_hours: str,
        reminder_offsets: tuple[str, ...],
        *,
        number_type: str | None = None,
        mps: float | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> tuple[Tenant, IssuedKey]:
        """Create a tenant and its first API key.

        ``number_type`` and ``mps`` are the sending number's grant, recorded with the number
        in the same transaction; the MPS defaults to the type's. Neither given: the number
        runs at the stack's own origination settings, as numbers recorded before types did.
        """
        tenant = Tenant(
            tenant_id=f"ten_{uuid.uuid4().hex[:20]}",
            name=_name(name),
            timezone=zone_name(timezone),
            sender_number=to_e164(sender_number, field="number"),
            quiet_hours=quiet_hours_text(quiet_hours),
            reminder_offsets=_default_offsets(reminder_offsets),
            created_at=self._clock(),
            retention_days=checked_retention(retention_days),
        )
        self._tenants.create(tenant, _throughput(number_type, mps, current=None))
        return tenant, self.issue_key(tenant.tenant_id, label="initial")

    def update_tenant(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        timezone: str | None = None,
        quiet_hours: str | None = None,
        reminder_offsets: tuple[str, ...] | None = None,
        reply_keywords: dict[str, tuple[str, ...]] | None = None,
        number_type: str | None = None,
        mps: float | None = None,
        reminder_offsets_by_kind: dict[str, tuple[str, ...]] | None = None,
        confirm_bookings: tuple[str, ...] | None = None,
        retention_days: int | None = None,
    ) -> Tenant:
        """Change a tenant's settings; None keeps a setting as it is.

        ``reminder_offsets_by_kind`` (appointment kind -> offsets) sets the default reminders
        of the kinds it names, in place of ``reminder_offsets``; an empty tuple removes a
        kind's own, back to the general default (or, for service visits, the evening before
        and the morning of). Kinds it does not name keep theirs.

        ``confirm_bookings`` names every kind of visit whose new bookings get a booking
        confirmation; ``()`` turns confirmations off. It applies to bookings made from now on.

        ``reply_keywords`` (keyword set -> words) replaces the tenant's own reply words, which
        are added to the defaults; ``{}`` goes back to the defaults alone.

        ``retention_days`` is how long message bodies and inbound texts are kept; it applies
        to messages stored from now on (each message carries its own expiry).

        New offsets apply to bookings made from now on. A new quiet-hours window applies to
        every send at once, because the sender re-checks it right before each text.

        A new ``number_type`` without ``mps`` takes that type's default pace; ``mps`` alone
        keeps the number's type. Both are checked before anything is written.
        """
        current = self._tenants.get(tenant_id)
        pace = None
        if number_type is not None or mps is not None:
            recorded = self._numbers.get(current.sender_number).throughput
            pace = _throughput(number_type, mps, current=recorded)
        updated = replace(
            current,
            name=current.name if name is None else _name(name),
            timezone=current.timezone if timezone is None else zone_name(timezone),
            quiet_hours=current.quiet_hours
            if quiet_hours is None
            else quiet_hours_text(quiet_hours),
            reminder_offsets=current.reminder_offsets
            if reminder_offsets is None
            else _default_offsets(reminder_offsets),
            reply_keywords=current.reply_keywords
            if reply_keywords is None
            else _reply_keywords(reply_keywords),
            reminder_offsets_by_kind=current.reminder_offsets_by_kind
            if reminder_offsets_by_kind is None
            else _offsets_by_kind(current, reminder_offsets_by_kind),
            confirm_bookings=current.confirm_bookings
            if confirm_bookings is None
            else _confirmed_kinds(confirm_bookings),
            retention_days=current.retention_days
            if retention_days is None
            else checked_retention(retention_days),
        )
        if updated != current:
            self._tenants.save_profile(updated)
        if pace is not None:
            self._numbers.set_throughput(current.sender_number, pace)
        return updated

    def number(self, tenant: Tenant) -> NumberRecord:
        """The tenant's sending number as recorded: its type and pace."""
        return self._numbers.get(tenant.sender_number)

    def throughputs(self, tenants: list[Tenant]) -> dict[str, Throughput]:
        """The sending numbers' paces, by number: one BatchGetItem per 100 tenants."""
        return self._numbers.throughputs(t.sender_number for t in tenants)

    def list_numbers(self) -> list[NumberRecord]:
        """Every sending number with its tenant and pace (admin tooling: it scans)."""
        return self._numbers.list_all()

    def get_tenant(self, tenant_id: str) -> Tenant:
        return self._tenants.get(tenant_id)

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, oldest first (admin tooling: it scans the tenants table)."""
        return self._tenants.list_all()

    def templates(self, tenant_id: str) -> dict[tuple[str, str], str]:
        """The tenant's template overrides, (kind, language) -> text."""
        return self._tenants.get_with_templates(tenant_id)[1]

    def set_template(self, tenant_id: str, kind: str, language: str, text: str) -> TemplateReport:
        """Store the tenant's wording for ``kind`` in ``language``; returns its size and the
        warnings of the edit (UCS-2, more parts, a lost opt-out hint...).

        A clinic template that asks for more than the minimum necessary is refused, and so is
        one without opt-out instructions or in a language Reach does not write.
        """
        try:
            visit = AppointmentKind(kind)
        except ValueError as error:
            raise InvalidInput("kind", f"one of {[k.value for k in AppointmentKind]}") from error
        language = normalize_language(supported_language(language))
        old = self.templates(tenant_id).get((visit.value, language))
        report = review_template_edit(visit, language, text, old)
        self._tenants.put_template(tenant_id, visit.value, language, text, self._clock())
        return report

    def reset_template(self, tenant_id: str, kind: str, language: str) -> bool:
        return self._tenants.delete_template(tenant_id, kind, normalize_language(language))

    def issue_key(self, tenant_id: str, label: str | None = None) -> IssuedKey:
        self._tenants.get(tenant_id)  # NotFound for a tenant that does not exist
        prefix = f"rk_{secrets.token_hex(4)}"
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        record = ApiKey(tenant_id=tenant_id, prefix=prefix, created_at=self._clock(), label=label)
        # A key issued after the tenant's usage key exists carries it from the start.
        self._keys.create(record, hash_key(secret), self._keys.usage_key(tenant_id))
        return IssuedKey(secret=secret, record=record)

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys; NotFound for an unknown tenant rather than a misleading []."""
        self._tenants.get(tenant_id)
        return self._keys.list_for_tenant(tenant_id)

    def revoke_key(self, tenant_id: str, prefix: str) -> ApiKey:
        return self._keys.revoke(tenant_id, prefix, self._clock())

    def rotate_key(self, tenant_id: str, prefix: str) -> tuple[IssuedKey, ApiKey]:
        """Issue a replacement and revoke the old key; returns (new, revoked old)."""
        old = next((k for k in self._keys.list_for_tenant(tenant_id) if k.prefix == prefix), None)
        if old is None:
            raise NotFound(f"no key {prefix} for tenant {tenant_id}")
        issued = self.issue_key(tenant_id, label=old.label)
        return issued, self._keys.revoke(tenant_id, prefix, self._clock())


def _throughput(
    number_type: str | None, mps: float | None, *, current: Throughput | None
) -> Throughput | None:
    """The grant to record from what was given: a type alone gets its default MPS, an MPS
    alone keeps ``current``'s type (a new number has none, so it needs its type named)."""
    if number_type is None and mps is None:
        return None
    kind = origination_type(number_type) if number_type is not None else None
    if kind is None:
        if current is None:
            raise InvalidInput("number_type", "give the number's type with its MPS")
        kind = current.origination_type
    pace = mps_value(mps) if mps is not None else DEFAULT_MPS[kind]
    return Throughput(kind, pace)


def _default_offsets(offsets: tuple[str, ...]) -> tuple[str, ...]:
    """A tenant's default reminders: at least one. An empty list would silently book every
    appointment that names no reminders without any."""
    if not offsets:
        raise InvalidInput("reminder_offsets", "give at least one offset, e.g. P1D")
    return valid_offsets(offsets, field="reminder_offsets")


def _offsets_by_kind(
    current: Tenant, changes: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The tenant's per-kind defaults with ``changes`` applied: each offset checked, named
    ``reminders_for.<kind>[i]``; an unknown kind is refused naming ``reminders_for``."""
    by_kind = dict(current.reminder_offsets_by_kind)
    for kind, offsets in changes.items():
        try:
            visit = AppointmentKind(kind)
        except ValueError as error:
            kinds = ", ".join(k.value for k in AppointmentKind)
            raise InvalidInput("reminders_for", f"'{kind}' is not a kind ({kinds})") from error
        if offsets:
            by_kind[visit.value] = valid_offsets(offsets, field=f"reminders_for.{visit.value}")
        else:
            by_kind.pop(visit.value, None)
    return tuple(sorted(by_kind.items()))


def _confirmed_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds to confirm, each a known kind (refused naming ``confirm_bookings``)."""
    known = {kind.value for kind in AppointmentKind}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise InvalidInput(
            "confirm_bookings",
            f"'{unknown[0]}' is not a kind ({', '.join(sorted(known))})",
        )
    return tuple(sorted(set(kinds)))


def _name(name: str) -> str:
    """The organisation's name is texted as {org_name}: one line of visible text."""
    name = plain_text("name", name)
    if not name or len(name) > 100:
        raise InvalidInput("name", "must be 1 to 100 characters")
    return name


def _reply_keywords(
    sets: dict[str, tuple[str, ...]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    extra = tuple(
        sorted((name, tuple(sorted(set(words)))) for name, words in sets.items() if words)
    )
    try:
        keywords_with(extra)
    except ValueError as error:
        raise InvalidInput("reply_keywords", str(error)) from error
    return extra
