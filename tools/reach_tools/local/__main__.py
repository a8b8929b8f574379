"""``reach-local demo`` walks through the API; ``reach-local serve`` keeps it running."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import warnings
from types import FrameType

from reach_tools.local.demo import CLINIC, run_demo
from reach_tools.local.stack import LocalReach


def _quiet_powertools_warnings() -> None:
    # The authorizer adds no metrics by design; Powertools warns about that on every call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def serve(port: int) -> int:
    """Run the local stack until Ctrl-C (or SIGTERM), with a demo tenant to call it with."""
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
        tenant, issued = reach.create_tenant(*CLINIC)
        exports = {
            **reach.aws.aws_environment(),
            "TENANTS_TABLE": reach.aws.table_names["TenantsTable"],
            "APPOINTMENTS_TABLE": reach.aws.table_names["AppointmentsTable"],
        }
        print(f"Reach local API   {reach.api_url}")
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
        print("\nData lives in memory and is gone when this stops. Ctrl-C to stop.\n", flush=True)
        stop.wait()
    finally:
        reach.stop()
    print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reach-local", description="Reach on this machine, on an embedded AWS (moto)."
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    modes.add_parser("demo", help="walk through the API in a few seconds, then exit")
    serve_parser = modes.add_parser("serve", help="keep the local API running until Ctrl-C")
    serve_parser.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    args = parser.parse_args(argv)
    _quiet_powertools_warnings()
    if args.mode == "demo":
        return run_demo()
    return serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
