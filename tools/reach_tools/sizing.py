"""How many senders the stack runs, and how big their batches are, from the load it must carry.

CloudFormation cannot compute, so template.yaml holds the answers in a Mappings table
(``SenderSizing``) keyed by the ``PeakTextsPerSecond`` parameter, and this module is the one
formula that produces them. ``tests/unit/test_sizing.py`` fails when the two disagree:

    python -m reach_tools.sizing        # prints the Mappings block to paste into template.yaml

The arithmetic (README, "Sizing the sender"): a sender invocation handles a batch of ``B``
texts in ``T(B)`` seconds of expected latency, so one worker carries ``B / T(B)`` texts a
second, and the stack needs ``headroom * peak / (B / T(B))`` workers: per-text latency times
texts per second is the number of workers.

The latencies are the ones the throughput simulation draws from (``LATENCIES``): each AWS
call of the send path, with the public figure it rests on. Where AWS publishes no figure the
entry says so and gives the assumption instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The z-score of the 99th percentile of a normal distribution: p99 = median * exp(Z99 * sigma).
Z99 = 2.3263

_DYNAMODB_GUIDE = (
    "DynamoDB Developer Guide, 'Troubleshooting latency issues': single-digit millisecond "
    "average SuccessfulRequestLatency for singleton operations, transport not included; "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TroubleshootingLatency.html"
    " and https://repost.aws/knowledge-center/dynamodb-high-latency"
)
_SQS_MEASURED = (
    "Amazon's own SQS measurement in 'Cloud Performance Benchmark Series: Amazon SQS' "
    "(Stony Brook, revised July 2012): 16 ms to send a 1 KB message; "
    "https://paperzz.com/doc/8847683/cloud-performance-benchmark-series"
)


@dataclass(frozen=True)
class Latency:
    """A call's latency as a lognormal distribution, given by its median and its p99."""

    median_ms: float
    p99_ms: float
    source: str

    @property
    def mu(self) -> float:
        return math.log(self.median_ms / 1000)

    @property
    def sigma(self) -> float:
        return math.log(self.p99_ms / self.median_ms) / Z99

    @property
    def mean_seconds(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


#: Every call the send path makes, named as the ``calls`` benchmark counts them.
LATENCIES: dict[str, Latency] = {
    "dynamodb:GetItem": Latency(4, 20, _DYNAMODB_GUIDE),
    "dynamodb:PutItem": Latency(4, 20, _DYNAMODB_GUIDE),
    "dynamodb:UpdateItem": Latency(4, 20, _DYNAMODB_GUIDE),
    "dynamodb:Query": Latency(
        6, 25, _DYNAMODB_GUIDE + " (multi-item: varies with the result; assumed 1.5x)"
    ),
    "dynamodb:BatchGetItem": Latency(
        8, 30, _DYNAMODB_GUIDE + " (multi-item: varies with the result; assumed 2x)"
    ),
    "dynamodb:TransactWriteItems": Latency(
        10, 40, _DYNAMODB_GUIDE + " (a transaction is two phases over its items; assumed 2.5x)"
    ),
    "sqs:ReceiveMessage": Latency(15, 60, _SQS_MEASURED),
    # The source's own figure is for sending one message; a batch of ten is one request.
    "sqs:SendMessageBatch": Latency(16, 60, _SQS_MEASURED),
    "sqs:DeleteMessageBatch": Latency(15, 60, _SQS_MEASURED),
    "sqs:ChangeMessageVisibilityBatch": Latency(15, 60, _SQS_MEASURED),
    "events:PutEvents": Latency(
        20,
        80,
        "issue #11's 'PutEvents about 20 ms'; EventBridge publishes no API latency "
        "(quotas: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)",
    ),
    "sms:Send (provider)": Latency(
        40,
        150,
        "assumption: 'SendTextMessage tens of ms' (issue #11); AWS publishes no API latency "
        "for End User Messaging SMS (quotas: "
        "https://docs.aws.amazon.com/sms-voice/latest/userguide/quotas.html) or SNS Publish",
    ),
    "lambda:Invoke": Latency(
        10,
        40,
        "assumption: the event source mapping's synchronous invoke of a warm function; cold "
        "starts are not modelled",
    ),
}

#: The values ``PeakTextsPerSecond`` may take: the stack's total, over all its numbers.
PEAK_CHOICES = (10, 25, 50, 100, 200, 400, 1000)
#: One short code's MPS (docs/facts.md#throughput).
DEFAULT_PEAK = 100
#: Workers beyond the expected need: latency tails, cold starts, redeliveries.
HEADROOM = 1.5
#: Concurrent provider calls per invocation (the bounded pool, SEND_CONCURRENCY).
POOL = 8
#: ``reach.data.pacing.RESERVATION_LEAD``: a reservation's first slot is this far ahead.
LEAD_SECONDS = 0.05
#: A batch carries about this much of the peak: short enough that a batch's slots follow
#: each other closely, long enough to share the per-batch calls among many texts.
BATCH_SECONDS = 0.25
#: Lambda's SQS default and floor for our purpose; and the most one BatchGetItem serves
#: (100 keys, two per text: the appointment and the contact).
MIN_BATCH, MAX_BATCH = 10, 50
#: Lambda requires a window of at least 1 s for a batch over 10; at low load it also lets a
#: batch fill instead of sending one text per invocation (and paying the per-batch calls).
WINDOW_SECONDS = 1
#: AWS's floor for ScalingConfig.MaximumConcurrency.
MIN_CONCURRENCY = 2
#: ReceiveMessage and DeleteMessageBatch carry at most ten messages a call.
SQS_BATCH = 10
#: TransactWriteItems carries at most 100 items: a record is 3 items a text (the design's 25).
RECORD_CHUNK = 25
BATCH_GET_KEYS = 100


def mean(operation: str) -> float:
    """The expected latency of one call, in seconds."""
    return LATENCIES[operation].mean_seconds


def batch_size(peak: int) -> int:
    """``BATCH_SECONDS`` of the peak, rounded up to a multiple of 5, within the bounds."""
    wanted = 5 * math.ceil(peak * BATCH_SECONDS / 5)
    return max(MIN_BATCH, min(MAX_BATCH, wanted))


def invocation_seconds(batch: int, peak: float, pool: int = POOL) -> float:
    """Expected time a worker spends on one batch of ``batch`` texts, receive to delete, as
    ``SendPath.send_all`` runs it.

    Every start transaction is written first, one after another; then the batch's slots are
    reserved (``RESERVATION_LEAD`` ahead) and the texts go out at them, the provider calls
    overlapping in the pool. The send phase is the longer of what pacing allows if the whole
    peak went through one number (the slots are ``1/peak`` apart) and what the pool allows.
    """
    transaction = mean("dynamodb:TransactWriteItems")
    provider = mean("sms:Send (provider)")
    sqs_calls = math.ceil(batch / SQS_BATCH)
    receive = sqs_calls * mean("sqs:ReceiveMessage") + mean("lambda:Invoke")
    reads = (
        math.ceil(2 * batch / BATCH_GET_KEYS) * mean("dynamodb:BatchGetItem")
        + mean("dynamodb:Query")  # one tenant per batch
        + mean("dynamodb:UpdateItem")  # the pacing reservation
    )
    starts = batch * transaction
    sends = max((batch - 1) / peak, (math.ceil(batch / pool) - 1) * provider) + provider
    record = math.ceil(batch / RECORD_CHUNK) * transaction
    delete = sqs_calls * mean("sqs:DeleteMessageBatch")
    return receive + reads + starts + LEAD_SECONDS + sends + record + delete


@dataclass(frozen=True)
class SenderSizing:
    peak: int
    batch_size: int
    window_seconds: int
    max_concurrency: int
    #: Expected seconds per invocation, and what one worker carries from that.
    invocation_seconds: float
    texts_per_worker: float

    def mapping_entry(self) -> dict[str, int]:
        """The row of template.yaml's SenderSizing mapping."""
        return {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window_seconds,
            "MaximumConcurrency": self.max_concurrency,
        }


def sizing(peak: int, *, headroom: float = HEADROOM, pool: int = POOL) -> SenderSizing:
    """The sender's event source mapping for a stack that must carry ``peak`` texts a second."""
    if peak <= 0:
        raise ValueError(f"the peak must be positive, not {peak!r}")
    batch = batch_size(peak)
    seconds = invocation_seconds(batch, peak, pool)
    per_worker = batch / seconds
    workers = max(MIN_CONCURRENCY, math.ceil(headroom * peak / per_worker))
    return SenderSizing(peak, batch, WINDOW_SECONDS, workers, seconds, per_worker)


def mapping() -> dict[str, dict[str, int]]:
    """template.yaml's ``Mappings.SenderSizing``, keyed by the parameter's values as text."""
    return {str(peak): sizing(peak).mapping_entry() for peak in PEAK_CHOICES}


def mapping_yaml() -> str:
    lines = [
        "  # Generated by `python -m reach_tools.sizing` (README, 'Sizing the sender');",
        "  # tests/unit/test_sizing.py fails when this drifts from the formula.",
        "  SenderSizing:",
    ]
    for peak, entry in mapping().items():
        fields = ", ".join(f"{key}: {value}" for key, value in entry.items())
        lines.append(f'    "{peak}": {{{fields}}}')
    return "\n".join(lines)


def arithmetic(peak: int = DEFAULT_PEAK) -> str:
    """The README's worked example, from the same numbers."""
    chosen = sizing(peak)
    per_text_ms = 1000 * chosen.invocation_seconds / chosen.batch_size
    return (
        f"peak {peak} texts/s, batch {chosen.batch_size}: one invocation "
        f"{chosen.invocation_seconds * 1000:.0f} ms, so {per_text_ms:.1f} ms of a worker per "
        f"text; {per_text_ms:.1f} ms x {peak}/s = {per_text_ms * peak / 1000:.2f} workers, "
        f"x{HEADROOM} headroom = {HEADROOM * per_text_ms * peak / 1000:.2f}, rounded up "
        f"(at least {MIN_CONCURRENCY}): MaximumConcurrency {chosen.max_concurrency}"
    )


def main() -> int:
    print(mapping_yaml())
    print()
    for peak in PEAK_CHOICES:
        print("# " + arithmetic(peak))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
