"""Decode a binding payload into JSON: plain, or base64 as Event Grid writes to storage queues."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from bindings.errors import BinderyError

MAX_BODY_BYTES = 1 << 20


class PayloadError(BinderyError, ValueError):
    """The body is not JSON, nor base64 of JSON; the message says why."""


def decode_json(body: bytes) -> Any:  # noqa: ANN401 - JSON is any of its value types
    """Return the JSON value in `body`, accepting plain JSON or base64 of JSON.

    Plain JSON is tried first: a JSON object or array is never valid base64, so the two
    readings do not compete. Bodies over `MAX_BODY_BYTES` and nesting too deep for the
    parser are refused with a `PayloadError`.
    """
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body is {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit")
    stripped = body.strip()
    if not stripped:
        raise PayloadError("body is empty")
    try:
        return _parse(stripped)
    except PayloadError as plain_error:
        try:
            decoded = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            raise plain_error from None
    try:
        return _parse(decoded.strip())
    except PayloadError as error:
        raise PayloadError(f"body is base64 but the decoded bytes are not JSON: {error}") from None


def _parse(data: bytes) -> Any:  # noqa: ANN401 - JSON is any of its value types
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"body is not UTF-8: {error.reason} at byte {error.start}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise PayloadError("body nests too deeply to parse") from None
    except json.JSONDecodeError as error:
        raise PayloadError(
            f"body is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
