"""``reach-local demo`` walks through the API and sends reminders on a fast-forwarded clock;
``reach-local serve`` keeps it all running, the dispatcher ticking on the real clock."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import traceback
import warnings
from datetime import UTC
from types import FrameType

from reach.domain.errors import ReachError
from reach.domain.message import MessageStatus
from reach.domain.zones import load_zone
from reach.wiring import services_from_env
from reach_tools.local.console.server import ConsoleServer
from reach_tools.local.demo import CLINIC, PARTS, run_demo, sent_text, timeline_line
from reach_tools.local.scheduler import LocalTick, SchedulerThread
from reach_tools.local.stack import PHONE_ROUTE, LocalReach

#: EventBridge's rate(1 minute), the DispatcherFunction's schedule in template.yaml.
DEFAULT_TICK_SECONDS = 60.0


def _quiet_powertools_warnings() -> None:
    # The authorizer adds no metrics by design; Powertools warns about that on every call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def outcome_lines(report: LocalTick) -> list[str]:
    """What the tick's sender did, one line per reminder: each text as it left for moto's SNS
    (the phone masked, the time in the recipient's zone), or why nothing left."""
    services = services_from_env()
    lines: list[str] = []
    texts = list(report.published)
    for handoff in report.handoffs:
        if handoff.reminder is None:
            lines.append(f"   {report.at:%a %d %b %H:%M %Z}  malformed queue message, dropped")
            continue
        queued = handoff.reminder
        try:
            appointment = services.appointments.get(queued.tenant_id, queued.appointment_id)
            zone = load_zone(appointment.timezone)
        except ReachError:
            # Deleted or unreadable since the dispatcher queued it; the sender said why.
            continue
        reminder = next(
            (r for r in appointment.reminders if r.reminder_id == queued.reminder_id), None
        )
        when = report.at.astimezone(zone)
        if handoff.retried:
            what = (
                f"not sent yet: back in the queue for another try (receive {handoff.receive_count})"
            )
        elif reminder is None:
            what = "no such reminder"
        elif reminder.status is MessageStatus.SENT:
            sms = next((t for t in texts if t.phone == appointment.phone), None)
            if sms is not None:
                texts.remove(sms)
                when = sms.published_at.astimezone(zone)
            what = (
                sent_text(sms)
                if sms is not None
                else "repeat delivery of a reminder already sent: nothing sent again"
            )
        elif reminder.status is MessageStatus.PENDING and reminder.send_at is not None:
            until = reminder.send_at.astimezone(zone)
            what = f"held until {until:%a %d %b %H:%M %Z} ({reminder.reason})"
        else:
            what = f"{reminder.status.value} ({reminder.reason or '-'})"
        lines.append(timeline_line(f"{when:%a %d %b %H:%M %Z}", appointment.phone, what))
    # A text no handed-off reminder accounts for: shown all the same, in UTC.
    for sms in texts:
        when = sms.published_at.astimezone(UTC)
        lines.append(timeline_line(f"{when:%a %d %b %H:%M %Z}", sms.phone, sent_text(sms)))
    return lines


def _print_outcomes(report: LocalTick) -> None:
    lines = outcome_lines(report)
    if lines:
        print("\n".join(lines), flush=True)


def _print_tick_error(error: Exception) -> None:
    print("reach-local: a scheduled tick failed; the next one runs as usual", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)


def serve(port: int, tick_seconds: float = DEFAULT_TICK_SECONDS, console_port: int = 8081) -> int:
    """Run the local stack until Ctrl-C (or SIGTERM), with a demo tenant to call it with,
    and the dispatcher and sender running every ``tick_seconds``."""
    stop = threading.Event()

    def _on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        reach = LocalReach(api_port=port, log_level="INFO", access_log=sys.stdout)
        reach.start()
    except OSError as error:
        print(
            f"reach-local: cannot listen on 127.0.0.1:{port} ({error}); try --port", file=sys.stderr
        )
        return 1
    try:
        console = ConsoleServer(reach, port=console_port)
    except OSError as error:
        reach.stop()
        print(
            f"reach-local: cannot listen on 127.0.0.1:{console_port} ({error}); try --console-port",
            file=sys.stderr,
        )
        return 1
    console.start()
    try:
        tenant, issued = reach.create_tenant(*CLINIC)
        exports = {
            **reach.aws.aws_environment(),
            "TENANTS_TABLE": reach.aws.table_names["TenantsTable"],
            "APPOINTMENTS_TABLE": reach.aws.table_names["AppointmentsTable"],
        }
        print(f"Reach local API   {reach.api_url}")
        print(f"Local console     {console.url}  (local only: full phone numbers)")
        print(f"Embedded AWS      {reach.aws.endpoint_url}  (moto, in this process)")
        print(f"Demo tenant       {tenant.name}  {tenant.tenant_id}")
        print(f"API key           {issued.secret}")
        print("\nTry it:")
        print(f"  curl -H 'Authorization: Bearer {issued.secret}' {reach.api_url}/appointments")
        print("\nTo use the `reach` admin CLI on this embedded AWS, in another terminal:")
        print("  unset AWS_PROFILE")
        for name, value in exports.items():
            print(f"  export {name}={shlex.quote(value)}")
        print("  reach tenants list")
        print("\nPlay the recipient: text the demo tenant's number as any phone and see the")
        print("answer and the events (book an appointment for that phone first):")
        print(
            f"  curl -X POST {reach.api_url}{PHONE_ROUTE} -d "
            f'\'{{"from": "+12025550187", "to": "{tenant.sender_number}", "body": "1"}}\''
        )
        print(
            f"\nScheduler         the dispatcher ticks every {tick_seconds:g} s on the real clock"
        )
        print("                  (EventBridge, played locally) and the sender drains the queue;")
        print("                  texts go to moto's SNS and show up here as they leave.")
        print("\nData lives in memory and is gone when this stops. Ctrl-C to stop.\n", flush=True)
        ticker = SchedulerThread(reach.scheduler, tick_seconds, _print_outcomes, _print_tick_error)
        ticker.start()
        stop.wait()
        ticker.stop()
    finally:
        console.stop()
        reach.stop()
    print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reach-local", description="Reach on this machine, on an embedded AWS (moto)."
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    demo_parser = modes.add_parser("demo", help="walk through the API in a few seconds, then exit")
    demo_parser.add_argument(
        "part",
        nargs="?",
        choices=PARTS,
        default="all",
        help="all (default); campaign: only lists, a keyword sign-up, an import and a campaign; "
        "survey: only a survey after a completed service visit, answered, with its results",
    )
    serve_parser = modes.add_parser("serve", help="keep the local API running until Ctrl-C")
    serve_parser.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    serve_parser.add_argument(
        "--tick-seconds",
        type=_positive,
        default=DEFAULT_TICK_SECONDS,
        metavar="N",
        help="run the dispatcher every N real seconds (default 60, as deployed; less for a demo)",
    )
    serve_parser.add_argument(
        "--console-port", type=int, default=8081, help="local console port (default 8081)"
    )
    args = parser.parse_args(argv)
    _quiet_powertools_warnings()
    if args.mode == "demo":
        return run_demo(part=args.part)
    return serve(args.port, args.tick_seconds, args.console_port)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


if __name__ == "__main__":
    sys.exit(main())
