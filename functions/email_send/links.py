"""Links an email may carry (`functions.common.safe_links`: https, or loopback http in the local stack).

`check_link` and `UnsafeLinkError` are the shared rule, kept in `functions.common` because the
processor's payment page is checked by the same rule where it enters (stripe-webhook, payment-retry);
`EMAIL_LINKS_LOOPBACK_HTTP=1` allows loopback http here (Azurite's documents, the processor sandbox's
pages). `links_in` finds every URL a rendered HTML part holds, so each is checked before it is mailed.
"""

from __future__ import annotations

from html.parser import HTMLParser

from functions.common.safe_links import MAX_LINK_CHARS, UnsafeLinkError, check_link

__all__ = ["MAX_LINK_CHARS", "UnsafeLinkError", "check_link", "links_in"]
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "background", "poster", "cite"})


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
