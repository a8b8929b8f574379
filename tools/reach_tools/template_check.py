"""Check template.yaml the way CloudFormation will see it, offline: ``make template-check``.

cfn-lint validates the SAM template against SAM's schemas, but some mistakes only show up in
what the SAM transform generates (a wrong ``!Ref`` inside a policy, an event that expands to
an invalid rule). So this lints the template, runs the transform locally with
aws-sam-translator, and lints the CloudFormation it produced.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)

from reach_tools.template import REPO_ROOT, TEMPLATE_PATH, load_template

REGION = "us-east-1"
TRANSFORMED_PATH = REPO_ROOT / ".aws-sam" / "transformed-template.json"

# `sam deploy` uploads local code and swaps these properties for S3 locations before
# CloudFormation runs the transform; the translator rejects anything that is not S3.
_LOCAL_CODE_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")
_PLACEHOLDER_BUCKET = "reach-template-check"

# What CloudFormation would pass for the pseudo parameters when deploying.
_PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "reach-template-check",
    "AWS::StackId": (
        f"arn:aws:cloudformation:{REGION}:123456789012:stack/reach-template-check/"
        "00000000-0000-0000-0000-000000000000"
    ),
    "AWS::URLSuffix": "amazonaws.com",
}


class TemplateCheckError(RuntimeError):
    """The SAM transform rejected the template."""


@dataclass(frozen=True)
class Finding:
    """One cfn-lint result: rule id (E..., W..., I...), where, and what."""

    rule_id: str
    location: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.rule_id.startswith("E")

    def __str__(self) -> str:
        return f"  {self.rule_id} {self.location}: {self.message}"


def lint(path: Path, region: str = REGION) -> list[Finding]:
    """cfn-lint findings for the template file at ``path`` (SAM or plain CloudFormation)."""
    config = ManualArgs(regions=[region])
    matches = lint_file(path, config=config)
    root = REPO_ROOT.resolve()
    findings = []
    for match in matches:
        filename = Path(match.filename) if match.filename else path
        shown = filename.resolve()
        where = shown.relative_to(root) if shown.is_relative_to(root) else shown
        findings.append(
            Finding(
                rule_id=str(match.rule.id),
                location=f"{where}:{match.linenumber}",
                message=str(match.message),
            )
        )
    return findings


def _with_placeholder_code_locations(template: dict[str, Any]) -> dict[str, Any]:
    sections: list[Mapping[str, Any]] = [
        resource.get("Properties", {})
        for resource in template.get("Resources", {}).values()
        if isinstance(resource, dict)
        and str(resource.get("Type", "")).startswith("AWS::Serverless")
    ]
    sections.extend(template.get("Globals", {}).values())
    for properties in sections:
        if not isinstance(properties, dict):
            continue
        for key in _LOCAL_CODE_PROPERTIES:
            location = properties.get(key)
            if isinstance(location, str) and not location.startswith("s3://"):
                properties[key] = f"s3://{_PLACEHOLDER_BUCKET}/{location.strip('./') or 'root'}"
    return template


def _no_managed_policy_lookup() -> dict[str, str]:
    # The translator resolves AWS managed policy names from its bundled map and takes ARNs as
    # they are; only other names reach this fallback, which would call IAM. Leaving them
    # unresolved makes them invalid ARNs that the lint of the transformed template reports.
    return {}


def transform(
    template: Mapping[str, Any],
    parameter_values: Mapping[str, Any] | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of ``template``, without AWS calls.

    Parameters not given take their Default, as in a deploy that accepts the defaults.
    """
    sam_template = _with_placeholder_code_locations(copy.deepcopy(dict(template)))
    parameters: dict[str, Any] = {**_PSEUDO_PARAMETERS, **(parameter_values or {})}
    to_py27_compatible_template(sam_template, parameters)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        # Only read for its region name; creating a session makes no network call.
        boto_session=boto3.session.Session(region_name=region),
    )
    try:
        transformed = translator.translate(
            sam_template=sam_template,
            parameter_values=parameters,
            get_managed_policy_map=_no_managed_policy_lookup,
        )
    except InvalidDocumentException as error:
        causes = "\n".join(f"  {cause.message}" for cause in error.causes)
        raise TemplateCheckError(f"SAM transform failed:\n{causes}") from error
    result: dict[str, Any] = undo_mark_unicode_str_in_template(transformed)
    return result


def write_transformed(transformed: Mapping[str, Any], path: Path = TRANSFORMED_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(transformed, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def _report(step: str, findings: Sequence[Finding]) -> bool:
    errors = [f for f in findings if f.is_error]
    others = [f for f in findings if not f.is_error]
    verdict = "FAILED" if errors else "ok"
    print(f"{step}: {verdict} ({len(errors)} errors, {len(others)} warnings/notes)")
    for finding in [*errors, *others]:
        print(finding)
    return not errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reach_tools.template_check",
        description="Lint template.yaml, transform it offline with SAM, lint the result.",
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--region", default=REGION)
    parser.add_argument("--output", type=Path, default=TRANSFORMED_PATH)
    args = parser.parse_args(argv)
    template_path: Path = args.template

    passed = _report(f"cfn-lint {template_path.name}", lint(template_path, args.region))

    try:
        transformed = transform(load_template(template_path), region=args.region)
    except TemplateCheckError as error:
        print(f"sam transform ({args.region}): FAILED\n{error}")
        return 1
    output = write_transformed(transformed, args.output)
    print(
        f"sam transform ({args.region}): ok, {len(transformed['Resources'])} resources -> {output}"
    )

    passed &= _report("cfn-lint transformed template", lint(output, args.region))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
