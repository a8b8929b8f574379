"""The dispatcher's survey timer step: move responses on when their time has come.

Each tick reads, in one Query on the ``lookup`` index (``SurveyResponses.timers``), at most
``TIMER_PAGE`` responses whose timer is due, oldest first, and for each:

- a ``queued`` response whose first question the send path has settled
  (``first_sent_at`` / ``first_outcome``, written with the outcome): ``asked`` from when it
  actually went (its expiry and nudge count from then), or ``unsent`` (opted out, skipped,
  failed), which finishes it and starts the phone's next waiting survey;
- an ``asked`` response past its deadline: ``expired``, finished, next survey started;
- an ``asked`` response whose nudge is due: marked nudged and its reminder written, which
  the dispatcher claims and the send path holds to quiet hours and the caps like any text;
- anything else found there (a finished response a late outcome touched): its timer is set
  right, or cleared.

Every write is conditioned on the response's version as read, so a reply that lands first
wins and the response is looked at again on a later tick. Nothing is due: one Query, nothing
else. Completion happens on replies, never here, so no ``SurveyCompleted`` is published here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reach.data.survey_responses import SurveyResponses
from reach.domain.errors import NotFound
from reach.domain.survey_flow import (
    QUEUED_CHECK,
    ResponseState,
    SurveyResponse,
    due_expiry,
    nudged,
    settle_first,
)
from reach.domain.surveys import Survey

_log = logging.getLogger("reach-dispatcher")

#: Responses one tick moves on at most; the rest stay due and come first on the next tick.
TIMER_PAGE = 200


@dataclass
class TimerReport:
    """What the timer step of one tick did."""

    read: int = 0
    asked: int = 0
    unsent: int = 0
    expired: int = 0
    nudged: int = 0
    #: Next waiting surveys started because one finished.
    promoted: int = 0
    #: Writes that lost to a reply or another dispatcher (looked at again later).
    lost_races: int = 0


class SurveyTimers:
    """The timer step; safe to run in several dispatchers at once."""

    def __init__(
        self,
        responses: SurveyResponses,
        survey: Callable[[str, str], Survey],
        *,
        limit: int = TIMER_PAGE,
    ) -> None:
        self._responses = responses
        self._survey = survey
        self._limit = limit

    def step(self, now: datetime) -> TimerReport:
        report = TimerReport()
        surveys: dict[tuple[str, str], Survey | None] = {}
        for response in self._responses.timers(now, self._limit):
            report.read += 1
            key = (response.tenant_id, response.survey_id)
            if key not in surveys:
                surveys[key] = self._definition(*key)
            survey = surveys[key]
            if survey is None:
                # An erased survey's responses leave the sweep rather than come back forever.
                self._keep(response, None, report)
                continue
            self._move(response, survey, now, report)
        return report

    def _definition(self, tenant_id: str, survey_id: str) -> Survey | None:
        try:
            return self._survey(tenant_id, survey_id)
        except NotFound:
            _log.warning("survey_missing", extra={"survey_id": survey_id})
            return None

    def _move(
        self, response: SurveyResponse, survey: Survey, now: datetime, report: TimerReport
    ) -> None:
        definition = survey.definition
        if response.state is ResponseState.QUEUED:
            self._settle(response, survey, now, report)
            return
        if response.state is not ResponseState.ASKED:
            self._keep(response, None, report)
            return
        expired = due_expiry(response, definition, now)
        if expired is not None:
            self._finish(expired, response.version, now, report, "expired")
            return
        nudge_at = response.nudge_at(definition)
        if nudge_at is not None and nudge_at <= now:
            marked = nudged(response)
            if self._responses.nudge(marked, response.version, marked.next_timer(definition), now):
                report.nudged += 1
            else:
                report.lost_races += 1
            return
        self._keep(response, response.next_timer(definition), report)

    def _settle(
        self, response: SurveyResponse, survey: Survey, now: datetime, report: TimerReport
    ) -> None:
        settled = settle_first(response, now)
        if settled.state is ResponseState.ASKED:
            timer = settled.next_timer(survey.definition)
            if self._responses.save(settled, response.version, timer):
                report.asked += 1
            else:
                report.lost_races += 1
        elif settled.state is ResponseState.UNSENT:
            self._finish(settled, response.version, now, report, "unsent")
        else:
            # Not settled yet: the outcome's own write sets the timer again; this one only
            # makes sure a lost outcome is looked for once more.
            self._keep(response, now + QUEUED_CHECK, report)

    def _finish(
        self,
        finished: SurveyResponse,
        before: int,
        now: datetime,
        report: TimerReport,
        counter: str,
    ) -> None:
        done = self._responses.finish(finished, before, now)
        if not done.written:
            report.lost_races += 1
            return
        setattr(report, counter, getattr(report, counter) + 1)
        if done.promoted is not None:
            report.promoted += 1

    def _keep(self, response: SurveyResponse, timer: datetime | None, report: TimerReport) -> None:
        if not self._responses.save(response, response.version, timer):
            report.lost_races += 1
