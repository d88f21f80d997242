"""Links an email may carry: `https` to a named host, or `http` to loopback in the local stack.

A link is refused unless it is exactly `https://host[:port]/...` (scheme in any letter case), or
`http://` to 127.0.0.0/8, ::1 or localhost when loopback is allowed (Azurite's documents in the local
stack; `EMAIL_LINKS_LOOPBACK_HTTP=1`). Browsers and mail clients drop leading whitespace and control
characters and ignore tabs and line breaks inside a URL (`java<TAB>script:`), so any character up to
space, DEL or beyond ASCII is refused outright rather than normalised. User info (`https://bank@evil`)
is refused too: it only serves to disguise the host.
"""

from __future__ import annotations

import ipaddress
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bindings.errors import BinderyError

_SAFE_CHARS = re.compile(r"[!-~]+")  # printable ASCII, no space
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "background", "poster", "cite"})


class UnsafeLinkError(BinderyError, ValueError):
    """A link that must not be put in an email, with the reason."""


def check_link(url: str, *, loopback_http: bool = False) -> str:
    """`url` unchanged when an email may carry it, else `UnsafeLinkError` saying why."""
    problem = _problem(url, loopback_http=loopback_http)
    if problem is not None:
        shown = url if len(url) <= 80 else url[:77] + "..."  # noqa: PLR2004 - enough to recognise it
        raise UnsafeLinkError(f"{shown!r} is not a safe link: {problem}")
    return url


def _problem(url: str, *, loopback_http: bool) -> str | None:
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


def links_in(html: str) -> list[str]:
    """Every URL-valued attribute (`href`, `src`...) in `html`, entities decoded as a browser reads them."""
    found = _Links()
    found.feed(html)
    found.close()
    return found.urls


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 - any tag
        self.urls += [value or "" for name, value in attrs if name in _URL_ATTRIBUTES]
