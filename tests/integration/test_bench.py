"""The benchmarks' quick modes, asserting what must hold whatever the machine's speed.

Only counts and same-run ratios are asserted, never a timing: machines are shared and noisy.
"""

from __future__ import annotations

import json
import math

import pytest
from botocore.exceptions import ClientError

from reach_tools.bench import cold_start
from reach_tools.bench.__main__ import main
from reach_tools.bench.harness import counting_aws_calls, embedded_aws
from reach_tools.bench.send_path import FLOOR, PROVIDER_SEND, SENDER_BATCH
from reach_tools.bench.suite import Options, Results, run

#: Calls per sent reminder that the send path may not exceed (issue 11: 2.5), whatever the
#: appointment kind.
#:
#: Per reminder: the provider send. Shared by a batch of 25: the start transaction (sending,
#: the appointment's version, the contact's consent or caps, for every message that touches
#: no item another one does), the batch read, the tenant's read, the pacing write and the
#: record transaction; by ten: the enqueue; by the
#: tick: the due queries, the claim transactions and two batch reads of tenants and numbers.
CEILING = 2.5
#: The quick run's reminders share 4 batches, 8 due queries and 4 claim transactions.
QUICK_SHARED = 0.5


@pytest.fixture(scope="module")
def quick() -> Results:
    # Three independent moto worlds (clinic, service, reads) in two processes: counts don't
    # depend on what else runs, and the quick test stays within a minute on two cores.
    return run(Options(only=("calls", "reads"), quick=True, jobs=2))


def test_both_kinds_are_measured_at_the_quick_size(quick: Results) -> None:
    assert [r.kind for r in quick.send_path] == ["clinic_visit", "service_visit"]
    assert all(r.due == 100 for r in quick.send_path)


@pytest.mark.parametrize("index", [0, 1], ids=["clinic_visit", "service_visit"])
def test_every_due_reminder_is_sent_exactly_once(quick: Results, index: int) -> None:
    result = quick.send_path[index]
    assert result.sent == result.due
    assert result.stored_sent == result.due
    assert result.duplicates == 0
    assert result.outcomes == {"sent": result.due}
    assert result.dispatcher_read == result.due


@pytest.mark.parametrize("index", [0, 1], ids=["clinic_visit", "service_visit"])
def test_calls_per_sent_reminder_are_finite_and_within_the_ceiling(
    quick: Results, index: int
) -> None:
    result = quick.send_path[index]
    assert math.isfinite(result.calls_per_sent)
    assert FLOOR <= result.calls_per_sent <= CEILING
    per_sent = result.per_sent()
    # One provider call per reminder; the start and record transactions shared by batches
    assert per_sent[PROVIDER_SEND] == 1.0
    assert 0 < per_sent["dynamodb:TransactWriteItems"] <= QUICK_SHARED
    # Nothing is read one reminder at a time any more
    assert "dynamodb:GetItem" not in result.calls
    assert result.calls["dynamodb:BatchGetItem"] <= math.ceil(result.due / 25) + 2
    # Batched where batching is possible; never a Scan on a scheduled path
    assert result.calls["sqs:SendMessageBatch"] == math.ceil(result.due / 10)
    assert "dynamodb:Scan" not in result.calls


def test_a_clinic_visits_caps_cost_no_call_of_their_own(quick: Results) -> None:
    # The caps' send log is one more item in the start transaction, not another round trip
    clinic, service = quick.send_path
    assert clinic.calls_per_sent == service.calls_per_sent


def test_the_lambda_services_queue_calls_are_counted_apart(quick: Results) -> None:
    for result in quick.send_path:
        assert not any(op.startswith("sqs:Receive") for op in result.calls)
        assert not any(op.startswith("sqs:Delete") for op in result.calls)
        # each invocation's batch of 25 is deleted ten at a time
        batches = math.ceil(result.due / SENDER_BATCH)
        assert result.lambda_calls["sqs:DeleteMessageBatch"] == batches * math.ceil(
            SENDER_BATCH / 10
        )
        assert result.lambda_calls["sqs:ReceiveMessage"] >= math.ceil(result.due / 10)


def test_the_index_dispatcher_reads_about_one_item_per_due_reminder(quick: Results) -> None:
    reads = quick.due_reads
    assert reads is not None
    assert (reads.stored, reads.due) == (10_000, 100)
    assert reads.index_per_due <= 1.1
    assert reads.index_report_read == reads.due
    assert reads.index_claimed == reads.index_queued == reads.due
    # the due queries, the sending numbers' paces (two batch reads) and the claims, 25 to a
    # transaction
    assert set(reads.index_calls) == {
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:TransactWriteItems",
    }
    assert reads.index_calls["dynamodb:TransactWriteItems"] == math.ceil(reads.due / 25)


def test_the_scan_baseline_reads_the_whole_table(quick: Results) -> None:
    reads = quick.due_reads
    assert reads is not None
    assert reads.baseline_found == reads.due  # it finds the same work...
    assert reads.baseline_scanned >= reads.stored + reads.due  # ...by reading everything
    assert reads.baseline_scanned >= reads.table_items
    # So the ratio grows with stored data: here the table is 101 times the due work
    assert reads.ratio >= 0.5 * (reads.stored + reads.due) / reads.due


def test_an_idle_tick_reads_nothing_however_much_is_stored(quick: Results) -> None:
    reads = quick.due_reads
    assert reads is not None
    assert reads.idle_scanned == 0
    # One key-bound Query per due shard, three of the campaign registry (campaigns to
    # start, sending, cancelled and not yet settled), one of the survey timers and one of
    # the survey list sends being fanned out: per tick, not per reminder, empty when idle.
    assert reads.idle_calls == {"dynamodb:Query": reads.shards + 5}


def test_the_report_and_the_json_carry_the_numbers(quick: Results) -> None:
    text = quick.report()
    assert "AWS calls per reminder sent" in text
    assert "Items read per due reminder" in text
    document = json.loads(json.dumps(quick.to_json()))
    assert document["quick"] is True
    assert [c["kind"] for c in document["calls_per_sent"]] == ["clinic_visit", "service_visit"]
    assert document["items_read_per_due"]["index"]["items_read_per_due"] <= 1.1


def test_cold_start_covers_every_function_as_a_ratio_to_boto3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cold_start.function_names() == (
        "api",
        "authorizer",
        "dispatcher",
        "importer",
        "inbound",
        "reconciler",
        "sender",
        "status",
    )

    assert main(["--only", "cold-start", "--rounds", "1", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    costs = {c["target"]: c["ratio_to_boto3"] for c in document["cold_start"]}
    assert set(costs) == {"boto3"} | {f"functions/{name}" for name in cold_start.function_names()}
    assert costs["boto3"] == 1.0
    assert all(math.isfinite(ratio) and ratio > 0 for ratio in costs.values())
    # Each function says what it loads beyond boto3; boto3 itself adds nothing
    beyond = {c["target"]: c["heaviest_beyond_boto3"] for c in document["cold_start"]}
    assert beyond["boto3"] == []
    for name in cold_start.function_names():
        packages = [entry["package"] for entry in beyond[f"functions/{name}"]]
        assert "reach" in packages
        assert not {"awscrt", "OpenSSL", "requests"} & set(packages)


def test_the_counter_counts_failed_calls_and_nothing_outside_a_measurement() -> None:
    with embedded_aws("bench") as aws, counting_aws_calls() as counter:
        table = aws.settings.tenants_table
        item = {"pk": {"S": "x"}, "sk": {"S": "y"}}
        aws.dynamodb.put_item(TableName=table, Item=item)  # setup: not counted
        with counter.measuring("probe"), pytest.raises(ClientError):
            aws.dynamodb.put_item(
                TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
    assert counter.by_operation("probe") == {"dynamodb:PutItem": 1}
    assert counter.total("reach") == 0


def test_every_reply_scenario_is_counted_with_its_provider_send_and_within_a_ceiling() -> None:
    from reach_tools.bench import replies

    result = replies.measure(3)

    assert list(result.per_reply) == [s.name for s in replies.SCENARIOS]
    for name, calls in result.per_reply.items():
        operations = result.by_operation[name]
        # Every reply is answered once through the provider, into moto's SNS
        assert operations["sns:Publish"] == 1, name
        # Never a Scan; and within a budget that a new per-reply round trip would break
        # (23: a STOP also reads the phone's survey lane, to end its surveys; issue 14)
        assert "dynamodb:Scan" not in operations, name
        assert replies.FLOOR <= calls <= 23, (name, calls)
    # Asking which appointment publishes no event; a confirmation publishes one
    assert "events:PutEvents" not in result.by_operation["confirm, two appointments (asks which)"]
    assert result.by_operation["confirm, one open appointment"]["events:PutEvents"] == 1


def test_a_delivery_receipt_costs_one_lookup_and_one_write_and_an_event_only_when_undelivered():
    from reach_tools.bench import receipts

    result = receipts.measure(3)

    assert list(result.per_receipt) == [s.name for s in receipts.SCENARIOS]
    assert result.by_operation["delivered"] == {"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1}
    undelivered = result.by_operation["undelivered reminder (DeliveryFailed)"]
    assert undelivered["events:PutEvents"] == 1
    assert result.per_receipt["delivered"] == receipts.FLOOR
    # A stranger's receipt stops at the lookup; nothing is written
    assert result.by_operation["a receipt for someone else's text"] == {"dynamodb:GetItem": 1}


def test_the_throughput_simulation_runs_at_the_quick_size_and_reports_before_and_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--only", "throughput", "--quick", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    outcomes = document["throughput"]["outcomes"]
    assert {o["number"] for o in outcomes} == {"short code", "toll-free", "10DLC"}
    assert {o["path"] for o in outcomes} >= {"before", "after"}
    for outcome in outcomes:
        assert outcome["duplicates"] == 0
        assert outcome["parts"] == outcome["texts"]
    campaign = document["throughput"]["campaign"]
    assert campaign["texts"] == 10_000
    assert campaign["drain_ratio"] <= campaign["drain_goal"]
    proposed = [o for o in outcomes if o["path"] == "after (starts-first, reserve-again)"]
    assert all(o["ratio_to_mps"] >= 0.95 for o in proposed)
    assert all(o["max_parts_in_any_second"] <= o["mps"] for o in proposed)


def test_a_10000_recipient_campaign_drains_within_5_percent_and_never_passes_the_mps() -> None:
    # Issue 13's drain goal, with the template's concurrent senders: the dispatcher fans
    # out a tick's budget (MPS x 60 s) a minute, and its calls take modelled latencies.
    from reach_tools.bench import throughput

    campaign = throughput.simulate_campaign()

    assert (campaign.texts, campaign.parts, campaign.duplicates) == (10_000, 10_000, 0)
    assert campaign.ideal_drain_seconds == 100
    assert campaign.last_part_seconds <= 1.05 * campaign.ideal_drain_seconds
    assert campaign.max_parts_in_a_second <= campaign.mps
    # 100 member pages, 400 put transactions, 1,000 enqueues over two ticks
    assert campaign.dispatcher_calls["sqs:SendMessageBatch"] == 1_000
    assert campaign.dispatcher_calls["dynamodb:TransactWriteItems"] == 400


def test_a_ticks_and_a_batchs_peak_memory_do_not_grow_with_what_is_stored() -> None:
    from reach_tools.bench import memory

    result = memory.measure(due=50, stored=250)

    assert result.small.claimed == result.large.claimed == 50
    assert result.small.sent == result.large.sent
    # Four times as many items stored, the same due work: the peaks stay where they were
    assert result.tick_ratio < 1.25
    assert result.batch_ratio < 1.25


def test_a_notice_is_sent_once_and_its_calls_are_counted_end_to_end() -> None:
    from reach_tools.bench import notices

    result = notices.measure(5)

    for mode in (result.waited, result.respond_async):
        # Every notice went once, and is recorded as sent
        assert (mode.sent, mode.duplicates, mode.outcomes) == (5, 0, {"sent": 5})
        # The sender: a provider send each; one start and one record transaction for the
        # batch; NoticeSent on the bus
        assert mode.sender["sms:Send (provider)"] == 5
        assert mode.sender["dynamodb:TransactWriteItems"] == 2
        assert mode.sender["events:PutEvents"] >= 1
        # Within a ceiling that another per-notice round trip would break: the floor, plus
        # the batch's eight or nine shared reads, writes and events over five notices
        assert mode.floor <= mode.per_notice <= mode.floor + 1.75, mode.per_notice
    # Waiting, the API reads the visit and writes the notice, which is also the hand-off:
    # no queue call
    assert {op: n / 5 for op, n in result.waited.api.items()} == {
        "dynamodb:BatchGetItem": 1,
        "dynamodb:TransactWriteItems": 1,
    }
    # Not waiting, it only writes; the sender reads the visits (and then their contacts)
    assert {op: n / 5 for op, n in result.respond_async.api.items()} == {
        "dynamodb:TransactWriteItems": 1
    }
    assert (
        result.respond_async.sender["dynamodb:BatchGetItem"]
        == result.waited.sender["dynamodb:BatchGetItem"] + 1
    )


def test_the_soak_runs_each_function_warm_and_reads_its_memory_twice() -> None:
    from reach_tools.bench import soak

    # The authorizer only: tracing makes every function's soak slow, and the gate has a budget
    results = soak.measure(soak.WARM + 20, ("authorizer",))

    assert [r.function for r in results] == ["authorizer"]
    for result in results:
        # Every invocation did its work: an Allow
        assert result.succeeded == result.invocations == soak.WARM + 20, result
        assert result.after_warm > 0
        assert math.isfinite(result.growth)
        # read untraced, with Reach's own held bytes and the late/early time in the table
        assert result.early_seconds > 0
        assert math.isfinite(result.time_ratio)
        assert result.early_held_per_call >= 0
        assert result.late_held_per_call >= 0
    assert "growth" in soak.report(results)


def test_the_soak_forgets_what_its_invocations_stored_and_keeps_the_rest() -> None:
    from datetime import UTC, datetime

    from reach_tools.bench import soak
    from reach_tools.bench.lambdas import lambdas
    from reach_tools.demo_clock import DemoClock

    clock = DemoClock(datetime(2026, 12, 5, 15, tzinfo=UTC))
    with lambdas("soak-store", clock, names=("authorizer",)) as world:
        table, sqs, queue = (
            world.settings.appointments_table,
            world.aws.sqs,
            world.aws.send_queue_url,
        )
        dynamodb = world.aws.dynamodb

        def put(pk: str) -> None:
            dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "x"}})

        def stored() -> set[str]:
            return {item["pk"]["S"] for item in dynamodb.scan(TableName=table)["Items"]}

        # given an item there at the warm-up, a store, then an item and a queued message after
        put("booked-before")
        store = soak._Store(world, outputs=(queue,))
        put("stored-after")
        sqs.send_message(QueueUrl=queue, MessageBody="queued")

        # when it forgets, twice within a minute (SQS's own purge allows one a minute)
        store.forget()
        sqs.send_message(QueueUrl=queue, MessageBody="queued again")
        store.forget()

        # then what came after is gone (the queue too), and what was there is kept
        assert stored() == {"booked-before"}
        assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


def test_the_campaign_scale_bench_runs_two_sizes_and_reads_the_peak_rss() -> None:
    from reach_tools.bench import campaign_scale

    # given tiny sizes (the benchmark's own are 1,000 and 10,000: `--only campaign_scale`)
    result = campaign_scale.measure((20, 40))

    # then both campaigns complete, each member texted once, and the figures are there
    for one in (result.small, result.large):
        assert (one.status, one.sent, one.duplicates) == ("completed", one.members, 0), one
        assert 0 < one.calls_per_recipient < 10
    assert math.isfinite(result.time_ratio)
    assert 0 < result.peak_rss_bytes < campaign_scale.RSS_LIMIT
    assert "peak RSS" in campaign_scale.report(result)


def test_a_soak_shorter_than_its_warm_up_is_refused() -> None:
    from reach_tools.bench import soak

    with pytest.raises(ValueError, match="more than"):
        soak.measure(soak.WARM)


def test_the_authorizer_costs_one_read_per_key_and_none_for_a_malformed_header() -> None:
    from reach_tools.bench import authorizer

    result = authorizer.measure(3)

    assert result.calls == {
        "valid key": 1.0,
        "revoked key (403)": 1.0,
        "unknown key (401)": 1.0,
        "malformed header (401)": 0.0,
    }
    assert math.isfinite(result.ratio_to_get_item)
    assert result.ratio_to_get_item > 0
    assert result.to_json()["cache_hit_calls"] == 0


def test_the_import_benchmark_counts_calls_per_row_and_both_peaks() -> None:
    from reach_tools.bench import imports

    result = imports.measure((20, 60))

    assert (result.small.accepted, result.large.accepted) == (20, 60)
    # A read and a transaction per new member, plus the import's own few calls
    assert 2.0 <= result.large.calls_per_row <= 2.3
    assert result.large.calls["dynamodb:TransactWriteItems"] == 60
    assert result.small.reach_bytes > 0
    assert result.large.peak_bytes > result.large.reach_bytes
    assert "reading peak" in imports.report(result)


def test_the_console_watch_bench_drains_a_watched_campaign_and_reads_the_peak_rss() -> None:
    from reach_tools.bench import console_watch

    # given a tiny list (the benchmark's own is 10,000: `--only console_watch`)
    result = console_watch.measure(30)

    # then the campaign completed while the console's panels were read after every tick
    assert (result.status, result.sent) == ("completed", 30)
    assert result.panel_reads == result.ticks * len(console_watch.PANELS)
    assert 0 < result.rss_after_setup <= result.peak_rss < console_watch.RSS_LIMIT
    assert "peak" in console_watch.report(result)
