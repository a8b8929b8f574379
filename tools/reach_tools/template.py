"""Read template.yaml the way CloudFormation does, so tooling and tests share its definitions.

The local emulator, the admin CLI and the tests build their tables and function environments
from the template itself instead of keeping a second copy that would drift from what
``sam deploy`` creates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
FUNCTION_TYPE = "AWS::Serverless::Function"


class TemplateError(ValueError):
    """The template lacks something a caller asked for, or holds what tooling cannot resolve."""


# --- Loading -------------------------------------------------------------------------------


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short-form tags (``!Ref``, ``!Sub``, ...)."""


# CloudFormation reads "2010-09-09" as a string; YAML 1.1 would make it a date, which then
# fails to serialise to JSON for the SAM translator.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_FN_TAGS = (
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Join",
    "Split",
    "FindInMap",
    "ImportValue",
    "Base64",
    "Cidr",
    "GetAZs",
)


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node {node!r}", node.start_mark
    )


def _long_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _node_value(loader, node)}

    return construct


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        # Only the first dot separates the resource: attributes such as Endpoint.Address
        # contain dots of their own.
        resource, dot, attribute = value.partition(".")
        if not dot:
            raise yaml.constructor.ConstructorError(
                None, None, f"!GetAtt {value!r} is not Resource.Attribute", node.start_mark
            )
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)
for _name in _FN_TAGS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The template as a dict, intrinsic functions in their long (JSON) form."""
    source = TEMPLATE_PATH if path is None else path
    with source.open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader  # nosec B506
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise TemplateError(f"{source} is not a CloudFormation template (no Resources)")
    return loaded


# --- Resources -----------------------------------------------------------------------------


def _resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def _resource(template: Mapping[str, Any], logical_id: str, resource_type: str) -> dict[str, Any]:
    resource = template["Resources"].get(logical_id)
    if not isinstance(resource, dict):
        raise TemplateError(f"template has no resource {logical_id!r}")
    if resource.get("Type") != resource_type:
        raise TemplateError(f"{logical_id} is a {resource.get('Type')}, not a {resource_type}")
    properties = resource.get("Properties", {})
    if not isinstance(properties, dict):
        raise TemplateError(f"{logical_id}.Properties is not a mapping")
    return properties


def functions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every AWS::Serverless::Function (Globals not merged)."""
    return {
        logical_id: dict(resource.get("Properties", {}))
        for logical_id, resource in _resources_of_type(template, FUNCTION_TYPE).items()
    }


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in {"Ref", "Condition"} or (isinstance(key, str) and key.startswith("Fn::"))


def _plain(value: Any, where: str) -> Any:
    """The value itself, if nothing in it needs CloudFormation to resolve."""
    if _is_intrinsic(value):
        raise TemplateError(f"{where} uses {value!r}, which only CloudFormation can resolve")
    if isinstance(value, dict):
        return {key: _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


# --- DynamoDB tables -----------------------------------------------------------------------

# Properties CreateTable shares with AWS::DynamoDB::Table under the same name and shape. The
# rest (PITR, SSE, deletion protection, tags, TTL, contributor insights...) are separate API
# calls or account features that local tables do not need.
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput")
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


def table_create_kwargs(
    template: Mapping[str, Any], logical_id: str, table_name: str
) -> dict[str, Any]:
    """``create_table`` arguments for the template's table ``logical_id``, named ``table_name``."""
    properties = _resource(template, logical_id, TABLE_TYPE)
    where = f"{logical_id}.Properties"
    kwargs: dict[str, Any] = {"TableName": table_name}
    for key in _TABLE_KEYS:
        if key in properties:
            kwargs[key] = _plain(properties[key], f"{where}.{key}")
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = _plain(properties.get(key, []), f"{where}.{key}")
        if indexes:
            kwargs[key] = [{k: index[k] for k in _INDEX_KEYS if k in index} for index in indexes]
    stream = _plain(properties.get("StreamSpecification"), f"{where}.StreamSpecification")
    if stream:
        # CloudFormation implies StreamEnabled; the API wants it spelled out.
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    if "KeySchema" not in kwargs or "AttributeDefinitions" not in kwargs:
        raise TemplateError(f"{logical_id} has no KeySchema or AttributeDefinitions")
    return kwargs


def default_table_names(prefix: str, template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Logical id -> ``<prefix>-<name>``: TenantsTable -> ``reach-tenants``, and so on."""
    source = load_template() if template is None else template
    names: dict[str, str] = {}
    for logical_id in _resources_of_type(source, TABLE_TYPE):
        stem = logical_id.removesuffix("Table") or logical_id
        kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()
        names[logical_id] = f"{prefix}-{kebab}"
    return names


def create_tables(
    dynamodb_client: DynamoDBClient,
    names: Mapping[str, str],
    *,
    template: Mapping[str, Any] | None = None,
) -> None:
    """Create every DynamoDB table of the template, logical id ``X`` named ``names[X]``."""
    source = load_template() if template is None else template
    tables = _resources_of_type(source, TABLE_TYPE)
    missing = sorted(set(tables) - set(names))
    unknown = sorted(set(names) - set(tables))
    if missing or unknown:
        raise TemplateError(
            f"table names must cover the template's tables exactly: missing {missing}, "
            f"not in the template {unknown}"
        )
    for logical_id in tables:
        kwargs = table_create_kwargs(source, logical_id, names[logical_id])
        dynamodb_client.create_table(**kwargs)
    # DynamoDB Local and real DynamoDB create tables asynchronously.
    waiter = dynamodb_client.get_waiter("table_exists")
    for logical_id in tables:
        waiter.wait(TableName=names[logical_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})


# --- Function environments -----------------------------------------------------------------


def _parameter_value(
    template: Mapping[str, Any], name: str, parameters: Mapping[str, str]
) -> str | None:
    if name in parameters:
        return parameters[name]
    declared = template.get("Parameters", {}).get(name)
    if isinstance(declared, dict) and "Default" in declared:
        return _as_env_string(declared["Default"])
    return None


def resolve_find_in_map(
    template: Mapping[str, Any], value: Any, parameters: Mapping[str, str] | None = None
) -> Any:
    """``value`` itself, or what its ``Fn::FindInMap`` gives for these parameter values
    (defaults for the rest): how the sender's queue mapping takes its sizing."""
    if not (isinstance(value, dict) and set(value) == {"Fn::FindInMap"}):
        return value
    keys: list[str] = []
    for key in value["Fn::FindInMap"]:
        if isinstance(key, dict) and set(key) == {"Ref"}:
            found = _parameter_value(template, str(key["Ref"]), parameters or {})
            if found is None:
                raise TemplateError(f"Fn::FindInMap: no value for {key['Ref']!r}")
            key = found
        keys.append(_as_env_string(key))
    mapping, top, second = keys
    try:
        return template["Mappings"][mapping][top][second]
    except KeyError as error:
        raise TemplateError(f"Fn::FindInMap {keys!r}: no {error} in the template") from None


def condition_holds(template: Mapping[str, Any], parameters: Mapping[str, str], name: str) -> bool:
    """Whether the template's condition ``name`` holds for these parameter values (defaults
    for the rest): Fn::Equals, Fn::And, Fn::Or, Fn::Not and Condition, over Refs to
    parameters and literals."""
    conditions = template.get("Conditions", {})
    if name not in conditions:
        raise TemplateError(f"no condition named {name!r}")

    def value(node: Any) -> str:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            found = _parameter_value(template, str(node["Ref"]), parameters)
            if found is None:
                raise TemplateError(f"condition {name!r}: no value for {node['Ref']!r}")
            return found
        return _as_env_string(node)

    def holds(node: Any) -> bool:
        if not isinstance(node, dict) or len(node) != 1:
            raise TemplateError(f"condition {name!r}: cannot evaluate {node!r}")
        [(function, args)] = node.items()
        rules: dict[str, Callable[[], bool]] = {
            "Fn::Equals": lambda: value(args[0]) == value(args[1]),
            "Fn::And": lambda: all(holds(arg) for arg in args),
            "Fn::Or": lambda: any(holds(arg) for arg in args),
            "Fn::Not": lambda: not holds(args[0]),
            "Condition": lambda: condition_holds(template, parameters, str(args)),
        }
        if function not in rules:
            raise TemplateError(f"condition {name!r}: {function} is not supported")
        return rules[function]()

    return holds(conditions[name])


def _as_env_string(value: Any) -> str:
    # CloudFormation turns YAML scalars into strings the way JSON spells them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"{value!r} is not a scalar")


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def function_environment(
    template: Mapping[str, Any],
    logical_id: str,
    physical: Mapping[str, str],
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment variables the template gives function ``logical_id``.

    Globals.Function variables are merged with the function's own (the function wins), as
    SAM does. ``{"Ref": X}`` resolves to ``physical[X]`` for resources (and pseudo
    parameters, when given there), else ``parameters[X]``, else the parameter's Default.
    ``Fn::Sub`` strings resolve their ``${X}`` the same way.
    """
    properties = _resource(template, logical_id, FUNCTION_TYPE)
    given = {} if parameters is None else parameters
    global_variables = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    own_variables = properties.get("Environment", {}).get("Variables", {})
    for where, variables in (("Globals", global_variables), (logical_id, own_variables)):
        if not isinstance(variables, dict):
            raise TemplateError(f"{where}: Environment.Variables is not a plain mapping")

    def ref(name: str, variable: str) -> str:
        if name in physical:
            return physical[name]
        value = _parameter_value(template, name, given)
        if value is None:
            raise TemplateError(
                f"{logical_id}: cannot resolve {variable}: no physical name or parameter value "
                f"for {name!r} (pass it in physical= or parameters=)"
            )
        return value

    environment: dict[str, str] = {}
    for variable, declared in {**global_variables, **own_variables}.items():
        value = _chosen(declared, partial(condition_holds, template, given))
        if value == {"Ref": "AWS::NoValue"}:
            continue  # CloudFormation drops the variable
        resolved = _resolve_variable(value, partial(ref, variable=variable))
        if resolved is None:
            raise TemplateError(
                f"{logical_id}: cannot resolve {variable}: {value!r} is not a Ref, a Sub string, "
                "an If or a scalar"
            )
        environment[variable] = resolved
    return environment


def _chosen(value: Any, holds: Callable[[str], bool]) -> Any:
    """``value`` with every ``Fn::If`` decided: the branch its condition picks."""
    while isinstance(value, dict) and set(value) == {"Fn::If"}:
        name, if_true, if_false = value["Fn::If"]
        value = if_true if holds(str(name)) else if_false
    return value


def _resolve_variable(value: Any, ref: Callable[[str], str]) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return ref(str(value["Ref"]))
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = _SUB_VARIABLE.sub(lambda match: ref(match.group(1)), value["Fn::Sub"])
        return text.replace("${!", "${")
    if isinstance(value, str | int | float):
        return _as_env_string(value)
    return None
