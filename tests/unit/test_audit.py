"""`make scan`'s dependency audit: a known vulnerability fails, an unreachable advisory feed
is said plainly and passes, any other pip-audit failure fails."""

from __future__ import annotations

from collections.abc import Sequence

from reach_tools.audit import Finished, audit

CLEAN = {"dependencies": [{"name": "boto3", "version": "1.40.0", "vulns": []}]}
VULNERABLE = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
        },
        {"name": "boto3", "version": "1.40.0", "vulns": []},
    ]
}
OFFLINE = (
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /pypi/boto3/1.40.0/json"
)


def audited(finished: Finished) -> tuple[int, list[str], list[Sequence[str]]]:
    printed: list[str] = []
    calls: list[Sequence[str]] = []

    def run(arguments: Sequence[str]) -> Finished:
        calls.append(arguments)
        return finished

    return audit(run, printed.append), printed, calls


def test_a_known_vulnerability_fails_the_run_naming_package_and_advisory() -> None:
    status, printed, _ = audited(Finished(1, VULNERABLE, "Found 1 known vulnerability"))

    assert status == 1
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in "\n".join(printed)


def test_no_known_vulnerability_passes_and_says_how_many_packages_were_checked() -> None:
    status, printed, calls = audited(Finished(0, CLEAN, "No known vulnerabilities found"))

    assert status == 0
    assert printed == ["pip-audit: no known vulnerabilities in 1 installed packages"]
    # the project itself is installed editable and is not on PyPI
    assert "--skip-editable" in calls[0]


def test_an_unreachable_advisory_feed_is_said_plainly_and_does_not_fail() -> None:
    status, printed, _ = audited(Finished(1, None, f"Traceback ...\n{OFFLINE}\n"))

    assert status == 0
    [line] = printed
    assert line.startswith("pip-audit: NOT RUN - the vulnerability advisory data (PyPI) cannot")
    assert "Max retries exceeded" in line


def test_any_other_pip_audit_failure_fails_the_run() -> None:
    status, printed, _ = audited(Finished(2, None, "error: unrecognized arguments: --bogus"))

    assert status == 2
    assert "unrecognized arguments" in printed[0]
