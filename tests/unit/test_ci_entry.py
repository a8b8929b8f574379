"""CI runs the README's test command, and that command runs every scanner (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

from reach_tools.template import load_template

REPO = Path(__file__).resolve().parents[2]


def make_prerequisites(target: str) -> list[str]:
    makefile = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:([^\n]*)$", makefile, re.MULTILINE)
    assert match, f"no {target} target"
    return match.group(1).split()


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()

    assert ci[-1] == "make test"
    assert "make test" in (REPO / "README.md").read_text()


def test_the_test_command_runs_the_scanners_and_the_scan_runs_all_three() -> None:
    assert "scan" in make_prerequisites("test")
    assert set(make_prerequisites("scan")) == {"checkov", "bandit", "audit"}


def test_every_checkov_skip_is_justified_where_it_is_made() -> None:
    config = (REPO / ".checkov.yaml").read_text().splitlines()
    skipped = [i for i, line in enumerate(config) if re.match(r"\s+- CKV_", line)]
    assert skipped
    for index in skipped:
        # the lines just above each skip are its reason
        assert config[index - 1].strip().startswith("#"), config[index]
    resources = load_template()["Resources"]
    inline = [
        (logical_id, skip)
        for logical_id, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert inline
    for logical_id, skip in inline:
        assert skip["id"].startswith("CKV_"), logical_id
        assert len(skip.get("comment", "")) > 20, (logical_id, skip["id"])
