"""The cold-start benchmark imports what Lambda would, and says what each function adds."""

from __future__ import annotations

import importlib.util

import pytest

from reach_tools.bench import cold_start


def test_what_lambda_does_not_ship_is_hidden_and_what_it_ships_is_not():
    hidden = set(cold_start.hidden_modules())

    # The runtime's boto3 and the layer's requirements, with their dependencies
    shipped = {"boto3", "botocore", "urllib3", "dateutil", "jmespath", "s3transfer", "reach"}
    shipped |= {"aws_lambda_powertools", "aws_xray_sdk", "wrapt", "pydantic", "pydantic_core"}
    shipped |= {"pynamodb", "phonenumbers", "tzdata", "typing_extensions"}
    assert not shipped & hidden
    # Installed here for development only; botocore and X-Ray load them when they find them
    for module in ("awscrt", "OpenSSL", "requests", "moto"):
        if importlib.util.find_spec(module) is not None:
            assert module in hidden


def test_what_a_function_loads_beyond_boto3_is_summed_by_package_heaviest_first():
    boto3 = {"boto3": 5000, "botocore": 9000, "botocore.client": 4000}
    function = boto3 | {
        "botocore.config": 1000,  # beyond boto3, even inside a package boto3 loads
        "pydantic": 3000,
        "pydantic.main": 4000,
        "reach": 100,
        "reach.settings": 2000,
    }

    beyond = cold_start._beyond(function, boto3)

    assert beyond == (("pydantic", 7.0), ("reach", 2.1), ("botocore", 1.0))
    assert cold_start._beyond(boto3, boto3) == ()


@pytest.mark.parametrize("name", ["LAMBDA_TASK_ROOT", "REACH_BENCH_HIDDEN"])
def test_the_samples_run_as_in_lambda_with_tracing_on(name, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    env = cold_start._lambda_like_environment()

    assert env[name]
    assert "POWERTOOLS_TRACE_DISABLED" not in env


def test_without_pyc_only_the_layers_packages_lose_their_bytecode():
    layer = set(cold_start.layer_modules())

    assert {"reach", "pydantic", "pynamodb", "aws_lambda_powertools"} <= layer
    # The runtime ships these with their bytecode, whatever the layer does
    assert not {"boto3", "botocore", "urllib3", "jmespath"} & layer


def test_the_layer_is_built_to_ship_python_313_bytecode_without_timestamp_checks():
    root = cold_start.REPO
    template = (root / "template.yaml").read_text()
    layer = template[template.index("  ReachLayer:") :].split("\n\n")[0]
    makefile = (root / "layers" / "reach" / "Makefile").read_text()

    assert "BuildMethod: makefile" in layer
    assert "build-ReachLayer:" in makefile
    assert "compileall" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile
    assert "sys.version_info[:2] != (3, 13)" in makefile
