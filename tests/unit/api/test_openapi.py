import json
import tomllib
from pathlib import Path

from reach_tools.openapi import render

REPO = Path(__file__).resolve().parents[3]


def test_the_committed_openapi_document_matches_the_code():
    committed = (REPO / "functions" / "api" / "openapi.json").read_text()

    assert committed == render(), "run `make openapi` and commit functions/api/openapi.json"


def test_every_operation_requires_the_bearer_key_and_documents_its_errors():
    document = json.loads(render())

    assert document["security"] == [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # The FHIR routes answer in FHIR's error shape; a missing key is still refused
            # by the gateway, in the API's.
            fhir = path.startswith("/fhir/")
            for status in ("401",) if fhir else ("401", "404", "422"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)
            for status in ("400", "404", "415", "422") if fhir else ():
                schema = responses[status]["content"]["application/fhir+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OperationOutcomeView"}


def test_the_layer_ships_the_runtime_dependencies_the_project_declares():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (REPO / "layers" / "reach" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    # boto3 is the one runtime dependency that the Lambda runtime itself provides
    assert sorted(layer) == sorted(d for d in declared if not d.startswith("boto3"))
