import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reach.domain.envelopes import RejectedPayload
from reach.domain.inbound import (
    MAX_BODY_CHARS,
    InboundSms,
    dedupe_key,
    parse_inbound,
)

RECIPIENT = "+14255550182"
RECIPIENT_DIGITS = "4255550182"
OUR_NUMBER = "+12125550199"
BODY = "Yes see you then"
MESSAGE_ID = "cae173d2-66b9-564c-8309-21f858e9fb84"

#: The two-way SMS payload exactly as AWS documents it (docs/facts.md#two-way-payload),
#: numbers as AWS sends them.
AWS_PAYLOAD: dict[str, Any] = {
    "originationNumber": "+1 (425) 555-0182",
    "destinationNumber": "+1 212 555 0199",
    "messageKeyword": "KEYWORD_123456789012",
    "messageBody": BODY,
    "inboundMessageId": MESSAGE_ID,
    "previousPublishedMessageId": "wJ0ao0ai3aW8gHGcW6fs",
}

KEYS = tuple(AWS_PAYLOAD)


def payload(**changes: Any) -> dict[str, Any]:
    data = {**AWS_PAYLOAD, **changes}
    return {k: v for k, v in data.items() if v is not _DROP}


_DROP = object()


def sns_envelope(message: str) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:reach-inbound",
        "Message": message,
        "Timestamp": "2026-03-01T12:00:00.000Z",
    }


def parsed(raw: Any) -> InboundSms:
    result = parse_inbound(raw)
    assert isinstance(result, InboundSms), result
    return result


def rejected(raw: Any) -> RejectedPayload:
    result = parse_inbound(raw)
    assert isinstance(result, RejectedPayload), result
    return result


def assert_log_safe(rejection: RejectedPayload, *, body: str = BODY) -> None:
    for text in (rejection.summary, rejection.reason):
        assert RECIPIENT_DIGITS not in text
        assert "5550182" not in text
        assert "2125550199" not in text
        assert body not in text


# --- the AWS payload -----------------------------------------------------------------------


def test_the_aws_payload_parses_with_both_numbers_normalised_to_e164():
    # given the SNS Message string of a two-way reply
    raw = json.dumps(AWS_PAYLOAD)

    # when it is parsed
    sms = parsed(raw)

    # then every field is read, numbers in E.164
    assert sms.origination_number == RECIPIENT
    assert sms.destination_number == OUR_NUMBER
    assert sms.keyword == "KEYWORD_123456789012"
    assert sms.body == BODY
    assert sms.inbound_message_id == MESSAGE_ID
    assert sms.previous_published_message_id == "wJ0ao0ai3aW8gHGcW6fs"
    assert sms.truncated is False


def test_a_dict_and_utf8_bytes_parse_the_same_as_the_json_string():
    # given the same payload as a dict and as bytes
    # when each is parsed
    # then the results are equal
    assert parsed(AWS_PAYLOAD) == parsed(json.dumps(AWS_PAYLOAD))
    assert parsed(json.dumps(AWS_PAYLOAD).encode()) == parsed(AWS_PAYLOAD)


def test_an_sns_notification_envelope_is_unwrapped():
    # given the SNS envelope whose Message is the payload's JSON
    raw = json.dumps(sns_envelope(json.dumps(AWS_PAYLOAD)))

    # when parsed
    sms = parsed(raw)

    # then the payload inside is read
    assert sms.inbound_message_id == MESSAGE_ID
    assert sms.origination_number == RECIPIENT


def test_an_sqs_body_holding_an_sns_envelope_is_unwrapped():
    # given an SQS record whose body is the SNS envelope (SNS -> SQS, raw delivery off)
    body = json.dumps(sns_envelope(json.dumps(AWS_PAYLOAD)))
    record = {"messageId": "sqs-1", "eventSource": "aws:sqs", "body": body}

    # when the body, and the whole record, are parsed
    # then both yield the reply
    assert parsed(body).inbound_message_id == MESSAGE_ID
    assert parsed(record).inbound_message_id == MESSAGE_ID


def test_a_lambda_sns_event_record_is_unwrapped():
    # given the record of a Lambda subscribed to the topic directly
    record = {"EventSource": "aws:sns", "Sns": sns_envelope(json.dumps(AWS_PAYLOAD))}

    # when parsed / then the reply is read
    assert parsed(record).body == BODY


def test_a_missing_previous_published_message_id_is_none():
    # given a reply AWS could not correlate to one of our messages
    raw = payload(previousPublishedMessageId=_DROP)

    # when parsed / then the previous id is None
    assert parsed(raw).previous_published_message_id is None


def test_empty_keyword_and_previous_id_are_read_as_absent():
    sms = parsed(payload(messageKeyword="", previousPublishedMessageId=""))

    assert sms.keyword is None
    assert sms.previous_published_message_id is None


def test_unknown_keys_are_ignored_and_the_truncated_flag_cannot_be_injected():
    # given extra keys, including a forged truncated flag
    sms = parsed(payload(extra="x", truncated=True))

    # then the flag reflects the body, not the payload
    assert sms.truncated is False


def test_a_short_code_destination_is_kept_as_its_digits():
    # given a reply to a short code, which has no E.164 form
    # when parsed / then it is accepted rather than dropped (STOP must get through)
    assert parsed(payload(destinationNumber="12345")).destination_number == "12345"


def test_dedupe_key_is_the_prefixed_inbound_message_id_and_ignores_everything_else():
    # given the same inbound message delivered twice, once through the envelope
    first = parsed(AWS_PAYLOAD)
    again = parsed(json.dumps(sns_envelope(json.dumps(AWS_PAYLOAD))))
    other = parsed(payload(inboundMessageId="another-id"))

    # then both deliveries share a key, a different message does not
    assert dedupe_key(first) == dedupe_key(again) == f"inbound#{MESSAGE_ID}"
    assert dedupe_key(other) != dedupe_key(first)


def test_the_model_is_frozen():
    sms = parsed(AWS_PAYLOAD)

    with pytest.raises(ValueError, match="frozen"):
        sms.body = "changed"  # type: ignore[misc]


# --- malformed payloads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json " + BODY + " " + RECIPIENT, "not JSON"),
        (json.dumps([AWS_PAYLOAD]), "not a JSON object"),
        (None, "not a JSON object"),
        ("null", "not a JSON object"),
        (b"\xff\xfe" + BODY.encode(), "not UTF-8"),
        (42, "not a JSON object"),
    ],
)
def test_payloads_that_are_not_json_objects_are_rejected_without_echoing_them(raw, reason):
    # when something that is not a JSON object arrives
    rejection = rejected(raw)

    # then it is rejected with the reason and nothing of its content in the log summary
    assert reason in rejection.reason
    assert rejection.fields == ()
    assert_log_safe(rejection)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"inboundMessageId": _DROP}, ("inboundMessageId",)),
        ({"inboundMessageId": ""}, ("inboundMessageId",)),
        ({"inboundMessageId": "   "}, ("inboundMessageId",)),
        ({"inboundMessageId": "x" * 257}, ("inboundMessageId",)),
        ({"originationNumber": "call me on 425 555 0182"}, ("originationNumber",)),
        ({"originationNumber": "4255550182"}, ("originationNumber",)),
        ({"originationNumber": 14255550182}, ("originationNumber",)),
        ({"destinationNumber": "our number"}, ("destinationNumber",)),
        ({"messageBody": 12345}, ("messageBody",)),
        ({"messageBody": None}, ("messageBody",)),
        ({"messageBody": _DROP}, ("messageBody",)),
        ({"messageKeyword": ["JOIN"]}, ("messageKeyword",)),
        ({"previousPublishedMessageId": 7}, ("previousPublishedMessageId",)),
        (
            {"inboundMessageId": _DROP, "originationNumber": "nope"},
            ("originationNumber", "inboundMessageId"),
        ),
    ],
)
def test_bad_fields_are_rejected_naming_each_field_with_a_masked_summary(changes, fields):
    # given the AWS payload with bad or missing fields
    raw = json.dumps(payload(**changes))

    # when parsed
    rejection = rejected(raw)

    # then the rejection names exactly those fields and the summary leaks no number or body
    assert set(rejection.fields) == set(fields)
    for field in fields:
        assert field in rejection.summary
    assert_log_safe(rejection)


def test_the_summary_keeps_what_helps_an_operator():
    # given a payload rejected for its body
    rejection = rejected(payload(messageBody=5))

    # then the summary has the masked sender, the message id and the body's type
    assert "+1*******182" in rejection.summary
    assert MESSAGE_ID in rejection.summary
    assert "body=<number>" in rejection.summary


def test_a_rejected_body_is_summarised_by_its_length_only():
    # given a valid body but a bad message id
    rejection = rejected(payload(inboundMessageId=""))

    # then the body appears only as its length
    assert f"body_length={len(BODY)}" in rejection.summary
    assert_log_safe(rejection)


def test_an_envelope_whose_message_is_not_json_is_rejected_naming_message():
    rejection = rejected(json.dumps(sns_envelope("plain text " + BODY)))

    assert rejection.fields == ("Message",)
    assert_log_safe(rejection)


def test_an_envelope_whose_message_is_not_a_string_is_rejected_naming_message():
    rejection = rejected({"Type": "Notification", "Message": 5})

    assert rejection.fields == ("Message",)


# --- bodies -------------------------------------------------------------------------------


def test_an_empty_body_is_accepted():
    sms = parsed(payload(messageBody=""))

    assert sms.body == ""
    assert sms.truncated is False


def test_a_body_of_exactly_the_limit_is_kept_whole():
    body = "a" * MAX_BODY_CHARS

    sms = parsed(payload(messageBody=body))

    assert MAX_BODY_CHARS == 2_000
    assert sms.body == body
    assert sms.truncated is False


def test_a_longer_body_is_truncated_to_the_limit_and_flagged():
    body = "".join(str(i % 10) for i in range(5_000))

    sms = parsed(payload(messageBody=body))

    assert sms.body == body[:MAX_BODY_CHARS]
    assert sms.truncated is True


@pytest.mark.parametrize(
    "body",
    [
        "👍 see you 🙂",
        "👨‍👩‍👧‍👦 🇺🇸 👋🏽",  # ZWJ family, flag, skin tone
        "نعم، أراك غدًا",  # Arabic with tanween
        "כן, נתראה מחר",  # Hebrew
        "\u200fمرحبا\u200e ok",  # noqa: RUF001 - direction marks kept
        "line one\nline two\tcol",
    ],
)
def test_emoji_and_right_to_left_bodies_round_trip_exactly(body):
    # given a body AWS delivers as escaped or raw UTF-8 JSON
    for raw in (
        json.dumps(payload(messageBody=body)),
        json.dumps(payload(messageBody=body), ensure_ascii=False).encode(),
    ):
        # when parsed / then the text is unchanged
        assert parsed(raw).body == body


def test_control_characters_are_stripped_but_newline_and_tab_kept():
    body = "Yes\x00\x07 please\x1b[31m\x7f\x85\ttoday\nthanks"

    assert parsed(payload(messageBody=body)).body == "Yes please[31m\ttoday\nthanks"


def test_carriage_returns_become_newlines():
    assert parsed(payload(messageBody="a\r\nb\rc")).body == "a\nb\nc"


def test_lone_surrogates_are_dropped():
    # given a body with an unpaired surrogate escape, which JSON allows
    raw = json.dumps(payload(messageBody="ok")).replace('"ok"', '"ok\\ud800!"')

    assert parsed(raw).body == "ok!"


def test_truncation_counts_characters_after_control_characters_are_removed():
    body = "\x00" * 10 + "b" * MAX_BODY_CHARS

    sms = parsed(payload(messageBody=body))

    assert sms.body == "b" * MAX_BODY_CHARS
    assert sms.truncated is False


# --- never raises ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.text() | st.binary())
def test_parse_inbound_never_raises_for_arbitrary_text(raw):
    assert isinstance(parse_inbound(raw), InboundSms | RejectedPayload)


@given(json_values)
def test_parse_inbound_never_raises_for_arbitrary_json_values(value):
    assert isinstance(parse_inbound(value), InboundSms | RejectedPayload)
    assert isinstance(parse_inbound(json.dumps(value)), InboundSms | RejectedPayload)


@given(st.dictionaries(st.sampled_from(KEYS), json_values))
def test_parse_inbound_never_raises_for_the_right_keys_with_random_values(data):
    # given the payload's keys with values of any type, also inside an SNS envelope
    for raw in (data, json.dumps(sns_envelope(json.dumps(data)))):
        result = parse_inbound(raw)

        # then a rejection names only payload keys and holds no string value whole
        if isinstance(result, RejectedPayload):
            assert set(result.fields) <= set(KEYS)
            body = data.get("messageBody")
            if isinstance(body, str) and len(body) >= 12 and body.isalpha():
                assert body not in result.summary
