"""Issue 17, item 6: the fuzzing run. schemathesis generates requests from the committed
OpenAPI document, valid and invalid ones, and sends them through the local front in process
(authorizer, routing and gateway responses from template.yaml, then the API function) on
moto: no network, no server. Every answer must be no 5xx and conform to the document; the
document must say exactly what the code accepts (positive and negative data checks).

Derandomized and bounded, so that it runs the same in every `make test` and stays well under
a minute on two cores. `REACH_EXPLORE=10` (``make explore``) runs ten times as many.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from builders import CLINIC_NUMBER
from reach.wiring import Services
from reach_tools.local.functions import load_function
from reach_tools.local.gateway import LocalGateway, rest_api_of
from reach_tools.local.stack import API_FUNCTION, AUTHORIZER_FUNCTION
from reach_tools.local.wsgi_front import wsgi_app
from reach_tools.template import load_template

DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "api" / "openapi.json"
EXAMPLES = 12 * int(os.environ.get("REACH_EXPLORE", "1"))

schema = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    deterministic=True,
)
#: Fields whose rule no JSON Schema can state, each said in the document's description: a
#: number that can receive a text (the phone library's metadata), a zone of the IANA
#: database, a start in the future and a window whose end is not before its start, offsets
#: that fit before the start, visible text (Unicode categories), what is stored already, a
#: version written as an integer (JSON Schema counts 4.0 as an integer; the API does not),
#: a notice's ETA (one of two fields, within 12 hours from now) and link (https, within
#: the text's 3 parts), and a list's name and keyword (the confirmation text's 2 parts, the
#: reserved carrier words) and a member's consent (written, with evidence, for marketing;
#: not in the future), a list's description (visible text) and frequency (a whole number,
#: strict like version); and a campaign's list (one of the tenant's), name (visible text),
#: start (not gone by) and text (the program's name, its parts, no health details); a
#: CSV import's header and encoding (a string in the document); and a survey's rules
#: (gotos, cycles, reachability, operators per type, choices read alike, texts' SMS parts
#: as sent, health details, durations, a trigger's kinds named once).
BEYOND_THE_SCHEMA = re.compile(
    r"^(phone|timezone|starts_at|window_ends_at|from|to|reminders(\[\d+\])?|first_name"
    r"|technician_name|location|note|evidence|external_id|version|eta|eta_minutes|link"
    r"|name|keyword|description|frequency\.messages|consent\.(source|evidence|obtained_at)"
    r"|list_id|send_at|message"
    # A CSV import's content: its header and rows (a string in the document)
    r"|body|header\.[^ ]*"
    # A survey's graph, sizes, health details, durations and the language of its choices
    r"|questions(\[\d+\].*)?|intro|thanks|expires_after|nudge_after|trigger\.(delay|kinds(\[\d+\])?))$"
)


class Front:
    """The local API for one tenant, as a WSGI app, with that tenant's key."""

    def __init__(self, aws: Services) -> None:
        template = load_template()
        region = aws.settings.region
        _, key = aws.admin.create_tenant(
            "Riverside Family Clinic", "America/New_York", CLINIC_NUMBER, "21:00-08:00", ("P1D",)
        )
        self.authorization = f"Bearer {key.secret}"
        gateway = LocalGateway(
            authorizer=load_function(template, AUTHORIZER_FUNCTION, region),
            api=load_function(template, API_FUNCTION, region),
            rest_api=rest_api_of(template, API_FUNCTION),
            region=region,
        )
        self.app: Callable[..., Iterable[bytes]] = wsgi_app(gateway)


#: The front of the test running now: schemathesis' own follow-up requests (its checks for
#: ignored auth and unsupported methods) go to the schema's app, not to the one a call names.
_CURRENT: list[Front] = []


def _current_front(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return _CURRENT[-1].app(environ, start_response)


schema.app = _current_front


@pytest.fixture
def front(aws: Services) -> Iterator[Front]:
    _CURRENT.append(Front(aws))
    yield _CURRENT[-1]
    _CURRENT.pop()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_generated_request_gets_a_documented_answer_and_no_5xx(case: Any, front: Front):
    headers = {"Authorization": front.authorization}
    response = case.call(headers=headers)

    # every check schemathesis has, with its positive-data check made exact below
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
    )
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _accepted_as_documented(response.status_code, response.content)


def _accepted_as_documented(status: int, content: bytes) -> None:
    """A request the document allows is accepted, or refused for what no schema can say: 400
    a next_token this API did not issue (opaque and signed), 404 an id it does not have, 409
    a clash with what is stored, 422 only for a rule beyond the schema (BEYOND_THE_SCHEMA: a
    notice's one-of-two ETA, its bounds from now, an https link and the text's length are
    among them). 202: a notice accepted."""
    assert status < 500, content
    if status != 422:
        assert status in (200, 201, 202, 400, 404, 409), content
        return
    fields = [f["field"] for f in json.loads(content).get("fields", [])]
    assert fields, content
    assert all(BEYOND_THE_SCHEMA.match(field) for field in fields), content
