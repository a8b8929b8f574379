"""The survey part of ``reach-local demo`` (``reach-local demo survey`` runs it alone): a
cable company defines a satisfaction survey that follows each completed service visit, a
technician completes a visit, and two hours later the first question goes out through the
real dispatcher and sender. The local phone answers it the way people do: one answer that
can't be read, a low score, the callback branch and a few words of its own. The results
come back from the API with the net promoter score.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach_tools.local.demo import (
    ApiClient,
    Walkthrough,
    _at,
    _check,
    minute_ceiling,
    read,
    sent_text,
    timeline_line,
)
from reach_tools.local.recipient import ReplyReport
from reach_tools.local.stack import LocalReach

CABLE = ("Northside Cable", "America/Chicago", "+13125550170")
CUSTOMER = ("Marta", "+13125550171")
#: The survey the company defines: a 0-10 score, a callback offer for a low one, and a few
#: words. Asked two hours after each completed service visit.
SURVEY: dict[str, Any] = {
    "name": "After your service visit",
    "language": "en",
    "intro": "Northside Cable: thanks for having us today.",
    "thanks": "Thank you, your answers help us do better.",
    "expires_after": "PT24H",
    "nudge_after": "PT4H",
    "trigger": {"on": "appointment_completed", "delay": "PT2H", "kinds": ["service_visit"]},
    "questions": [
        {
            "id": "nps",
            "text": "How likely are you to recommend us to a friend, 0-10?",
            "type": "scale",
            "min": 0,
            "max": 10,
            "next": [{"if": {"lte": 6}, "goto": "call"}, {"goto": "why"}],
        },
        {
            "id": "call",
            "text": "Sorry to hear that. Would you like a call from our team?",
            "type": "choice",
            "choices": [
                {"key": "1", "label": "Yes", "action": "callback"},
                {"key": "2", "label": "No"},
            ],
        },
        {"id": "why", "text": "Anything else you'd like to tell us?", "type": "text"},
    ],
}
#: What the customer texts, in order, and what each must do.
ANSWERS = (
    ("great", "can't be read as 0-10: one re-prompt"),
    ("5", "a low score: the callback offer"),
    ("1", "yes, call me: a callback request"),
    ("The technician was 40 minutes late but very kind", "free text: thanks, completed"),
)


def surveys(reach: LocalReach, show: Walkthrough) -> None:
    """Define a survey, complete a visit, answer the survey as the customer, read results."""
    show.part("A survey after the visit")
    show.say(
        "A cable company asks how a visit went. The survey follows each completed service\n"
        "visit after two hours, within the customer's allowed hours; each reply is read\n"
        "against the question waiting for it, and the results are summed for the company."
    )
    company, issued = reach.create_tenant(*CABLE)
    api = ApiClient(reach.api_url, issued.secret)
    show.say(f"   tenant {company.name} {company.tenant_id}, number {company.sender_number}")

    show.step("Northside Cable defines a survey sent 2 hours after each completed service visit")
    survey = show.expect(api.call("POST", "/surveys", SURVEY), 201, "POST /surveys")
    show.say(f"   survey {survey['id']}: {len(survey['questions'])} questions, nudge after PT4H")

    zone = ZoneInfo(company.timezone)
    visit = book_and_complete(reach, show, api, zone)
    first = first_question(reach, show, zone, visit)
    replies = answer(reach, show, zone, company.sender_number, first)
    results(show, api, survey["id"], replies)


def book_and_complete(
    reach: LocalReach, show: Walkthrough, api: ApiClient, zone: ZoneInfo
) -> dict[str, Any]:
    name, phone = CUSTOMER
    day = (reach.clock().astimezone(zone) + timedelta(days=2)).date()
    opens, closes = _at(day, time(9, 0), zone), _at(day, time(13, 0), zone)
    show.step(f"{name}'s visit, {opens:%a %d %b} 9 AM to 1 PM, is completed at 11:40")
    body = {
        "phone": phone,
        "kind": "service_visit",
        "starts_at": opens.isoformat(),
        "window_ends_at": closes.isoformat(),
        "timezone": zone.key,
        "first_name": name,
        "technician_name": "Dee",
    }
    visit = show.expect(api.call("POST", "/appointments", body), 201, "POST /appointments")
    # Its evening-before and morning-of reminders go on the way to the visit.
    reach.scheduler.tick(_at(day, time(11, 40), zone))
    path = f"/appointments/{visit['id']}/complete"
    done: dict[str, Any] = show.expect(api.call("POST", path, None), 200, f"POST {path}")
    show.say(f"   {done['status']}: the survey's trigger starts one response for {name}")
    _check(done["status"] == "completed", f"the visit should be completed: {done['status']}")
    return done


def first_question(
    reach: LocalReach, show: Walkthrough, zone: ZoneInfo, visit: dict[str, Any]
) -> Any:
    phone = visit["phone"]
    completed = reach.clock()
    early = reach.scheduler.tick(completed + timedelta(hours=1))
    _check(
        not [t for t in early.published if t.phone == phone],
        "nothing should go before the trigger's 2 hours",
    )
    report = reach.scheduler.tick(minute_ceiling(completed + timedelta(hours=2)))
    texts = [t for t in report.published if t.phone == phone]
    show.step("Two hours later the dispatcher sends the first question")
    for sms in texts:
        when = f"{sms.published_at.astimezone(zone):%a %d %b %H:%M %Z}"
        show.say(timeline_line(when, phone, sent_text(sms)))
    _check(
        len(texts) == 1 and "0-10" in texts[0].body and "Reply STOP" in texts[0].body,
        f"one first question with its opt-out line should go: {[t.body for t in texts]}",
    )
    return texts[0]


def answer(
    reach: LocalReach, show: Walkthrough, zone: ZoneInfo, number: str, first: Any
) -> list[ReplyReport]:
    phone, clock = first.phone, reach.clock
    show.step("The customer answers: one unreadable answer, a low score, yes to a call, words")
    replies = []
    previous = first.message_id
    for words, meaning in ANSWERS:
        clock.advance(timedelta(minutes=2))
        result = reach.phone.reply(phone, number, words, previous_message_id=previous)
        when = f"{clock().astimezone(zone):%a %d %b %H:%M %Z}"
        show.say(timeline_line(when, phone, f'texts "{words}"   ({meaning})'))
        for text in result.answers:
            show.say(timeline_line(when, phone, f'<- "{text.body}"'))
            previous = text.message_id or previous
        for event in result.events:
            show.say(f"   {'':<21}{'':<13}event {event['detail-type']}")
        replies.append(result)
    bodies = [r.answers[0].body if r.answers else "" for r in replies]
    _check(
        "0 to 10" in bodies[0]
        and "call from our team" in bodies[1]
        and "Anything else" in bodies[2]
        and bodies[3] == SURVEY["thanks"],
        f"each answer should get the next step of the survey: {bodies}",
    )
    kinds = [e["detail-type"] for r in replies for e in r.events]
    _check(
        "CallbackRequested" in kinds and kinds[-1] == "SurveyCompleted",
        f"the callback and the completion should reach the bus: {kinds}",
    )
    completed = replies[-1].events[-1]["detail"]
    _check(
        "why" not in completed.get("answers", {}),
        f"no free text may go on the bus: {completed}",
    )
    return replies


def results(show: Walkthrough, api: ApiClient, survey_id: str, replies: list[ReplyReport]) -> None:
    path = f"/surveys/{survey_id}/results"
    show.step(f"The company reads the results: GET {path}")
    found = read(api, path)
    dispositions = ", ".join(f"{k} {v}" for k, v in found["dispositions"].items() if v)
    show.say(f"   responses {found['responses']} ({dispositions}), rate {found['response_rate']}")
    for question in found["questions"]:
        show.say(
            f"   {question['id']:<5} {question['type']:<6} answered {question['answered']}"
            + _figures(question)
        )
    nps = next(q["nps"] for q in found["questions"] if q["id"] == "nps")
    show.say(f"   Net promoter score: {nps:+.0f} (promoters 9-10 minus detractors 0-6)")
    _check(
        found["dispositions"]["completed"] == 1 and nps == -100.0,
        f"one completed response with one detractor should give NPS -100: {found}",
    )
    rows = read(api, f"/surveys/{survey_id}/responses")["items"]
    show.say(f"   GET /surveys/{survey_id}/responses: contact {rows[0]['contact']} (never a phone)")
    _check(
        all(CUSTOMER[1] not in str(row) for row in rows),
        "responses must show a pseudonymous contact, never the phone",
    )


def _figures(question: dict[str, Any]) -> str:
    if question["choices"]:
        return "   " + ", ".join(f"{c['label']} {c['count']}" for c in question["choices"])
    if question["distribution"]:
        given = [f"{d['value']}: {d['count']}" for d in question["distribution"] if d["count"]]
        return f"   {', '.join(given)}, mean {question['mean']}, median {question['median']}"
    return ""
