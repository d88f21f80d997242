"""Decoding queue bodies: plain JSON or base64 of JSON, and clear errors otherwise."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bindings.payload import MAX_BODY_BYTES, PayloadError, decode_json

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), _json, max_size=5))
def test_plain_and_base64_objects_decode_to_the_same_value(value: dict[str, object]) -> None:
    """Any JSON object reads the same whether the queue carries it plain or base64-encoded."""
    plain = json.dumps(value).encode()
    assert decode_json(plain) == value
    assert decode_json(base64.b64encode(plain)) == value


def test_surrounding_whitespace_is_ignored() -> None:
    """Queue text with a trailing newline still decodes."""
    assert decode_json(b'  {"a": 1}\n') == {"a": 1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "empty"),
        (b"not json at all", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (base64.b64encode(b"still not json"), "base64 but the decoded bytes are not JSON"),
        (base64.b64encode(b"\xff\xff"), "base64 but the decoded bytes are not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ],
)
def test_bad_bodies_raise_payload_errors_that_say_why(body: bytes, expected: str) -> None:
    """Each kind of bad body gets an error naming its problem."""
    with pytest.raises(PayloadError, match=expected):
        decode_json(body)


def test_oversized_bodies_are_refused_before_parsing() -> None:
    """A body over the limit is refused by size, whatever it holds."""
    with pytest.raises(PayloadError, match="over the"):
        decode_json(b'"' + b"x" * MAX_BODY_BYTES + b'"')


def _outcome(body: bytes) -> tuple[str, object]:
    try:
        return "value", decode_json(body)
    except PayloadError as error:
        return "error", str(error)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_either_decode_or_raise_payload_error(body: bytes) -> None:
    """No byte string makes the decoder raise anything but PayloadError, and every error says why."""
    kind, detail = _outcome(body)
    if kind == "value":
        json.dumps(detail)
    else:
        assert detail
