"""Campaigns as the tenant sees them: the campaign record, its status actions, its counters and
its recipients' outcomes.

  ``<t>#campaign#<id> / campaign``          the campaign (``CampaignItem``)
  ``<t>#campaign#<id> / count#<n>``         counters, n in 0..7 (written by the sender side)
  ``<t>#campaign#<id>#<segment> / recipient#<e164>``  one recipient's outcome (the same)
  ``<t>#campaigns / campaign#<id>``         the tenant's campaigns (erasure pages through them)

While scheduled or sending, a campaign sits in the ``lookup`` index under ``campaigns#<status>``
(by send_at): the dispatcher's registry. A pause takes it out, so no tick starts or feeds it; a
resume puts it back (under ``sending`` once it has started). A cancel files it under
``campaigns#cancelled``, where the dispatcher only settles it: its held recipients end as
skipped (``cancelled``), and once nothing is outstanding it leaves the registry with
``CampaignFinished``. Every action is a
conditional update on the version and status read, so an action racing the dispatcher (or
another action) is decided again on what is stored, never applied over it.

The counter and recipient items belong to reach.data.recipients (the send side); this module
reads them by their documented layout only, with no model of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from reach.data.paging import PageTokens
from reach.data.reminders import DueIndex
from reach.data.tables import (
    CAMPAIGN_SK,
    AnyDueIndex,
    AppointmentsTableItem,
    CampaignItem,
    TenantCampaignItem,
    campaign_pk,
    campaigns_lookup_key,
    tenant_campaign_sk,
    tenant_campaigns_pk,
)
from reach.data.transactions import condition_failed
from reach.domain.campaigns import Campaign, CampaignStatus, RecipientOutcome, after_action
from reach.domain.errors import Conflict, InvalidToken, NotFound
from reach.domain.lists import MEMBER_SEGMENTS

#: Where a campaign sits in the dispatcher's registry in each status (absent: not at all). A
#: cancelled one stays until the dispatcher has settled its recipients still waiting.
_REGISTRY = {
    CampaignStatus.SCHEDULED: campaigns_lookup_key(CampaignStatus.SCHEDULED.value),
    CampaignStatus.SENDING: campaigns_lookup_key(CampaignStatus.SENDING.value),
    CampaignStatus.CANCELLED: campaigns_lookup_key(CampaignStatus.CANCELLED.value),
}
_COUNT_PREFIX = "count#"
_RECIPIENT_PREFIX = "recipient#"
#: Tries of one action before it is reported as a conflict (each retry re-reads).
_MAX_ATTEMPTS = 4
#: Items one recipients page may read in all (a filter on status can skip many): the page
#: then ends early with a token, and the client pages on.
_READ_BUDGET_PER_ITEM = 10


def recipients_pk(tenant_id: str, campaign_id: str, segment: int) -> str:
    return f"{campaign_pk(tenant_id, campaign_id)}#{segment}"


@dataclass(frozen=True)
class RecipientPage:
    items: list[RecipientOutcome]
    next_token: str | None


class CampaignRepository:
    def __init__(self, *, due_shards: int = 1, tokens: PageTokens | None = None) -> None:
        self._due = DueIndex(due_shards)
        self._tokens = tokens or PageTokens()

    def reminders_due(
        self, tenant_id: str, start: datetime, end: datetime, *, bound: int
    ) -> tuple[int, bool]:
        """How many of the tenant's texts wait in the ``due`` index for ``[start, end]``,
        counted up to ``bound`` (one key-bound Query per shard); and whether the bound was hit.
        The tenant's reminders go out on its one sending number, before a campaign's texts."""
        found = 0
        for shard in self._due.shards:
            for _ in AppointmentsTableItem.due_any.query(
                shard,
                AnyDueIndex.due_at.between(start, end),
                filter_condition=AppointmentsTableItem.tenant_id == tenant_id,
                page_size=500,
            ):
                found += 1
                if found >= bound:
                    return found, True
        return found, False

    def create(self, campaign: Campaign) -> Campaign:
        """Store a new campaign, scheduled: in the registry the dispatcher starts from. Its
        entry in the tenant's campaigns goes first, so no campaign is ever missing from them
        (an entry whose campaign was refused finds no recipient, and harms nothing)."""
        TenantCampaignItem(
            pk=tenant_campaigns_pk(campaign.tenant_id),
            sk=tenant_campaign_sk(campaign.campaign_id),
            tenant_id=campaign.tenant_id,
            appointment_id=campaign.campaign_id,
            campaign_id=campaign.campaign_id,
        ).save()
        try:
            _item(campaign).save(condition=CampaignItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict(f"campaign {campaign.campaign_id} exists already") from error
            raise
        return campaign

    def ids(self, tenant_id: str, page_size: int = 100) -> Iterator[str]:
        """Every campaign id of the tenant, page by page (one small item each)."""
        for item in TenantCampaignItem.query(
            tenant_campaigns_pk(tenant_id),
            TenantCampaignItem.sk.startswith(tenant_campaign_sk("")),
            page_size=page_size,
        ):
            if isinstance(item, TenantCampaignItem):
                yield item.campaign_id

    def get(self, tenant_id: str, campaign_id: str) -> Campaign:
        try:
            item = CampaignItem.get(
                campaign_pk(tenant_id, campaign_id), CAMPAIGN_SK, consistent_read=True
            )
        except DoesNotExist:
            raise NotFound(f"campaign {campaign_id} not found") from None
        return _campaign(item)

    def act(self, tenant_id: str, campaign_id: str, action: str, now: datetime) -> Campaign:
        """Pause, resume or cancel: Conflict (naming ``status``) from a status that cannot."""
        for _ in range(_MAX_ATTEMPTS):
            before = self.get(tenant_id, campaign_id)
            after = _after(before, _allowed(before, action), now)
            try:
                CampaignItem(pk=campaign_pk(tenant_id, campaign_id), sk=CAMPAIGN_SK).update(
                    actions=_changes(after),
                    condition=(CampaignItem.version == before.version)
                    & (CampaignItem.status == before.status.value),
                )
            except UpdateError as error:
                if not condition_failed(error):
                    raise
                continue  # the dispatcher (or another action) moved it: decide again
            return after
        raise Conflict(f"campaign changed {_MAX_ATTEMPTS} times while being {action}d; retry")

    def counts(self, tenant_id: str, campaign_id: str) -> dict[str, int]:
        """The counters summed over their shards, by attribute name (none yet: empty)."""
        totals: dict[str, int] = {}
        for raw in _query(
            campaign_pk(tenant_id, campaign_id),
            AppointmentsTableItem.sk.startswith(_COUNT_PREFIX),
        ):
            for name, value in raw.items():
                if isinstance(value, dict) and "N" in value:
                    totals[name] = totals.get(name, 0) + int(float(value["N"]))
        return totals

    def recipients(
        self,
        tenant_id: str,
        campaign_id: str,
        status: str | None,
        limit: int,
        next_token: str | None,
    ) -> RecipientPage:
        """A page of the campaign's recipients, segment by segment, by phone within one."""
        scope = f"campaign-recipients\n{campaign_pk(tenant_id, campaign_id)}\n{status or ''}"
        segment, start = (
            self._open(next_token, scope, tenant_id, campaign_id) if next_token else (0, None)
        )
        found: list[RecipientOutcome] = []
        budget = limit * _READ_BUDGET_PER_ITEM
        while segment < MEMBER_SEGMENTS:
            pk = recipients_pk(tenant_id, campaign_id, segment)
            response = _connection().query(
                pk,
                range_key_condition=AppointmentsTableItem.sk.startswith(_RECIPIENT_PREFIX),
                filter_condition=None if status is None else _status_is(status),
                exclusive_start_key=start,
                limit=min(limit - len(found), budget),
                consistent_read=True,
            )
            found += [_outcome(raw) for raw in response.get("Items", [])]
            budget -= int(response.get("ScannedCount", 0))
            start = response.get("LastEvaluatedKey")
            if start is None:
                segment, start = segment + 1, None
            if len(found) >= limit or budget <= 0:
                break
        return RecipientPage(found, self._seal(segment, start, scope, tenant_id, campaign_id))

    def _seal(
        self,
        segment: int,
        start: dict[str, Any] | None,
        scope: str,
        tenant_id: str,
        campaign_id: str,
    ) -> str | None:
        if segment >= MEMBER_SEGMENTS:
            return None
        # A segment to start from the top carries its prefix as the sort key: no item has it.
        key = start or {
            "pk": {"S": recipients_pk(tenant_id, campaign_id, segment)},
            "sk": {"S": _RECIPIENT_PREFIX},
        }
        listing = {"listing": {"S": campaign_pk(tenant_id, campaign_id)}}
        return self._tokens.seal({**listing, "pk": key["pk"], "sk": key["sk"]}, scope)

    def _open(
        self, token: str, scope: str, tenant_id: str, campaign_id: str
    ) -> tuple[int, dict[str, Any] | None]:
        key = self._tokens.open(
            token, scope, campaign_pk(tenant_id, campaign_id), "listing", ("pk", "sk")
        )
        segments = {recipients_pk(tenant_id, campaign_id, n): n for n in range(MEMBER_SEGMENTS)}
        segment = segments.get(key["pk"]["S"])
        sk = key["sk"]["S"]
        if segment is None or not sk.startswith(_RECIPIENT_PREFIX):
            raise InvalidToken("not a token for this listing")
        start = None if sk == _RECIPIENT_PREFIX else {"pk": key["pk"], "sk": key["sk"]}
        return segment, start


def _connection() -> Any:
    return AppointmentsTableItem._get_connection()


def _query(pk: str, condition: Any) -> Iterator[dict[str, Any]]:
    """Raw items of one partition (items of another module's families, read by layout)."""
    start = None
    while True:
        response = _connection().query(
            pk, range_key_condition=condition, exclusive_start_key=start, consistent_read=True
        )
        yield from response.get("Items", [])
        start = response.get("LastEvaluatedKey")
        if not start:
            return


def _status_is(status: str) -> Any:
    # Recipients store their status under the same attribute name as a campaign does.
    return CampaignItem.status == status


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _when(text: str | None) -> datetime | None:
    """A time as PynamoDB's UTCDateTimeAttribute stores it; None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def _outcome(raw: dict[str, Any]) -> RecipientOutcome:
    return RecipientOutcome(
        phone=_text(raw, "phone") or (_text(raw, "sk") or "").removeprefix(_RECIPIENT_PREFIX),
        status=_text(raw, "status") or "unknown",
        reason=_text(raw, "reason"),
        updated_at=_when(_text(raw, "updated_at")),
    )


def _allowed(campaign: Campaign, action: str) -> CampaignStatus:
    """Where ``action`` takes the campaign; Conflict naming ``status`` when it may not."""
    try:
        return after_action(campaign.status, action)
    except Conflict as error:
        reason = error.message.removeprefix("status: ")
        raise Conflict(reason, field="status") from None


def _after(before: Campaign, status: CampaignStatus, now: datetime) -> Campaign:
    if status is CampaignStatus.SENDING and before.started_at is None:
        # Resumed before the dispatcher ever started it: it still waits for send_at.
        status = CampaignStatus.SCHEDULED
    finished = now if status is CampaignStatus.CANCELLED else before.finished_at
    return replace(
        before, status=status, updated_at=now, version=before.version + 1, finished_at=finished
    )


def _registry_key(campaign: Campaign) -> str | None:
    return _REGISTRY.get(campaign.status)


def _changes(after: Campaign) -> list[Any]:
    key = _registry_key(after)
    actions = [
        CampaignItem.status.set(after.status.value),
        CampaignItem.version.set(after.version),
        CampaignItem.updated_at.set(after.updated_at),
    ]
    if after.finished_at is not None:
        actions.append(CampaignItem.finished_at.set(after.finished_at))
    if key is None:
        actions += [CampaignItem.lookup_key.remove(), CampaignItem.lookup_at.remove()]
    else:
        actions += [CampaignItem.lookup_key.set(key), CampaignItem.lookup_at.set(after.send_at)]
    return actions


def _item(campaign: Campaign) -> CampaignItem:
    return CampaignItem(
        pk=campaign_pk(campaign.tenant_id, campaign.campaign_id),
        sk=CAMPAIGN_SK,
        tenant_id=campaign.tenant_id,
        appointment_id=campaign.campaign_id,
        campaign_id=campaign.campaign_id,
        list_id=campaign.list_id,
        name=campaign.name,
        message=campaign.message,
        parts=campaign.parts,
        encoding=campaign.encoding,
        send_at=campaign.send_at,
        status=campaign.status.value,
        version=campaign.version,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        estimated_finish=campaign.estimated_finish,
        lookup_key=_registry_key(campaign),
        lookup_at=campaign.send_at if _registry_key(campaign) else None,
    )


def _campaign(item: CampaignItem) -> Campaign:
    return Campaign(
        tenant_id=item.tenant_id,
        campaign_id=item.campaign_id,
        list_id=item.list_id,
        name=item.name,
        message=item.message,
        parts=int(item.parts),
        encoding=item.encoding,
        send_at=item.send_at,
        status=CampaignStatus(item.status),
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
        started_at=item.started_at,
        finished_at=item.finished_at,
        estimated_finish=item.estimated_finish,
    )
