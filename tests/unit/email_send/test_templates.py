"""Email templates: every shipped one renders in each locale, HTML is escaped, missing data fails loudly."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.numbers import format_currency

from functions.common.messages import EmailRequested
from functions.email_send.templates import Brand, TemplateError, Templates

BRAND = Brand(
    name="Acme & Sons", sender="Acme <billing@acme.example>", portal_url="https://acme.example/billing"
)
TEMPLATES = (
    "payment_failed",
    "reminder",
    "update_card",
    "final_notice",
    "recovered",
    "canceled",
    "receipt",
    "invoice",
)
LINK_DATA = {"url": "https://files.example/r/1.pdf?sig=a&se=b", "invoice_number": "INV-7"}


def request(template: str, locale: str = "en", **data: Any) -> EmailRequested:
    """An email request with an amount, a currency and whatever else is given."""
    return EmailRequested(
        request_id=f"req-{template}", template=template, locale=locale, to="ana@example.com",
        data={"amount": 1999, "currency": "EUR", **LINK_DATA, **data},
    )  # fmt: skip


@pytest.fixture(scope="module")
def templates() -> Templates:
    """The shipped templates."""
    return Templates(BRAND)


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_html_and_text_in_each_locale(
    templates: Templates, template: str, locale: str
) -> None:
    """Subject, HTML and text are non-empty, carry the amount in the locale's format, and escape the brand."""
    email = templates.render(request(template, locale))
    amount = format_currency(Decimal("19.99"), "EUR", locale=locale)  # CLDR's writing, not hand-typed
    assert re.sub(r"\D", "", amount) == "1999"  # the minor units in order, whatever CLDR's separators
    assert email.subject
    assert (email.template, email.template_version, email.locale) == (template, 1, locale)
    assert "Acme &amp; Sons" in email.html
    assert "Acme & Sons" in email.text
    assert "<html" in email.html
    assert "<" not in email.text
    assert amount in email.text


def test_links_are_escaped_in_html_and_verbatim_in_text(templates: Templates) -> None:
    """A SAS URL's ampersands are entities inside the href and plain in the text part."""
    email = templates.render(request("receipt"))
    assert 'href="https://files.example/r/1.pdf?sig=a&amp;se=b"' in email.html
    assert "https://files.example/r/1.pdf?sig=a&se=b" in email.text


def test_data_cannot_inject_markup(templates: Templates) -> None:
    """An invoice number holding a script tag arrives as text, not markup."""
    email = templates.render(request("invoice", invoice_number="<script>alert(1)</script>"))
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html


def test_a_missing_variable_fails_loudly(templates: Templates) -> None:
    """A receipt without its link is an error naming the missing data, not an email with a blank."""
    bare = EmailRequested(
        request_id="r", template="receipt", to="ana@example.com", data={"amount": 5, "currency": "EUR"}
    )
    with pytest.raises(TemplateError, match=r"missing data.*url"):
        templates.render(bare)


def test_unknown_templates_and_versions_are_errors(templates: Templates) -> None:
    """The error names the template and the versions that exist."""
    with pytest.raises(TemplateError, match="unknown email template nope v1"):
        templates.render(request("nope"))
    with pytest.raises(TemplateError, match=r"reminder v3 \(versions: v1, v2\)"):
        templates.render(request("reminder").model_copy(update={"template_version": 3}))


def test_a_subject_with_a_line_break_is_refused(templates: Templates) -> None:
    """Header injection through the data is caught before anything is sent."""
    with pytest.raises(TemplateError, match="line break"):
        templates.render(request("invoice", invoice_number="7\r\nBcc: victim@example.com"))


def test_locales_fall_back_to_their_language_then_english(templates: Templates) -> None:
    """de-AT uses German; a locale without a catalog uses English."""
    assert templates.render(request("recovered", "de-AT")).locale == "de"
    assert templates.render(request("recovered", "fi")).locale == "en"


def test_old_versions_still_render(tmp_path: Path) -> None:
    """Adding v2 of a template leaves v1 rendering exactly as before."""
    root = Path(__file__).parents[3] / "functions" / "email_send"
    copy = tmp_path / "email_send"
    for folder in ("templates", "catalog"):
        (copy / folder).mkdir(parents=True)
        for path in (root / folder).rglob("*"):
            target = copy / folder / path.relative_to(root / folder)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.write_bytes(path.read_bytes())
    (copy / "templates" / "recovered" / "v2.html.j2").write_text('{% extends "_layout.html.j2" %}\n')
    (copy / "templates" / "recovered" / "v2.txt.j2").write_text("v2 {{ t.heading }}\n")
    for locale in ("en", "de"):
        with (copy / "catalog" / f"{locale}.toml").open("a") as catalog:
            catalog.write('\n[recovered.v2]\nsubject = "Paid"\nheading = "Paid v2"\nbody = "ok"\n')
    before = Templates(BRAND).render(request("recovered"))
    after = Templates(BRAND, root=copy)
    assert after.versions("recovered") == [1, 2]
    assert after.render(request("recovered")) == before
    assert after.render(request("recovered").model_copy(update={"template_version": 2})).text.startswith(
        "v2 Paid v2"
    )


def test_oversized_data_is_refused_at_the_edge() -> None:
    """A request carrying a document instead of a link fails validation."""
    with pytest.raises(ValueError, match="at most"):
        request("receipt", blob="x" * 10_000)
