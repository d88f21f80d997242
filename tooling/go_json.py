"""JSON as daprd writes it: Go's `encoding/json` `Marshal` of what its `Unmarshal` reads into `any`.

daprd decodes a CloudEvent's JSON `data` into Go values (objects as maps, every number a float64) and
encodes it again before handing it to a subscriber (dapr `pkg/runtime/pubsub/subscriptions.go`,
`GRPCEnvelopeFromSubscriptionMessage`). `dumps` writes a value as Go would: keys sorted, no spaces,
`<`, `>`, `&`, U+2028 and U+2029 escaped, numbers as Go formats a float64 (Go's `encode.go`,
`floatEncoder` and `appendString`). `canonical` says whether JSON bytes survive that round trip.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
}  # fmt: skip
_PLAIN = (1e-6, 1e21)  # Go writes a float64 in this range of magnitudes (and 0) without an exponent
_ESCAPED = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029]')


def dumps(value: object) -> str:
    """`value` (None, bool, int, float, str, list, dict with str keys) as Go's `json.Marshal` writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(float(value))
    if isinstance(value, str):
        return '"' + _ESCAPED.sub(lambda m: _ESCAPES.get(m[0], f"\\u{ord(m[0]):04x}"), value) + '"'
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{dumps(key)}:{dumps(value[key])}" for key in sorted(value)) + "}"
    raise TypeError(f"no JSON form for {type(value).__name__}")


def loads(text: str) -> object:
    """Parse `text` as Go's `json.Unmarshal` into `any` does (numbers as floats); ValueError if not JSON."""
    return json.loads(text, parse_int=float, parse_constant=_refuse)


def canonical(body: bytes) -> bool:
    """Whether `body` is JSON other than `null` that Go's decode and encode give back byte for byte."""
    try:
        value = loads(body.decode("utf-8"))
        return value is not None and dumps(value).encode("utf-8") == body
    except (ValueError, RecursionError):  # not UTF-8, not JSON, a number beyond float64, a lone surrogate
        return False


def _number(value: float) -> str:
    """A float64 as Go writes it: shortest digits; an exponent below 1e-6 and from 1e21 on, else none."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no JSON form")
    digits = Decimal(repr(value)).normalize()  # repr: the shortest digits that read back as `value`
    if value == 0 or _PLAIN[0] <= abs(value) < _PLAIN[1]:
        return format(digits, "f")
    sign, figures, exponent = digits.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite
    mantissa = str(figures[0]) + ("." + "".join(map(str, figures[1:])) if len(figures) > 1 else "")
    power = exponent + len(figures) - 1  # Go pads a positive exponent to two digits, not a negative one
    return f"{'-' if sign else ''}{mantissa}e" + (f"-{-power}" if power < 0 else f"+{power:02d}")


def _refuse(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")
