"""Versioned email templates: jinja2 files per template version, strings per locale, both strict.

`templates/{name}/v{N}.html.j2` and `.txt.j2` lay out an email; `catalog/{locale}.toml` holds its
words under `[{name}.v{N}]` (subject, heading, body, action). HTML is autoescaped; every variable is
`StrictUndefined`, so a missing one fails loudly instead of sending a blank. A locale falls back to
its language, then to English. Amounts (`data.amount` in minor units with `data.currency`, counted as
the processor counts them) are converted by `functions.common.money` and formatted for the locale with Babel,
with ISO 4217's digits.

Links (`functions.email_send.links`): the brand's portal URL is checked when the templates load, so
a bad `EMAIL_PORTAL_URL` stops the app at start; a request's `data.url` and `data.*_url` are checked
before rendering (they reach the text part too), and every `href`/`src` of the rendered HTML after.
A link that is not https (loopback http only with `loopback_http`) is a `TemplateError`, so the
request is dead-lettered with the reason instead of mailing a `javascript:` or `data:` link.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from babel import Locale

from bindings.errors import BinderyError
from functions.common import money as amounts
from functions.email_send.links import UnsafeLinkError, check_link, links_in

if TYPE_CHECKING:
    from functions.common.messages import EmailRequested

_HERE = Path(__file__).parent
DEFAULT_LOCALE = "en"
_MAX_SUBJECT = 200


class TemplateError(BinderyError, ValueError):
    """A request that no template can turn into an email (unknown template, missing data, bad subject)."""


@dataclass(frozen=True)
class Brand:
    """Who the email is from, and where customers manage their payment details."""

    name: str
    sender: str
    portal_url: str


@dataclass(frozen=True)
class Rendered:
    """One email ready to send: subject, an HTML and a plain-text part, and what made it."""

    subject: str
    html: str
    text: str
    template: str
    template_version: int
    locale: str


class Templates:
    """The shipped templates and catalogs, loaded once; `render` is thread-safe."""

    def __init__(self, brand: Brand, root: Path = _HERE, *, loopback_http: bool = False) -> None:
        self.brand = brand
        self._loopback_http = loopback_http
        try:
            check_link(brand.portal_url, loopback_http=loopback_http)
        except UnsafeLinkError as error:
            raise TemplateError(f"the brand's portal URL (EMAIL_PORTAL_URL): {error}") from error
        loader = jinja2.FileSystemLoader(root / "templates")
        strict = {"undefined": jinja2.StrictUndefined, "keep_trailing_newline": True}
        self._html = jinja2.Environment(loader=loader, autoescape=True, **strict)  # type: ignore[arg-type]
        self._text = jinja2.Environment(loader=loader, autoescape=False, **strict)  # type: ignore[arg-type]  # noqa: S701 - plain text
        self._words = jinja2.Environment(autoescape=False, **strict)  # type: ignore[arg-type]  # noqa: S701 - escaped by the HTML layout
        self._catalogs = {path.stem: _load(path) for path in sorted((root / "catalog").glob("*.toml"))}
        self._root = root

    def versions(self, name: str) -> list[int]:
        """The versions of template `name` that can be rendered."""
        folder = self._root / "templates" / name
        return sorted(int(path.name[1:].split(".")[0]) for path in folder.glob("v*.html.j2"))

    def render(self, request: EmailRequested) -> Rendered:
        """Render `request`; `TemplateError` for unknown templates or versions and missing data."""
        name, version = request.template, request.template_version
        if version not in self.versions(name):
            known = ", ".join(f"v{v}" for v in self.versions(name)) or "none"
            raise TemplateError(f"unknown email template {name} v{version} (versions: {known})")
        locale = self._locale(request.locale)
        for key, value in request.data.items():
            if key == "url" or key.endswith("_url"):
                self._check_link(f"data.{key}", str(value), name, version)
        try:
            words = self._strings(name, version, locale)
            context = {**self._context(request, locale), "locale": locale}
            t = {key: self._words.from_string(value).render(context) for key, value in words.items()}
            subject = t.pop("subject").strip()
            context |= {"t": t, "subject": subject}
            html = self._html.get_template(f"{name}/v{version}.html.j2").render(context)
            text = self._text.get_template(f"{name}/v{version}.txt.j2").render(context)
        except jinja2.UndefinedError as error:
            raise TemplateError(f"email template {name} v{version}: missing data: {error.message}") from error
        for link in links_in(html):
            self._check_link("a link in the HTML", link, name, version)
        if "\r" in subject or "\n" in subject or len(subject) > _MAX_SUBJECT:
            raise TemplateError(
                f"email template {name} v{version}: the subject has a line break or is too long"
            )
        return Rendered(subject, html, text, name, version, locale)

    def _check_link(self, where: str, url: str, name: str, version: int) -> None:
        try:
            check_link(url, loopback_http=self._loopback_http)
        except UnsafeLinkError as error:
            raise TemplateError(f"email template {name} v{version}: {where}: {error}") from error

    def _locale(self, wanted: str) -> str:
        language = wanted.split("-", maxsplit=1)[0]
        for candidate in (wanted, language, DEFAULT_LOCALE):
            if candidate in self._catalogs:
                return candidate
        raise TemplateError(f"no catalog for {wanted} nor {DEFAULT_LOCALE}")

    def _strings(self, name: str, version: int, locale: str) -> dict[str, str]:
        catalog = self._catalogs[locale]
        section = catalog.get(name, {}).get(f"v{version}")
        if section is None:
            raise TemplateError(f"catalog {locale} has no strings for {name} v{version}")
        return {**catalog.get("common", {}), **section}

    def _context(self, request: EmailRequested, locale: str) -> dict[str, Any]:
        context: dict[str, Any] = {"data": request.data, "brand": self.brand}
        amount, currency = request.data.get("amount"), request.data.get("currency")
        if isinstance(amount, int) and isinstance(currency, str):
            context["amount"] = money(amount, currency, locale)
        return context


def money(amount: int, currency: str, locale: str) -> str:
    """`amount` minor units as the locale writes them (1999 EUR in de: 19,99 €; 500000 HUF: 5 000,00 Ft)."""
    try:
        return amounts.format_money(amounts.to_amount(amount, currency), currency, _babel(locale))
    except (ValueError, LookupError) as error:
        raise TemplateError(f"cannot format {amount} {currency}: {error}") from error


@functools.lru_cache(maxsize=64)
def _babel(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)
