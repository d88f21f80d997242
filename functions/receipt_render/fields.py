"""Validated field types for document details: bounded text, quantities and money as `Decimal`.

What a document can hold is decided here, at the edge, with errors that say which limit was hit:
text without control characters (bidi controls included) and of a printable length, quantities and
prices that are positive, finite and of sane size, and a line count that keeps a document to a few
dozen pages.
"""

from __future__ import annotations

import hashlib
import unicodedata
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from functions.common.money import MAX_MINOR

MAX_LINES = 1_000
MAX_ORDER_BYTES = 2_000_000


# Bidirectional formatting characters: embeddings and overrides (U+202A-U+202E), isolates
# (U+2066-U+2069) and the marks (U+200E, U+200F, U+061C). Each reorders what a reader sees without
# showing itself: "Credit \u202e00.05-\u202c applied" reads "Credit -50.00 applied", and beside Hebrew a
# mark alone does it ("\u200f50.00-\u200f" shows "-50.00"). A document never lies, so they are refused,
# not stripped; each cell's text is still ordered by the Unicode bidi algorithm, which needs no help.
BIDI_CONTROLS = frozenset((*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))


def _printable(text: str) -> str:
    bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in {"Cc", "Cs", "Co"}})
    if bad:
        raise ValueError(
            f"control, surrogate or private-use characters are not allowed: {', '.join(bad[:5])}"
        )
    bidi = sorted({ord(c) for c in text if ord(c) in BIDI_CONTROLS})
    if bidi:
        named = ", ".join(f"U+{point:04X} {unicodedata.name(chr(point))}" for point in bidi[:5])
        raise ValueError(f"bidirectional control characters are not allowed: {named}")
    return text


def _places(limit: int) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > limit:
            raise ValueError(f"at most {limit} decimal places")
        return value

    return AfterValidator(check)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable)
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_printable)]
Quantity = Annotated[Decimal, Field(gt=0, le=1_000_000, allow_inf_nan=False), _places(3)]
# A bound for any currency; a document checks its own currency's limit (`words.check_limits`).
Price = Annotated[Decimal, Field(ge=0, le=MAX_MINOR, allow_inf_nan=False), _places(4)]
TaxRate = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False), _places(4)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class Line(BaseModel):
    """One line of a document: what, how many, at what unit price (tax is per document)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: Name
    quantity: Quantity = Decimal(1)
    unit_price: Price


class Party(BaseModel):
    """Who a document is for: a name and up to six address lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    address: tuple[Text, ...] = Field(default=(), max_length=6)


Lines = Annotated[tuple[Line, ...], Field(min_length=1, max_length=MAX_LINES)]


def email_request_id(kind: str, document: str) -> str:
    """The email request id of a document: `kind:document`, hashed when longer than requests allow."""
    plain = f"{kind}:{document}"
    if len(plain) <= _MAX_REQUEST_ID:
        return plain
    return f"{kind}:sha256-{hashlib.sha256(document.encode()).hexdigest()[:48]}"


_MAX_REQUEST_ID = 120  # EmailRequested.request_id
