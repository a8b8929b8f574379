"""Tenants, their API keys and their sending numbers in TenantsTable."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.numbers import number_item
from reach.data.tables import (
    KEY_LOOKUP_SK,
    NUMBER_SK,
    PROFILE_SK,
    USAGE_KEY_SK,
    ApiKeyLookupItem,
    ApiKeyRecordItem,
    SenderNumberItem,
    TemplateItem,
    TenantProfileItem,
    TenantsTableItem,
    UsageKeyItem,
    key_lookup_pk,
    key_record_sk,
    number_pk,
    strings,
    template_sk,
    tenant_pk,
)
from reach.data.transactions import cancelled_by, condition_failed
from reach.domain.errors import Conflict, NotFound
from reach.domain.models import ApiKey, Tenant
from reach.domain.numbers import Throughput
from reach.domain.retention import DEFAULT_RETENTION_DAYS


class TenantRepository:
    """Tenant profiles and the sending numbers they own."""

    def create(self, tenant: Tenant, throughput: Throughput | None = None) -> None:
        """Store a new tenant; its sending number must not belong to another tenant. The
        number's type and pace go on the number's item in the same transaction."""
        profile = _profile(tenant)
        claim = number_item(tenant.tenant_id, tenant.sender_number, throughput)
        connection = TenantsTableItem._get_connection().connection
        try:
            with TransactWrite(connection=connection) as transaction:
                transaction.save(profile, condition=TenantsTableItem.pk.does_not_exist())
                transaction.save(claim, condition=TenantsTableItem.pk.does_not_exist())
        except TransactWriteError as error:
            if cancelled_by(error):
                raise Conflict(
                    f"sending number {tenant.sender_number} already belongs to a tenant"
                ) from error
            raise

    def save_profile(self, tenant: Tenant) -> None:
        """Overwrite an existing tenant's profile (the sending number is not changed here)."""
        try:
            _profile(tenant).save(condition=TenantsTableItem.pk.exists())
        except PutError as error:
            if condition_failed(error):
                raise NotFound(f"tenant {tenant.tenant_id} not found") from error
            raise

    def get(self, tenant_id: str) -> Tenant:
        try:
            item = TenantProfileItem.get(tenant_pk(tenant_id), PROFILE_SK)
        except DoesNotExist as error:
            raise NotFound(f"tenant {tenant_id} not found") from error
        return _tenant(item)

    @staticmethod
    def profile_key(tenant_id: str) -> ItemKey:
        """The tenant's profile item, for a batch read."""
        return ItemKey(TenantsTableItem, tenant_pk(tenant_id), PROFILE_SK)

    @staticmethod
    def from_found(found: Mapping[ItemKey, Any], key: ItemKey) -> Tenant | None:
        item = found.get(key)
        return _tenant(item) if isinstance(item, TenantProfileItem) else None

    def get_with_templates(self, tenant_id: str) -> tuple[Tenant, dict[tuple[str, str], str]]:
        """The tenant and its template overrides, (kind, language) -> text: one Query."""
        tenant: Tenant | None = None
        templates: dict[tuple[str, str], str] = {}
        for item in TenantsTableItem.query(tenant_pk(tenant_id), TenantsTableItem.sk >= PROFILE_SK):
            if isinstance(item, TenantProfileItem):
                tenant = _tenant(item)
            elif isinstance(item, TemplateItem):
                templates[(item.kind, item.language)] = item.text
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return tenant, templates

    def put_template(
        self, tenant_id: str, kind: str, language: str, text: str, when: datetime
    ) -> None:
        TemplateItem(
            pk=tenant_pk(tenant_id),
            sk=template_sk(kind, language),
            tenant_id=tenant_id,
            kind=kind,
            language=language,
            text=text,
            updated_at=when,
        ).save()

    def delete_template(self, tenant_id: str, kind: str, language: str) -> bool:
        """Remove an override (the default applies again); False when there was none."""
        try:
            TemplateItem(pk=tenant_pk(tenant_id), sk=template_sk(kind, language)).delete(
                condition=TemplateItem.pk.exists()
            )
        except DeleteError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def sending_numbers(self, tenant_ids: Iterable[str]) -> dict[str, str]:
        """Each existing tenant's sending number: one BatchGetItem per 100 tenants."""
        keys = [(tenant_pk(tenant_id), PROFILE_SK) for tenant_id in dict.fromkeys(tenant_ids)]
        if not keys:
            return {}
        return {item.tenant_id: item.sender_number for item in TenantProfileItem.batch_get(keys)}

    def tenant_for_number(self, e164: str) -> str | None:
        """The tenant that sends from ``e164``: how replies find their way home."""
        try:
            return SenderNumberItem.get(number_pk(e164), NUMBER_SK).tenant_id
        except DoesNotExist:
            return None

    def list_all(self) -> list[Tenant]:
        """Every tenant. Admin tooling only: it scans, so no request or schedule may call it."""
        condition = TenantsTableItem.item_type == TenantProfileItem
        return sorted(
            (_tenant(item) for item in TenantProfileItem.scan(condition)),
            key=lambda t: t.created_at,
        )

    def ids(self) -> list[str]:
        """Every tenant's id, for the hourly opt-out reconciliation with per-tenant lists.

        A Scan of the tenants table, filtered to tenant profiles and projected to their keys:
        DynamoDB reads (and bills) every item of the table, contacts included, but returns
        only ``pk``, ``sk`` and ``type``, the attributes the reconciler's IAM policy lets it
        see. Hourly admin work only; no request may call it.
        """
        found = TenantProfileItem.scan(attributes_to_get=["pk", "sk", "type"])
        return sorted(item.pk.removeprefix("tenant#") for item in found)


class ApiKeyRepository:
    """API keys: a public record per tenant and a lookup item by the key's hash."""

    def create(self, key: ApiKey, key_hash: str, usage_key: str | None = None) -> None:
        record = ApiKeyRecordItem(
            pk=tenant_pk(key.tenant_id),
            sk=key_record_sk(key.prefix),
            tenant_id=key.tenant_id,
            prefix=key.prefix,
            key_hash=key_hash,
            label=key.label,
            created_at=key.created_at,
        )
        lookup = ApiKeyLookupItem(
            pk=key_lookup_pk(key_hash),
            sk=KEY_LOOKUP_SK,
            tenant_id=key.tenant_id,
            prefix=key.prefix,
            usage_key=usage_key,
        )
        connection = TenantsTableItem._get_connection().connection
        try:
            with TransactWrite(connection=connection) as transaction:
                transaction.save(record, condition=TenantsTableItem.pk.does_not_exist())
                transaction.save(lookup, condition=TenantsTableItem.pk.does_not_exist())
        except TransactWriteError as error:
            if cancelled_by(error):
                raise Conflict("key prefix or hash collision; issue the key again") from error
            raise

    def find_by_hash(self, key_hash: str) -> ApiKeyLookupItem | None:
        """The authorizer's lookup: one GetItem."""
        try:
            return ApiKeyLookupItem.get(key_lookup_pk(key_hash), KEY_LOOKUP_SK)
        except DoesNotExist:
            return None

    def usage_key(self, tenant_id: str) -> str | None:
        """The tenant's usage key (its API Gateway API key's value), if it has one."""
        try:
            return UsageKeyItem.get(tenant_pk(tenant_id), USAGE_KEY_SK).value
        except DoesNotExist:
            return None

    def set_usage_key(self, tenant_id: str, key_id: str, value: str) -> int:
        """Record the tenant's usage key and copy it onto every one of its keys' lookups,
        revoked ones too (harmless, and a rerun finds nothing left to do). Returns how many
        lookups were updated."""
        UsageKeyItem(pk=tenant_pk(tenant_id), sk=USAGE_KEY_SK, key_id=key_id, value=value).save()
        records = ApiKeyRecordItem.query(
            tenant_pk(tenant_id), ApiKeyRecordItem.sk.startswith(key_record_sk(""))
        )
        updated = 0
        for record in records:
            ApiKeyLookupItem(pk=key_lookup_pk(record.key_hash), sk=KEY_LOOKUP_SK).update(
                actions=[ApiKeyLookupItem.usage_key.set(value)],
                condition=ApiKeyLookupItem.pk.exists(),
            )
            updated += 1
        return updated

    def list_for_tenant(self, tenant_id: str) -> list[ApiKey]:
        items = ApiKeyRecordItem.query(
            tenant_pk(tenant_id), ApiKeyRecordItem.sk.startswith(key_record_sk(""))
        )
        return sorted((_api_key(item) for item in items), key=lambda k: k.created_at)

    def revoke(self, tenant_id: str, prefix: str, when: datetime) -> ApiKey:
        """Revoke a key by its prefix; revoking a revoked key keeps the first revocation."""
        try:
            record = ApiKeyRecordItem.get(tenant_pk(tenant_id), key_record_sk(prefix))
        except DoesNotExist as error:
            raise NotFound(f"no key {prefix} for tenant {tenant_id}") from error
        if record.revoked_at is not None:
            return _api_key(record)
        connection = TenantsTableItem._get_connection().connection
        with TransactWrite(connection=connection) as transaction:
            transaction.update(
                record,
                actions=[ApiKeyRecordItem.revoked_at.set(when)],
                condition=ApiKeyRecordItem.pk.exists(),
            )
            transaction.update(
                ApiKeyLookupItem(pk=key_lookup_pk(record.key_hash), sk=KEY_LOOKUP_SK),
                actions=[ApiKeyLookupItem.revoked_at.set(when)],
                condition=ApiKeyLookupItem.pk.exists(),
            )
        record.revoked_at = when
        return _api_key(record)


def _profile(tenant: Tenant) -> TenantProfileItem:
    # Imported here: the authorizer and the sender import this module and never write one
    from reach.domain.local_format import format_national_phone

    return TenantProfileItem(
        pk=tenant_pk(tenant.tenant_id),
        sk=PROFILE_SK,
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        timezone=tenant.timezone,
        sender_number=tenant.sender_number,
        # Derived from the number on every write, so it can never disagree with it.
        sender_number_national=format_national_phone(tenant.sender_number),
        quiet_hours=tenant.quiet_hours,
        reminder_offsets=list(tenant.reminder_offsets),
        created_at=tenant.created_at,
        reply_keywords=json.dumps(dict(tenant.reply_keywords), sort_keys=True)
        if tenant.reply_keywords
        else None,
        reminder_offsets_by_kind=json.dumps(dict(tenant.reminder_offsets_by_kind), sort_keys=True)
        if tenant.reminder_offsets_by_kind
        else None,
        # None rather than []: DynamoDB keeps an empty list, and "none" has one spelling.
        confirm_bookings=list(tenant.confirm_bookings) or None,
        retention_days=tenant.retention_days,
    )


def _tenant(item: TenantProfileItem) -> Tenant:
    return Tenant(
        tenant_id=item.tenant_id,
        name=item.name,
        timezone=item.timezone,
        sender_number=item.sender_number,
        sender_number_national=item.sender_number_national,
        quiet_hours=item.quiet_hours,
        reminder_offsets=strings(item.reminder_offsets),
        created_at=item.created_at,
        reply_keywords=_keywords(item.reply_keywords),
        # Offsets keep the order the tenant gave; only the kinds are sorted.
        reminder_offsets_by_kind=_offsets_by_kind(item.reminder_offsets_by_kind),
        confirm_bookings=strings(item.confirm_bookings),
        retention_days=DEFAULT_RETENTION_DAYS
        if item.retention_days is None
        else int(item.retention_days),
    )


def _keywords(stored: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not stored:
        return ()
    return tuple(sorted((str(k), tuple(str(w) for w in v)) for k, v in json.loads(stored).items()))


def _offsets_by_kind(stored: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not stored:
        return ()
    return tuple(sorted((str(k), tuple(str(o) for o in v)) for k, v in json.loads(stored).items()))


def _api_key(item: ApiKeyRecordItem) -> ApiKey:
    return ApiKey(
        tenant_id=item.tenant_id,
        prefix=item.prefix,
        created_at=item.created_at,
        label=item.label,
        revoked_at=item.revoked_at,
    )


def tenant_of(item: TenantProfileItem) -> Tenant:
    """The tenant a profile item read elsewhere holds (a Query that also reads its lists)."""
    return _tenant(item)
