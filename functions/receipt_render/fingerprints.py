"""A document's content as one hash: the validated input in canonical JSON, never the PDF's bytes.

`issuance.py` binds each document number to this hash, so a re-render after a font or library
upgrade is the same document, and a different input under an issued number is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel


def fingerprint(content: object) -> str:
    """The sha256 of `content` (models, mappings, sequences, decimals, times) in canonical JSON.

    Canonical: keys sorted, decimals by value (`9.995` = `9.9950`), times as ISO 8601 with their
    offset (`Z` = `+00:00`), text as is (UTF-8, no escapes). Two inputs that validate to the same
    model have one fingerprint; a renderer's bytes play no part.
    """
    text = json.dumps(_canonical(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, BaseModel):
        return {name: _canonical(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")
