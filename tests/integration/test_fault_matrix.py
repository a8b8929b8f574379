"""Faults, measured (issue 15, item 6): every function through its handler over moto while 30%
of one AWS dependency's requests are throttled or fail with a 5xx. Nothing is lost, nothing is
sent twice, nothing goes out in quiet hours. The gate runs a small load; `make bench` a larger.
"""

from __future__ import annotations

import pytest

from reach_tools.bench import faults
from reach_tools.demo_clock import DemoClock


@pytest.mark.parametrize(
    ("function", "dependency"), faults.CELLS, ids=[f"{f}-{d}" for f, d in faults.CELLS]
)
def test_nothing_is_lost_duplicated_or_sent_in_quiet_hours_when_a_dependency_fails(
    function, dependency
):
    cell = faults.run_cell(function, dependency, faults.QUICK_LOAD)

    assert cell.lost == 0, cell
    assert cell.duplicated == 0, cell
    assert cell.in_quiet_hours == 0, cell
    # The faults really went in, at about the rate asked for
    assert cell.attempts > 0, cell
    assert sum(cell.injected.values()) > 0, cell


def test_the_injected_faults_are_the_same_on_every_run():
    draws = []
    for _ in range(2):
        injector = faults.Injector(DemoClock.__new__(DemoClock), "sqs", armed=True)
        draws.append([injector.fault("sqs") for _ in range(50)])

    assert draws[0] == draws[1]
    assert {fault for fault in draws[0] if fault} == {
        (400, "RequestThrottled"),
        (500, "InternalError"),
    }
    # Only the chosen service, and only while armed
    assert faults.Injector(DemoClock.__new__(DemoClock), "sqs", armed=True).fault("sns") is None
    assert faults.Injector(DemoClock.__new__(DemoClock), "sqs").fault("sqs") is None


def test_the_matrix_table_has_a_row_per_cell():
    cell = faults.Cell("sender", "sns", 8, 3, 0, 20, {"Throttling": 6}, 2, 0, {"sent": 8}, 0, 0, 0)

    table = faults.report([cell, cell])

    assert table.count("| sender | SNS | 8 |") == 2
    assert cell.held_up


def test_the_timeout_rows_time_out_only_their_dependency_half_of_them_after_applying():
    injector = faults.Injector(DemoClock.__new__(DemoClock), "dynamodb-timeout", armed=True)

    draws = [injector.fault("dynamodb") for _ in range(60)]

    assert {fault for fault in draws if fault} == {
        (0, faults.TIMEOUT_APPLIED),
        (0, faults.TIMEOUT_NOT_APPLIED),
    }
    assert injector.fault("sqs") is None
