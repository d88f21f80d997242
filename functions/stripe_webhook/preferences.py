"""The customer's time zone and language, where a Stripe object carries them (pure but for a log line).

Stripe keeps neither a time zone nor a language on an Invoice or a PaymentIntent (spec3.json at
2026-08-26.dahlia: no such field), so Bindery reads its own metadata convention, like
`metadata[bindery_subscription]`:

- `metadata[bindery_timezone]`: an IANA zone (`Europe/Stockholm`), for the quiet hours (no dunning
  email 21:00-08:00 in the customer's zone);
- `metadata[bindery_locale]`: a language tag (`sv`, `de-CH`), for the emails' language.

Each key is read from the object's own `metadata`, then (an invoice) from
`parent.subscription_details.metadata`, Stripe's snapshot of the subscription's metadata when the
invoice was finalized. The locale may also come from the object's `customer`, when it is the expanded
Customer (a webhook names it by id, so Stripe's own events do not): its `preferred_locales`, in order.

The first value found that Bindery can use wins. One it cannot (a zone `zoneinfo` does not know; a
locale off `PaymentFailed`'s pattern, or one Babel cannot parse, as the email's amounts are formatted
with Babel) is logged as a warning naming it and skipped: a bad preference never loses a failure. With
none, the field is left out and `PaymentFailed`'s defaults apply (`UTC`, `en`).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

TIMEZONE_KEY = "bindery_timezone"
LOCALE_KEY = "bindery_locale"
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # PaymentFailed.locale's pattern
_SHOWN = 80  # characters of a bad value the log line shows (metadata values reach 500)

_log = logging.getLogger(__name__)


def preferences(obj: Mapping[str, Any], where: str) -> dict[str, str]:
    """`timezone` and `locale` for the `payment.failed` of `obj`, each only when found and usable.

    `where` names the event in the warning logged for a value that is not used.
    """
    found: dict[str, str] = {}
    zone = _first(_metadata(obj, TIMEZONE_KEY), _known_zone, "time zone", where)
    if zone is not None:
        found["timezone"] = zone
    locales = (*_metadata(obj, LOCALE_KEY), *_preferred_locales(obj))
    locale = _first(locales, _known_locale, "locale", where)
    if locale is not None:
        found["locale"] = locale
    return found


def _metadata(obj: Mapping[str, Any], key: str) -> Iterator[tuple[str, object]]:
    """`(source, value)` of `key` in the object's metadata, then its subscription's snapshot."""
    yield f"metadata[{key}]", _get(obj.get("metadata"), key)
    details = _get(_get(obj.get("parent"), "subscription_details"), "metadata")
    yield f"parent.subscription_details.metadata[{key}]", _get(details, key)


def _preferred_locales(obj: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    """`(source, value)` of each of an expanded customer's `preferred_locales`."""
    locales = _get(obj.get("customer"), "preferred_locales")
    if isinstance(locales, list):
        for index, value in enumerate(locales):
            yield f"customer.preferred_locales[{index}]", value


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _first(
    candidates: Iterable[tuple[str, object]], usable: Callable[[str], bool], what: str, where: str
) -> str | None:
    for source, value in candidates:
        if value is None or value == "":  # absent (Stripe deletes a metadata key set to "")
            continue
        if isinstance(value, str) and usable(value):
            return value
        shown = repr(value)[:_SHOWN]  # repr: a value's line breaks cannot forge log lines
        _log.warning("%s: %s %s is not a %s Bindery knows; not used", where, source, shown, what)
    return None


def _known_zone(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a directory
        return False
    return True


def _known_locale(value: str) -> bool:
    if not _LOCALE.match(value):
        return False
    try:
        Locale.parse(value.replace("-", "_"))  # as email_send formats the amounts
    except (ValueError, UnknownLocaleError):
        return False
    return True
