"""``make scan``'s dependency audit: pip-audit over the installed packages.

A known vulnerability fails the run. When the advisory data (PyPI's vulnerability feed,
which pip-audit reads over the network) cannot be reached, that is said plainly and the run
passes: a machine without the network cannot tell, and says so rather than guessing.
"""

from __future__ import annotations

import json
import subprocess  # runs pip-audit in this interpreter only  # nosec B404
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: What pip-audit prints when it could not reach the feed (requests and urllib3 wording).
NETWORK_SIGNS = (
    "ConnectionError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
    "Network is unreachable",
    "ProxyError",
    "SSLError",
)


@dataclass(frozen=True)
class Finished:
    returncode: int
    report: dict[str, Any] | None
    output: str


Runner = Callable[[Sequence[str]], Finished]


def run_pip_audit(arguments: Sequence[str]) -> Finished:
    """pip-audit in this interpreter's environment, its JSON report read back."""
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", *arguments, "-f", "json", "-o"]
        # this interpreter with fixed arguments: no outside input
        done = subprocess.run(  # nosec B603
            [*command, str(report_path)], capture_output=True, text=True, check=False
        )
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Finished(done.returncode, report, done.stdout + done.stderr)


def vulnerable(report: dict[str, Any]) -> list[str]:
    """One line per known vulnerability: package, version, advisory id, fixed versions."""
    lines = []
    for dependency in report.get("dependencies", []):
        for vulnerability in dependency.get("vulns", []):
            fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fix yet"
            lines.append(
                f"{dependency['name']} {dependency['version']}: {vulnerability['id']} "
                f"(fixed in {fixes})"
            )
    return lines


def audit(run: Runner = run_pip_audit, out: Callable[[str], None] = print) -> int:
    """0 when nothing known is vulnerable or the feed was out of reach; 1 otherwise."""
    # The project itself is installed editable and is not on PyPI.
    finished = run(["--skip-editable", "--progress-spinner", "off"])
    if finished.report is not None:
        found = vulnerable(finished.report)
        if found:
            out("pip-audit: known vulnerabilities in installed packages:")
            for line in found:
                out(f"  {line}")
            return 1
        if finished.returncode == 0:
            count = len(finished.report.get("dependencies", []))
            out(f"pip-audit: no known vulnerabilities in {count} installed packages")
            return 0
    if any(sign in finished.output for sign in NETWORK_SIGNS):
        out(
            "pip-audit: NOT RUN - the vulnerability advisory data (PyPI) cannot be reached "
            "from this machine, so the installed packages were not checked. "
            f"({_last_line(finished.output)})"
        )
        return 0
    out(f"pip-audit failed (exit {finished.returncode}):\n{finished.output}")
    return finished.returncode or 1


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def main() -> int:
    return audit()


if __name__ == "__main__":
    sys.exit(main())
