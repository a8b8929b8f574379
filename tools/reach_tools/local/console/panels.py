"""The console's page and its panels, rendered from what ConsoleReader read. Times are shown
in the recipient's (or the tenant's) own zone; phone numbers in full, as this is local only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reach.data.recipients import CampaignCounts
from reach.domain.message import Message
from reach.domain.models import Appointment
from reach.domain.zones import load_zone
from reach_tools.local.console.charts import survey_results
from reach_tools.local.console.markup import Html, join, tag
from reach_tools.local.console.reader import CampaignRow, Conversation, NoticeRow, SurveyRow

PANELS = ("conversations", "appointments", "notices", "campaigns", "surveys", "events", "clock")


def local(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "-"
    return f"{moment.astimezone(load_zone(zone)):%a %d %b %H:%M %Z}"


def _message_row(message: Message, zone: str) -> Html:
    direction = message.direction.value
    return tag(
        "li",
        {"class": f"msg {direction}", "data-status": message.status.value},
        tag("span", {"class": "when"}, local(message.created_at, zone)),
        tag("span", {"class": "dir"}, "→" if direction == "outbound" else "←"),
        tag("span", {"class": "body"}, message.body or f"({message.kind.value})"),
        tag("span", {"class": "status"}, message.status.value, f" {message.intent or ''}"),
    )


def text_as_any_phone(numbers: Sequence[str]) -> Html:
    """A box to text a tenant's number as a phone with no conversation yet (a keyword)."""
    return tag(
        "form",
        {"class": "answer", "id": "text-as"},
        tag("input", {"name": "from", "placeholder": "+12025550187", "aria-label": "from phone"}),
        tag(
            "select",
            {"name": "to", "aria-label": "to number"},
            *[tag("option", None, n) for n in numbers],
        ),
        tag("input", {"name": "body", "placeholder": "text", "aria-label": "text as that phone"}),
        tag("button", {"type": "submit"}, "Send"),
    )


def conversations(found: Sequence[Conversation], numbers: Sequence[str] = ()) -> Html:
    if not found:
        return join((text_as_any_phone(numbers), tag("p", {"class": "muted"}, "no texts yet")))
    items = [text_as_any_phone(numbers)]
    for conversation in found:
        zone = conversation.tenant.timezone
        phone = conversation.phone
        items.append(
            tag(
                "article",
                {"class": "conversation", "data-phone": phone},
                tag("h3", None, phone, tag("small", None, f" with {conversation.tenant.name}")),
                tag("ol", None, *[_message_row(m, zone) for m in conversation.messages]),
                tag(
                    "form",
                    {
                        "class": "answer",
                        "data-phone": phone,
                        "data-to": conversation.tenant.sender_number,
                    },
                    tag(
                        "input",
                        {
                            "name": "body",
                            "placeholder": f"answer as {phone}",
                            "aria-label": f"answer as {phone}",
                        },
                    ),
                    tag("button", {"type": "submit"}, "Send"),
                ),
            )
        )
    return join(items)


def appointments(found: Sequence[Appointment]) -> Html:
    if not found:
        return tag("p", {"class": "muted"}, "no appointments")
    rows = []
    for appointment in found:
        zone = appointment.timezone
        timeline = [
            tag(
                "li",
                {"class": "reminder", "data-status": r.status.value},
                tag("span", {"class": "status"}, r.status.value),
                f" {', '.join(r.offsets)} at {local(r.send_at, zone)} ",
                tag("span", {"class": "muted"}, r.reason),
            )
            for r in appointment.reminders
        ]
        rows.append(
            tag(
                "article",
                {
                    "class": "appointment",
                    "data-appointment": appointment.appointment_id,
                    "data-status": appointment.status.value,
                },
                tag(
                    "h3",
                    None,
                    appointment.phone,
                    " ",
                    tag("span", {"class": "appt-status"}, appointment.status.value),
                ),
                tag(
                    "p",
                    None,
                    f"{appointment.kind.value} starts {local(appointment.starts_at, zone)} ",
                    tag("code", None, appointment.appointment_id),
                ),
                tag("ol", {"class": "timeline"}, *timeline),
            )
        )
    return join(rows)


def notices(found: Sequence[NoticeRow]) -> Html:
    if not found:
        return tag("p", {"class": "muted"}, "no notices")
    rows = [
        tag(
            "li",
            {"class": "notice", "data-status": n.status},
            f"{n.appointment.phone} {n.type} eta {local(n.eta, n.appointment.timezone)} ",
            tag("span", {"class": "status"}, n.status),
            tag("span", {"class": "muted"}, f" {n.reason or ''}"),
        )
        for n in found
    ]
    return tag("ul", None, *rows)


def campaign_bar(counts: CampaignCounts, status: str) -> Html:
    """Progress: recipients with a final outcome (sent, failed or skipped; a receipt later
    makes a sent one delivered) out of all the fan-out has created, and every counter."""
    total, done = counts["total"], counts.ended
    shown = [f"{name.replace('_', ' ')} {value}" for name, value in counts.items() if value]
    return join(
        (
            tag(
                "progress",
                {"max": max(total, 1), "value": done, "data-status": status},
                f"{done}/{total}",
            ),
            tag("span", {"class": "counts"}, f" {done}/{total} · ", " · ".join(shown)),
        )
    )


def campaigns(found: Sequence[CampaignRow]) -> Html:
    if not found:
        return tag("p", {"class": "muted"}, "no campaigns")
    return join(
        tag(
            "article",
            {"class": "campaign", "data-campaign": row.campaign.campaign_id},
            tag(
                "h3",
                None,
                row.campaign.name,
                " ",
                tag("span", {"class": "campaign-status"}, row.campaign.status.value),
            ),
            campaign_bar(row.counts, row.campaign.status.value),
        )
        for row in found
    )


def surveys(found: Sequence[SurveyRow]) -> Html:
    if not found:
        return tag("p", {"class": "muted"}, "no surveys")
    return join(survey_results(row.results, row.survey_id, row.name) for row in found)


def events(found: Sequence[Mapping[str, Any]]) -> Html:
    if not found:
        return tag("p", {"class": "muted"}, "no events yet")
    rows = [
        tag(
            "li",
            {"class": "event", "data-type": e.get("detail-type")},
            tag("span", {"class": "when"}, e.get("time")),
            " ",
            tag("strong", None, e.get("detail-type")),
            " ",
            tag("code", None, _ids(e.get("detail") or {})),
        )
        for e in found
    ]
    return tag("ol", None, *rows)


def _ids(detail: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in detail.items() if k.endswith("_id") and k != "event_id")


def clock(now: datetime, zone: str) -> Html:
    return join(
        (
            tag("span", {"id": "now"}, local(now, zone)),
            *[
                tag("button", {"class": "advance", "data-span": span}, f"+{span}")
                for span in ("15m", "1h", "1d")
            ],
        )
    )


STYLE = """
body{font:14px system-ui,sans-serif;margin:1em;background:#fafafa}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1em}
section.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5em 1em;
  max-height:32em;overflow:auto}
.muted{color:#777}.msg.inbound{color:#05a}.when{color:#666;margin-right:.5em}
.bar-row{display:flex;align-items:center;gap:.5em}.bar-label{width:8em}
.bar{display:inline-block;height:.9em;background:#4a8;min-width:1px}
progress{width:60%}
"""

SCRIPT = """
const panels = %s;
function typing(panel) {
  // Polling must not wipe a form being filled in: not while any of its fields has the
  // focus (empty or not: moving from "from phone" to its text passes through an empty box).
  const box = document.activeElement;
  return box && panel.contains(box) && box.matches('input, textarea, select');
}
async function refresh(name) {
  const panel = document.getElementById(name);
  if (typing(panel)) return;
  const answer = await fetch('/console/panels/' + name);
  const html = answer.ok ? await answer.text() : null;
  if (html !== null && !typing(panel)) panel.innerHTML = html;
}
function refreshAll() { panels.forEach(refresh); }
document.addEventListener('submit', async (e) => {
  if (!e.target.matches('form.answer')) return;
  e.preventDefault();
  const form = e.target;
  const from = form.elements.from ? form.elements.from.value : form.dataset.phone;
  const to = form.elements.to ? form.elements.to.value : form.dataset.to;
  const body = JSON.stringify({from: from, to: to, body: form.elements.body.value});
  const answer = await fetch('/console/answer', {method: 'POST', body: body});
  document.getElementById('status').textContent = answer.ok ? 'sent' : await answer.text();
  refreshAll();
});
document.addEventListener('click', async (e) => {
  if (!e.target.matches('button.advance')) return;
  document.getElementById('status').textContent = 'moving the clock...';
  const span = JSON.stringify({advance: e.target.dataset.span});
  const answer = await fetch('/console/clock', {method: 'POST', body: span});
  document.getElementById('status').textContent = answer.ok ? 'clock moved' : await answer.text();
  refreshAll();
});
refreshAll();
setInterval(refreshAll, %d);
"""


def page(poll_ms: int) -> Html:
    sections = [
        tag(
            "section",
            {"class": "panel", "aria-labelledby": f"{name}-title"},
            tag("h2", {"id": f"{name}-title"}, name.capitalize()),
            tag("div", {"id": name}, "loading..."),
        )
        for name in PANELS
    ]
    return Html(
        "<!doctype html>"
        + tag(
            "html",
            {"lang": "en"},
            tag(
                "head",
                None,
                tag("meta", {"charset": "utf-8"}),
                tag("title", None, "Reach local console"),
                tag("style", None, Html(STYLE)),
            ),
            tag(
                "body",
                None,
                tag("h1", None, "Reach local console"),
                tag(
                    "p",
                    {"class": "muted"},
                    "Local only: phone numbers are shown in full. ",
                    tag("span", {"id": "status", "role": "status"}),
                ),
                tag("main", None, *sections),
                tag("script", None, Html(SCRIPT % (json.dumps(list(PANELS)), poll_ms))),
            ),
        )
    )
