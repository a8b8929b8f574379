"""Sending numbers' types and paces (docs/facts.md#throughput)."""

from __future__ import annotations

import math

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.numbers import (
    DEFAULT_MPS,
    MAX_MPS,
    OriginationType,
    Throughput,
    mps_value,
    origination_type,
    throughput,
)

STACK = Throughput(OriginationType.TOLL_FREE, 3.0)


@pytest.mark.parametrize(
    ("kind", "mps"),
    [
        (OriginationType.SHORT_CODE, 100.0),
        (OriginationType.TOLL_FREE, 3.0),
        (OriginationType.TEN_DLC, 1.0),
        (OriginationType.LONG_CODE, 1.0),
    ],
)
def test_each_number_type_defaults_to_the_pace_the_carriers_grant_it(
    kind: OriginationType, mps: float
) -> None:
    assert DEFAULT_MPS[kind] == mps
    assert Throughput.default(kind) == Throughput(kind, mps)


def test_every_number_type_has_a_default_pace() -> None:
    assert set(DEFAULT_MPS) == set(OriginationType)


@pytest.mark.parametrize("text", ["short-code", "toll-free", "10dlc", "long-code"])
def test_the_four_type_names_are_read(text: str) -> None:
    assert origination_type(text).value == text


@pytest.mark.parametrize("text", ["", "shortcode", "SHORT_CODE", "10DLC ", "simulator"])
def test_any_other_type_name_is_refused_naming_the_field_and_the_choices(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        origination_type(text, field="--number-type")
    assert raised.value.field == "--number-type"
    assert "short-code" in raised.value.reason


@pytest.mark.parametrize("value", [0.5, 1, 3.0, 100, MAX_MPS])
def test_a_pace_above_zero_up_to_the_ceiling_is_kept_as_a_float(value: float) -> None:
    assert mps_value(value) == float(value)
    assert isinstance(mps_value(value), float)


@pytest.mark.parametrize(
    "value", [0, -1, MAX_MPS + 0.001, math.inf, -math.inf, math.nan, True, False]
)
def test_a_pace_that_is_zero_negative_too_large_not_finite_or_a_boolean_is_refused(
    value: float,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        mps_value(value)
    assert raised.value.field == "mps"


def test_a_recorded_type_without_a_pace_gets_the_types_default() -> None:
    assert throughput("short-code", None, STACK) == Throughput(OriginationType.SHORT_CODE, 100.0)


def test_a_recorded_type_with_a_pace_keeps_the_recorded_pace() -> None:
    assert throughput("10dlc", 4, STACK) == Throughput(OriginationType.TEN_DLC, 4.0)


def test_a_number_recorded_with_neither_runs_at_the_stacks_own_pace() -> None:
    assert throughput(None, None, STACK) == STACK
    assert throughput("", None, STACK) == STACK


def test_a_pace_recorded_without_a_type_keeps_the_stacks_type() -> None:
    assert throughput(None, 2, STACK) == Throughput(OriginationType.TOLL_FREE, 2.0)


def test_a_stored_type_reach_does_not_know_is_refused_not_guessed() -> None:
    with pytest.raises(InvalidInput):
        throughput("mms-only", None, STACK)
