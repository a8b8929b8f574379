import json
import logging

from reach.observability import build_logger


def test_phone_numbers_are_masked_in_messages_and_extra_keys(capsys):
    # Given the Reach logger
    logger = build_logger("reach-test")

    # When a phone number reaches a message, an extra key and an exception
    logger.info("booking for +12025550187", extra={"recipient": "+12025550143"})
    try:
        raise ValueError("bad number 2025550199")
    except ValueError:
        logger.exception("failed")

    # Then no digit run of any of them is written
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert len(lines) == 2
    for number in ("2025550187", "2025550143", "2025550199"):
        assert number not in out
    assert lines[0]["recipient"] == "+1*******143"
    assert lines[0]["level"] == logging.getLevelName(logging.INFO)


def test_where_tracing_is_off_the_handler_runs_as_written_and_x_ray_is_not_loaded():
    import subprocess
    import sys

    from reach.observability import Untraced, build_tracer

    tracer = build_tracer("reach-test", enabled=False)

    def handler(event, context):
        return {"echo": event}

    assert isinstance(tracer, Untraced)
    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_lambda_handler(capture_response=False)(handler) is handler
    # Powertools' Tracer loads the X-Ray SDK even when disabled: build_tracer must not
    probe = (
        "import sys; from reach.observability import build_tracer; "
        "build_tracer('x', enabled=False); print('aws_xray_sdk' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
