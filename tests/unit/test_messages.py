"""Message models: versions, strictness, queue encoding and dead-letter records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

import pytest
from pydantic import ValidationError

from bindings.messages import DeadLetter, Message, encode_message
from functions.common.messages import Heartbeat


class Greeting(Message):
    """A message with text that may hold any character."""

    version: Literal[1] = 1
    text: str


def test_encoded_messages_are_ascii_json_that_round_trips_any_text() -> None:
    """Non-ASCII and control characters are JSON-escaped, and the model reads back equal."""
    message = Greeting(text="Zoë 你好 \u202e\x00\n")
    data = encode_message(message)
    data.decode("ascii")
    assert json.loads(data)["text"] == message.text
    assert Greeting.model_validate_json(data) == message


def test_messages_are_frozen_and_refuse_unknown_fields() -> None:
    """A message cannot change after parsing, and an unknown field is an error, not ignored."""
    message = Greeting(text="hi")
    with pytest.raises(ValidationError):
        message.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Greeting.model_validate({"version": 1, "text": "hi", "surprise": True})


def test_a_message_pins_its_version() -> None:
    """A version-1 model refuses version 2."""
    with pytest.raises(ValidationError, match="version"):
        Heartbeat.model_validate({"version": 2, "id": "20260101T000000Z", "fired_at": "2026-01-01T00:00:00Z"})


def test_dead_letters_keep_the_body_byte_for_byte_and_file_by_source_and_day() -> None:
    """Any bytes survive the record, and the blob name is source/yyyy/mm/dd/id.json."""
    body = bytes(range(256))
    record = DeadLetter(
        id="abc",
        app="a",
        source="orders",
        reason="r",
        kind="invalid",
        dequeue_count=1,
        dead_lettered_at=datetime(2026, 11, 25, 23, 59, tzinfo=UTC),
        body_b64=DeadLetter.encode_body(body),
    )
    assert DeadLetter.model_validate_json(record.model_dump_json()).body == body
    assert record.blob_name() == "orders/2026/11/25/abc.json"
