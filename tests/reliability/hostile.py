"""Hypothesis strategies for hostile queue messages: what a careless or malicious producer could enqueue.

Every message is text an Azure storage queue accepts (XML-safe characters, under its 64 KiB limit).
None can be valid for any Bindery message model: each is wrong in type, shape, encoding or version.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
_JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT
JSON_VALUES = st.recursive(
    _JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _wrong_types(good: dict[str, Any], required: list[str]) -> st.SearchStrategy[str]:
    """A good message with one required field replaced by a value no model coerces into its type.

    A list never becomes a string, a number or an object; an object field gets a number.
    """

    def replaced(key: str) -> st.SearchStrategy[str]:
        wrong = (
            st.integers() if isinstance(good[key], dict) else st.lists(JSON_VALUES, min_size=1, max_size=3)
        )
        return wrong.map(lambda value: json.dumps({**good, key: value}))

    return st.sampled_from(required).flatmap(replaced)


def _unknown_version(good: dict[str, Any]) -> st.SearchStrategy[str]:
    # From 4: payment.failed versions 2 and 3 only add optional fields, so a version 1 body relabelled
    # 2 or 3 is valid.
    return st.integers(min_value=4, max_value=10**6).map(
        lambda version: json.dumps({**good, "version": version})
    )


def _missing_field(good: dict[str, Any], required: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(required).map(lambda key: json.dumps({k: v for k, v in good.items() if k != key}))


_HUGE = st.integers(min_value=20_000, max_value=45_000).map(
    lambda size: json.dumps({"version": 1, "pad": "x" * size})
)
_DEEP = st.integers(min_value=50, max_value=3_000).map(lambda depth: "[" * depth + "]" * depth)
_INVALID_UTF8 = (
    st.binary(min_size=1, max_size=200)
    .map(lambda raw: raw + b"\xff\xfe")
    .map(lambda raw: base64.b64encode(raw).decode())
)
_BASE64_GARBAGE = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=300
)
_NOT_JSON = _TEXT.filter(lambda text: text.strip() != "").map(lambda text: "not json: " + text)
_ANY_JSON = JSON_VALUES.map(json.dumps)


def hostile(good: dict[str, Any], required: list[str], *, versioned: bool = True) -> st.SearchStrategy[str]:
    """One hostile message for a queue whose good messages look like `good` with `required` fields.

    `versioned=False` is for messages Bindery does not version (storage events): a `version` field
    added to them is ignored, so it cannot make one invalid.
    """
    kinds = [
        _wrong_types(good, required), _missing_field(good, required), _HUGE, _DEEP, _INVALID_UTF8,
        _BASE64_GARBAGE, _NOT_JSON, _ANY_JSON,
    ]  # fmt: skip
    return st.one_of(*kinds, *([_unknown_version(good)] if versioned else []))
