"""Links a customer may be sent: `https` to a named host, or `http` to loopback in the local stack.

The one rule for every link that reaches an email, wherever it enters: email-send checks the links it
renders (`functions.email_send.links`), and a processor's hosted payment page is checked where the
intake reads it (`functions.stripe_webhook`) and again on the payment event (`PaymentPageUrl`).

A link is refused unless it is exactly `https://host[:port]/...` (scheme in any letter case), or
`http://` to 127.0.0.0/8, ::1 or localhost when loopback is allowed (Azurite's documents and the
processor sandbox's pages in the local stack). Browsers and mail clients drop leading whitespace and
control characters and ignore tabs and line breaks inside a URL (`java<TAB>script:`), so any character
up to space, DEL or beyond ASCII is refused outright rather than normalised. User info
(`https://bank@evil`) is refused too: it only serves to disguise the host. So is a link over
`MAX_LINK_CHARS` characters.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from bindings.errors import BinderyError

MAX_LINK_CHARS = 2_000  # browsers and mail clients keep far longer; no link of ours comes near it
_SAFE_CHARS = re.compile(r"[!-~]+")  # printable ASCII, no space


class UnsafeLinkError(BinderyError, ValueError):
    """A link that must not be put in an email, with the reason."""


def check_link(url: str, *, loopback_http: bool = False) -> str:
    """`url` unchanged when an email may carry it, else `UnsafeLinkError` saying why."""
    problem = _problem(url, loopback_http=loopback_http)
    if problem is not None:
        shown = url if len(url) <= 80 else url[:77] + "..."  # noqa: PLR2004 - enough to recognise it
        raise UnsafeLinkError(f"{shown!r} is not a safe link: {problem}")
    return url


def _page(url: str) -> str:
    return check_link(url, loopback_http=True)


PaymentPageUrl = Annotated[str, AfterValidator(_page)]
"""A processor's hosted payment page on a payment event: a safe link (`check_link`).

Loopback http passes here, where no deployment setting is known: the intake, which knows whether it
runs in the local stack, and email-send, which checks every link again before it mails one, refuse it
elsewhere.
"""


def _problem(url: str, *, loopback_http: bool) -> str | None:
    if len(url) > MAX_LINK_CHARS:
        return f"{len(url)} characters, at most {MAX_LINK_CHARS}"
    if not _SAFE_CHARS.fullmatch(url):
        return "it holds whitespace, control or non-ASCII characters"
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    allowed = ("https", "http") if loopback_http else ("https",)
    if scheme not in allowed:
        what = "https or loopback http" if loopback_http else "https"
        return f"scheme {scheme!r} is not {what}" if rest else f"no scheme (only {what} links)"
    if not rest.startswith("//"):
        return "no '//' and host after the scheme"
    return _host_problem(url, scheme)


def _host_problem(url: str, scheme: str) -> str | None:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "user info before the host disguises where it leads"
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as error:
        return f"malformed host or port: {error}"
    if not host:
        return "no host"
    if scheme == "http" and not _loopback(host):
        return f"http is only allowed to loopback, not to {host!r} (use https)"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
