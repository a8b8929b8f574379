"""The sender's event source mapping follows from one formula, and template.yaml holds it."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from reach_tools import sizing
from reach_tools.template import REPO_ROOT, TemplateError, load_template, resolve_find_in_map

PARAMETER = "PeakTextsPerSecond"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_template_offers_every_peak_the_formula_sizes_with_one_short_code_as_default(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"][PARAMETER]

    assert tuple(parameter["AllowedValues"]) == sizing.PEAK_CHOICES
    assert parameter["Default"] == sizing.DEFAULT_PEAK


def test_the_templates_sizing_table_equals_the_formula_for_every_allowed_peak(
    template: dict[str, Any],
) -> None:
    table = {str(key): row for key, row in template["Mappings"]["SenderSizing"].items()}

    # Regenerate with `python -m reach_tools.sizing` when the formula changes
    assert table == sizing.mapping()


def test_the_sender_queue_mapping_takes_each_setting_from_the_sizing_table(
    template: dict[str, Any],
) -> None:
    mapping = template["Resources"]["SenderQueueMapping"]["Properties"]

    def looked_up(field: str) -> dict[str, Any]:
        return {"Fn::FindInMap": ["SenderSizing", {"Ref": PARAMETER}, field]}

    assert mapping["BatchSize"] == looked_up("BatchSize")
    assert mapping["MaximumBatchingWindowInSeconds"] == looked_up("MaximumBatchingWindowInSeconds")
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == looked_up("MaximumConcurrency")


@pytest.mark.parametrize("peak", sizing.PEAK_CHOICES)
def test_every_row_is_one_aws_accepts(peak: int) -> None:
    row = sizing.sizing(peak)

    assert 1 <= row.batch_size <= 10_000
    if row.batch_size > 10:  # AWS refuses a batch over 10 without a window
        assert row.window_seconds >= 1
    assert 2 <= row.max_concurrency <= 1000
    # One BatchGetItem reads what a batch needs: two keys a text
    assert 2 * row.batch_size <= sizing.BATCH_GET_KEYS


def test_a_larger_peak_never_gets_fewer_workers_or_smaller_batches() -> None:
    rows = [sizing.sizing(peak) for peak in sizing.PEAK_CHOICES]

    for smaller, larger in itertools.pairwise(rows):
        assert larger.batch_size >= smaller.batch_size
        assert larger.max_concurrency >= smaller.max_concurrency


def test_the_workers_carry_the_peak_with_the_headroom() -> None:
    for peak in sizing.PEAK_CHOICES:
        row = sizing.sizing(peak)
        assert row.max_concurrency * row.texts_per_worker >= sizing.HEADROOM * peak
        assert row.texts_per_worker == pytest.approx(row.batch_size / row.invocation_seconds)


def test_the_sender_timeout_covers_the_longest_slot_wait_and_a_batch_and_the_queue_six_times_it(
    template: dict[str, Any],
) -> None:
    from reach_tools.bench.throughput import DEADLINE_MARGIN, MAX_WAIT, SECOND

    timeout = template["Resources"]["SenderFunction"]["Properties"]["Timeout"]
    visibility = template["Resources"]["SendQueue"]["Properties"]["VisibilityTimeout"]
    longest = max(sizing.sizing(peak).invocation_seconds for peak in sizing.PEAK_CHOICES)

    assert timeout >= (MAX_WAIT + DEADLINE_MARGIN) / SECOND + longest
    assert visibility >= 6 * timeout


def test_the_readme_shows_the_arithmetic_of_the_default_peak() -> None:
    readme = Path(REPO_ROOT / "README.md").read_text(encoding="utf-8")

    assert "### Sizing the sender" in readme
    assert sizing.arithmetic(sizing.DEFAULT_PEAK) in readme


def test_every_latency_states_its_median_below_its_p99_and_a_source() -> None:
    for operation, latency in sizing.LATENCIES.items():
        assert 0 < latency.median_ms < latency.p99_ms, operation
        assert latency.source, operation
        assert latency.mean_seconds > latency.median_ms / 1000  # a lognormal's right skew


@pytest.mark.parametrize("peak", [0, -5])
def test_a_peak_that_is_not_positive_is_refused(peak: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        sizing.sizing(peak)


def test_find_in_map_resolves_with_the_parameter_default_or_a_given_value(
    template: dict[str, Any],
) -> None:
    value = template["Resources"]["SenderQueueMapping"]["Properties"]["BatchSize"]

    assert resolve_find_in_map(template, value) == sizing.sizing(sizing.DEFAULT_PEAK).batch_size
    assert resolve_find_in_map(template, value, {PARAMETER: "10"}) == 10
    assert resolve_find_in_map(template, 7) == 7
    with pytest.raises(TemplateError, match="no '7'"):
        resolve_find_in_map(template, value, {PARAMETER: "7"})
