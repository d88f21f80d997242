"""An invoice's hosted payment page (`hosted_invoice_url`), where the customer can pay it themselves.

Stripe hosts a page for every finalized invoice; an email asking the customer to approve a payment
(3-D Secure, which no retry of ours can pass) links to it. The link is checked here, where it enters,
by the rule every link in an email follows (`functions.common.safe_links`: https, at most 2,000
characters; http to loopback only with `STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP=1`, the processor sandbox's
pages in the local stack). A link that fails the check is refused with a warning naming the reason,
and the failure is taken without it (the email then offers the card update alone): a bad link never
loses a failure.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from functions.common.safe_links import UnsafeLinkError, check_link

if TYPE_CHECKING:
    from collections.abc import Mapping

FIELD = "hosted_invoice_url"
_log = logging.getLogger(__name__)


def payment_page(invoice: Mapping[str, Any], where: str, *, loopback_http: bool = False) -> str | None:
    """The invoice's hosted page, if it has one that an email may carry; `where` names the event."""
    url = invoice.get(FIELD)
    if url is None:
        return None
    problem = f"a {type(url).__name__}, not a link"
    if isinstance(url, str):
        try:
            return check_link(url, loopback_http=loopback_http)
        except UnsafeLinkError as error:
            problem = str(error)
    _log.warning("%s: %s refused, not carried: %s", where, FIELD, problem)
    return None
