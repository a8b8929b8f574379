"""An opt-out ends the phone's surveys with the tenant: the one it is answering ends
``stopped`` (``unsent`` if its first question never went), and the ones waiting behind it
end ``unsent`` (reason ``opted_out``), so no further question goes and none starts later.

The consent service calls this on every opt-out (STOP in any phrasing, free-text revocation,
the API, the provider's opt-out list). It reads the phone's lane once (a phone never surveyed
costs that one read), ends the waiting ones first and the answered one last, so finishing it
has nothing left to start. Safe to repeat: finished responses are left as they are.
START does not revive a stopped survey: consent given again is not an answer to it.
"""

from __future__ import annotations

from datetime import datetime

from reach.data.survey_responses import SurveyResponses
from reach.domain.survey_flow import stop


def stop_surveys(responses: SurveyResponses, tenant_id: str, phone: str, now: datetime) -> int:
    """End the phone's active and waiting surveys with the tenant; how many it ended."""
    lane = responses.lane(tenant_id, phone)
    if not lane.exists:
        return 0
    ended = 0
    refs = [*lane.waiting, *([lane.active] if lane.active else [])]
    for ref in refs:
        response = responses.by_ref(tenant_id, ref)
        if response is None or response.finished:
            continue
        if responses.finish(stop(response, now), response.version, now).written:
            ended += 1
    return ended
