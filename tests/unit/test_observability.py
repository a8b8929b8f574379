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
