"""Chooses the provider opt-out list adapter, by the same provider names as the SMS sender."""

from __future__ import annotations

from typing import Any

from reach.adapters.opt_outs_eum import DEFAULT_OPT_OUT_LIST, EumOptOutList, EumTenantOptOutLists
from reach.adapters.opt_outs_sns import SnsOptOutList
from reach.ports.opt_outs import AccountWideOptOutList, ProviderOptOutList, ProviderOptOutLists

PROVIDERS = ("sns", "end-user-messaging")


def build_opt_out_list(
    provider: str,
    region: str,
    opt_out_list_name: str = DEFAULT_OPT_OUT_LIST,
    *,
    client: Any = None,
    endpoint_url: str | None = None,
) -> ProviderOptOutList:
    """The opt-out list of ``provider`` (as ``SMS_PROVIDER``): ``sns`` or ``end-user-messaging``.

    SNS has one account-wide list per region, so ``opt_out_list_name`` is ignored for it. End
    User Messaging reads the named list (a name or an ARN); "" means the list new phone
    numbers are assigned to, ``Default`` (AWS End User Messaging SMS user guide, "Change a
    phone number's opt-out list"). ``client`` replaces the boto3 client the adapter would
    build (tests pass a stubbed one); otherwise the client is built for ``region`` and
    ``endpoint_url`` with botocore retries off (reach.adapters.sms_base.SDK_CLIENT_CONFIG).
    Raises ValueError for any other provider.
    """
    match provider:
        case "sns":
            return SnsOptOutList(client, region_name=region, endpoint_url=endpoint_url)
        case "end-user-messaging":
            return EumOptOutList(
                client,
                opt_out_list_name or DEFAULT_OPT_OUT_LIST,
                region_name=region,
                endpoint_url=endpoint_url,
            )
        case _:
            raise ValueError(
                f"unknown SMS provider {provider!r} for opt-out lists: "
                f"expected one of {', '.join(PROVIDERS)}"
            )


def build_opt_out_lists(
    provider: str, region: str, *, client: Any = None, endpoint_url: str | None = None
) -> ProviderOptOutLists:
    """Where ``provider`` keeps opt-outs, as the reconciliation reads them.

    SNS: its one account-wide list, which concerns every tenant. End User Messaging: each
    tenant's own list, ``reach-<tenant id>`` (the one ``reach numbers attach`` sets), which
    concerns that tenant alone; the account's ``Default`` list is not read, because nothing
    says which tenant's number an entry there was texted to. ``client`` and ``endpoint_url``
    as for ``build_opt_out_list``; ValueError for any other provider.
    """
    match provider:
        case "sns":
            return AccountWideOptOutList(
                SnsOptOutList(client, region_name=region, endpoint_url=endpoint_url)
            )
        case "end-user-messaging":
            return EumTenantOptOutLists(client, region_name=region, endpoint_url=endpoint_url)
        case _:
            raise ValueError(
                f"unknown SMS provider {provider!r} for opt-out lists: "
                f"expected one of {', '.join(PROVIDERS)}"
            )
