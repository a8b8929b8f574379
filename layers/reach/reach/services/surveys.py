"""Surveys for the tenant: define one (checked whole before it is stored), read and list them.

Sending, the survey conversation and the results come later and build on the definition's
rules in reach.domain.surveys, survey_answers and survey_results; this service only stores.
Definitions are never changed once stored: a response refers to the questions it was asked.
"""

from __future__ import annotations

import uuid

from reach.clock import Clock
from reach.data.surveys import SurveyPage, SurveyRepository
from reach.domain.surveys import Survey, SurveyDefinition, check_survey


class SurveyService:
    def __init__(self, surveys: SurveyRepository, clock: Clock) -> None:
        self._surveys = surveys
        self._clock = clock

    def create(self, tenant_id: str, definition: SurveyDefinition) -> Survey:
        """Check ``definition`` (InvalidInput naming the path at fault) and store it."""
        survey = Survey(
            tenant_id=tenant_id,
            survey_id=f"srv_{uuid.uuid4().hex}",
            definition=check_survey(definition),
            created_at=self._clock(),
        )
        return self._surveys.create(survey)

    def get(self, tenant_id: str, survey_id: str) -> Survey:
        return self._surveys.get(tenant_id, survey_id)

    def page(self, tenant_id: str, limit: int, next_token: str | None) -> SurveyPage:
        return self._surveys.page(tenant_id, limit, next_token)
