"""Print the clinic API's OpenAPI document, generated from the routes and schemas.

`make openapi` writes it to functions/api/openapi.json; a test fails when that file is stale.
"""

from __future__ import annotations

import json
import sys

from aws_lambda_powertools import Logger

from reach.api.app import openapi_json


def render() -> str:
    document = json.loads(openapi_json(Logger(service="reach-openapi")))
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
