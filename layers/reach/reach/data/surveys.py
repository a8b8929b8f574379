"""Survey definitions, in the appointments table:

  ``<tenant>#survey#<id> / survey``   the definition (``SurveyItem``), listed on the sparse
                                      ``lookup`` index under ``<tenant>#surveys`` by creation

Why the appointments table and not the tenants table: what a survey gathers (its sends,
responses and counters) belongs with appointments, list members and campaigns, item
collections keyed ``<tenant>#...`` in this table, so the survey's own partition can hold them
later (``<tenant>#survey#<id> / count#<n>``, as campaigns do) and the sender can read the
definition in the same BatchGetItem as a visit (``data/batch_reads.py`` reads this table).
The tenants table holds a tenant's profile with its templates, read from ``profile`` on: a
``survey#`` sort key there would sort inside that range and be read with every profile.

The definition is one JSON attribute in the shape the API takes (``survey_to_dict``): it is
never queried by its parts, and is read back whole, without being checked again (a lint made
stricter later must not make a stored survey unreadable).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from reach.data.paging import PageTokens
from reach.data.tables import AppointmentsTableItem, LookupIndex
from reach.data.transactions import condition_failed
from reach.domain.errors import Conflict, NotFound
from reach.domain.surveys import Survey, survey_from_dict, survey_to_dict

SURVEY_SK = "survey"


class SurveyItem(AppointmentsTableItem, discriminator="survey"):
    """A survey definition; ``appointment_id`` holds the survey id."""

    survey_id = UnicodeAttribute()
    name = UnicodeAttribute()
    #: JSON: reach.domain.surveys.survey_to_dict.
    definition = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    lookup_key = UnicodeAttribute(null=True)
    lookup_at = UTCDateTimeAttribute(null=True)

    lookup = LookupIndex()


def survey_pk(tenant_id: str, survey_id: str) -> str:
    return f"{tenant_id}#survey#{survey_id}"


def surveys_lookup_key(tenant_id: str) -> str:
    return f"{tenant_id}#surveys"


@dataclass(frozen=True)
class SurveyPage:
    items: list[Survey]
    next_token: str | None


class SurveyRepository:
    def __init__(self, *, tokens: PageTokens | None = None) -> None:
        self._tokens = tokens or PageTokens()

    def create(self, survey: Survey) -> Survey:
        """Store a new survey; Conflict if its id is taken (ids are random: never in practice)."""
        item = SurveyItem(
            pk=survey_pk(survey.tenant_id, survey.survey_id),
            sk=SURVEY_SK,
            tenant_id=survey.tenant_id,
            appointment_id=survey.survey_id,
            survey_id=survey.survey_id,
            name=survey.definition.name,
            definition=json.dumps(survey_to_dict(survey.definition), ensure_ascii=False),
            created_at=survey.created_at,
            lookup_key=surveys_lookup_key(survey.tenant_id),
            lookup_at=survey.created_at,
        )
        try:
            item.save(condition=SurveyItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict(f"survey {survey.survey_id} exists already") from error
            raise
        return survey

    def get(self, tenant_id: str, survey_id: str) -> Survey:
        """The tenant's survey; NotFound for another tenant's as for none."""
        try:
            item = SurveyItem.get(survey_pk(tenant_id, survey_id), SURVEY_SK, consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"survey {survey_id} not found") from None
        return _survey(item)

    def page(self, tenant_id: str, limit: int, next_token: str | None) -> SurveyPage:
        """The tenant's surveys, newest first (key-bound on the lookup index)."""
        hash_key = surveys_lookup_key(tenant_id)
        scope = f"surveys\n{hash_key}"
        start = (
            self._tokens.open(next_token, scope, hash_key, "lookup_key", ("lookup_at", "pk", "sk"))
            if next_token
            else None
        )
        results = SurveyItem.lookup.query(
            hash_key,
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )
        items = [_survey(item) for item in results if isinstance(item, SurveyItem)]
        last = results.last_evaluated_key if len(items) == limit else None
        return SurveyPage(items, self._tokens.seal(last, scope))

    def each(self, tenant_id: str) -> Iterator[Survey]:
        """Every survey of the tenant, a page at a time (a completed visit looks for the
        ones its kind triggers: a tenant has a handful)."""
        for item in SurveyItem.lookup.query(surveys_lookup_key(tenant_id), page_size=100):
            if isinstance(item, SurveyItem):
                yield _survey(item)


def _survey(item: SurveyItem) -> Survey:
    return Survey(
        tenant_id=item.tenant_id,
        survey_id=item.survey_id,
        definition=survey_from_dict(json.loads(item.definition)),
        created_at=item.created_at,
    )
