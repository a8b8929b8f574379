"""Cold-start import cost of each Lambda function, as a ratio to ``import boto3``.

Each sample is a fresh interpreter that imports one thing, so nothing is cached between
samples; samples alternate between targets so that machine noise hits them alike. The
baseline is measured in the same run, and the report is the ratio of medians.

The interpreter imports what a deployed function could import, no more: the Lambda runtime
ships boto3 with its dependencies, the layer ships ``layers/reach/requirements.txt`` with
theirs, and every other package installed here for development (awscrt, pyOpenSSL, requests,
moto...) is hidden, because botocore and the X-Ray SDK load some of them when they find them
(``docs/facts.md#lambda-python-runtime``).
It also looks like Lambda (``LAMBDA_TASK_ROOT``) with tracing on, as the template's
``Tracing: Active`` deploys it.

Each function is measured with the layer's bytecode (what ``layers/reach/Makefile`` ships:
every module compiled by Python 3.13) and, for ``FROM_SOURCE``, also without it (what SAM's
python builder shipped: no ``.pyc``, and Lambda's ``/opt`` is read-only, so each cold start
compiled every layer module it imported). Without it, the probe refuses to read the cached
bytecode of the layer's packages (``layer_modules``); boto3 and what the runtime ships keep
theirs, as the runtime has them.

One ``-X importtime`` run per function then lists what it loads beyond ``import boto3``, by
top-level package, heaviest first: the place to look for what a function does not need.
"""

from __future__ import annotations

import os
import statistics
import subprocess  # the benchmark runs our own Python; nothing from outside  # nosec B404
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAYER_REQUIREMENTS = REPO / "layers" / "reach" / "requirements.txt"
#: What the Lambda runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3",)
#: Packages listed per function beyond boto3.
HEAVIEST = 6
#: The functions also measured without the layer's bytecode: the ones that run most often.
FROM_SOURCE = ("authorizer", "dispatcher", "sender")


def function_names() -> tuple[str, ...]:
    """Every Lambda function in the repository: each ``functions/<name>/app.py``."""
    return tuple(sorted(path.parent.name for path in (REPO / "functions").glob("*/app.py")))


_PROBE = """
import importlib.util, os, sys, time
for name in filter(None, os.environ.get("REACH_BENCH_HIDDEN", "").split(",")):
    sys.modules.setdefault(name, None)  # not shipped to Lambda: importing it fails, as there
_no_pyc = frozenset(filter(None, os.environ.get("REACH_BENCH_NO_PYC", "").split(",")))
if _no_pyc:
    from importlib.machinery import SourceFileLoader
    _read = SourceFileLoader.get_data
    def _source_only(loader, path):
        # A layer module's cached bytecode is missing, as SAM's python builder shipped it
        if path.endswith(".pyc") and loader.name.partition(".")[0] in _no_pyc:
            raise OSError(path)
        return _read(loader, path)
    SourceFileLoader.get_data = _source_only
target = sys.argv[1]
started = time.perf_counter()
if target == "boto3":
    import boto3
else:
    spec = importlib.util.spec_from_file_location("app", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class ImportCost:
    target: str
    median_ms: float
    ratio_to_boto3: float
    #: (top-level package, ms of its own modules) loaded beyond ``import boto3``, heaviest first.
    beyond_boto3: tuple[tuple[str, float], ...] = field(default=())
    #: The same without the layer's bytecode (None: not measured so).
    source_ms: float | None = None
    source_ratio: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "median_ms": self.median_ms,
            "ratio_to_boto3": self.ratio_to_boto3,
            "without_pyc_median_ms": self.source_ms,
            "without_pyc_ratio_to_boto3": self.source_ratio,
            "heaviest_beyond_boto3": [{"package": p, "ms": ms} for p, ms in self.beyond_boto3],
        }


def _requirement_closure(roots: list[str]) -> set[str]:
    """The distributions ``roots`` install (extras included), by normalised name."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(Requirement(text), "") for text in roots]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        # A package met again with other extras may bring more dependencies
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for wanted in ("", *requirement.extras):
            pending += [(Requirement(text), wanted) for text in requires]
    return {name for name, _extras in seen}


@cache
def hidden_modules() -> tuple[str, ...]:
    """Top-level modules installed here that neither the runtime nor the layer ships."""
    from packaging.utils import canonicalize_name

    lines = LAYER_REQUIREMENTS.read_text().splitlines()
    layer = [line.split("#")[0].strip() for line in lines]
    shipped = _requirement_closure([*filter(None, layer), *RUNTIME_PACKAGES]) | {"reach"}
    return tuple(
        sorted(
            module
            for module, owners in metadata.packages_distributions().items()
            if module.isidentifier()
            and not any(canonicalize_name(owner) in shipped for owner in owners)
        )
    )


@cache
def layer_modules() -> tuple[str, ...]:
    """Top-level modules the layer ships and the runtime does not: the ones whose bytecode
    ``layers/reach/Makefile`` adds."""
    from packaging.utils import canonicalize_name

    lines = LAYER_REQUIREMENTS.read_text().splitlines()
    layer = _requirement_closure(
        [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    )
    runtime = _requirement_closure(list(RUNTIME_PACKAGES))
    only_layer = layer - runtime
    return tuple(
        sorted(
            {"reach"}
            | {
                module
                for module, owners in metadata.packages_distributions().items()
                if module.isidentifier()
                and any(canonicalize_name(owner) in only_layer for owner in owners)
            }
        )
    )


def _lambda_like_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        # Where LAMBDA_TASK_ROOT is set, Powertools traces and X-Ray samples as in Lambda;
        # without it X-Ray's recorder builds two botocore clients at import, Lambda's does not.
        LAMBDA_TASK_ROOT=str(REPO),
        AWS_LAMBDA_FUNCTION_NAME="reach-bench",
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        AWS_REGION=env.get("AWS_REGION", "us-east-1"),
        # Lambda sets both; boto3 sessions (Powertools idempotency's) read only this one.
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1")),
        PYTHONDONTWRITEBYTECODE="1",
        # The inbound function builds its idempotency store at import, as a cold start does.
        IDEMPOTENCY_TABLE=env.get("IDEMPOTENCY_TABLE", "reach-bench-idempotency"),
        TENANTS_TABLE=env.get("TENANTS_TABLE", "reach-bench-tenants"),
        APPOINTMENTS_TABLE=env.get("APPOINTMENTS_TABLE", "reach-bench-appointments"),
    )
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env["REACH_BENCH_HIDDEN"] = ",".join(hidden_modules())
    return env


def _sample(target: str, env: dict[str, str]) -> float:
    # this interpreter on our own probe and a module name of ours: no outside input
    result = subprocess.run(  # nosec B603
        [sys.executable, "-c", _PROBE, target],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(rounds: int = 9) -> list[ImportCost]:
    if rounds < 1:
        raise ValueError("at least one round is needed")
    _compile_reach()
    env = _lambda_like_environment()
    source_env = env | {"REACH_BENCH_NO_PYC": ",".join(layer_modules())}
    targets = {"boto3": "boto3"} | {
        f"functions/{name}": str(REPO / "functions" / name / "app.py") for name in function_names()
    }
    from_source = {f"functions/{name}" for name in FROM_SOURCE}
    samples: dict[str, list[float]] = {label: [] for label in targets}
    source: dict[str, list[float]] = {label: [] for label in targets if label in from_source}
    for _ in range(rounds):
        for label, target in targets.items():
            samples[label].append(_sample(target, env))
            if label in source:
                source[label].append(_sample(target, source_env))
    baseline = statistics.median(samples["boto3"])
    profiles = {label: _import_profile(target, env) for label, target in targets.items()}
    costs = []
    for label, values in samples.items():
        slow = statistics.median(source[label]) if label in source else None
        costs.append(
            ImportCost(
                label,
                statistics.median(values) * 1000,
                statistics.median(values) / baseline,
                _beyond(profiles[label], profiles["boto3"]),
                source_ms=None if slow is None else slow * 1000,
                source_ratio=None if slow is None else slow / baseline,
            )
        )
    return costs


def _compile_reach() -> None:
    """Bytecode for ``reach`` as the layer ships it (installed packages have theirs)."""
    # this interpreter's compileall on our own package: no outside input
    subprocess.run(  # nosec B603
        [sys.executable, "-m", "compileall", "-q", str(REPO / "layers" / "reach" / "reach")],
        check=True,
        capture_output=True,
    )


def _import_profile(target: str, env: dict[str, str]) -> dict[str, int]:
    """Microseconds each module took itself, from one ``-X importtime`` run."""
    # as above: this interpreter, our probe, our module name
    result = subprocess.run(  # nosec B603
        [sys.executable, "-X", "importtime", "-c", _PROBE, target],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    profile: dict[str, int] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, module = line.removeprefix("import time:").split("|")
        profile[module.strip()] = int(own)
    return profile


def _beyond(profile: dict[str, int], baseline: dict[str, int]) -> tuple[tuple[str, float], ...]:
    """The modules ``import boto3`` does not load, by top-level package, heaviest first."""
    packages: Counter[str] = Counter()
    for module, micros in profile.items():
        if module not in baseline:
            packages[module.split(".")[0]] += micros
    return tuple((name, micros / 1000) for name, micros in packages.most_common(HEAVIEST))


def report(costs: list[ImportCost]) -> str:
    lines = [
        "cold-start import (median of fresh interpreters; ratio to `import boto3`; "
        "Lambda's packages only, tracing on)",
        "  with the layer's .pyc (layers/reach/Makefile ships them); without: the layer's "
        "modules compiled at import, as SAM's python builder shipped them",
        "  beyond boto3: the heaviest top-level packages it loads that boto3 does not "
        "(ms of their own modules, one -X importtime run)",
    ]
    for cost in costs:
        line = f"  {cost.target:<22} {cost.median_ms:8.1f} ms   x{cost.ratio_to_boto3:5.2f}"
        if cost.source_ms is not None and cost.source_ratio is not None:
            line += f"   without .pyc {cost.source_ms:8.1f} ms   x{cost.source_ratio:5.2f}"
        lines.append(line)
        if cost.beyond_boto3:
            heaviest = ", ".join(f"{name} {ms:.0f}" for name, ms in cost.beyond_boto3)
            lines.append(f"      beyond boto3: {heaviest}")
    return "\n".join(lines)
