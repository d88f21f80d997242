"""Links in emails: only https (and loopback http in the local stack) is rendered; others are refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bindings.errors import PermanentError
from functions.common.messages import EmailRequested
from functions.email_send.templates import Brand, TemplateError, Templates

BRAND = Brand(name="Acme", sender="billing@acme.example", portal_url="https://acme.example/billing")

REFUSED_EVERYWHERE = [
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("JaVaScRiPt:alert(1)", id="javascript-mixed-case"),
    pytest.param(" javascript:alert(1)", id="javascript-leading-space"),
    pytest.param("\tjavascript:alert(1)", id="javascript-leading-tab"),
    pytest.param("\x01javascript:alert(1)", id="javascript-leading-control"),
    pytest.param("\x00https://files.example/r.pdf", id="https-leading-nul"),
    pytest.param("java\tscript:alert(1)", id="javascript-inner-tab"),
    pytest.param("java\nscript:alert(1)", id="javascript-inner-newline"),
    pytest.param("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", id="data"),
    pytest.param("DATA:text/html,<script>alert(1)</script>", id="data-upper-case"),
    pytest.param("vbscript:msgbox(1)", id="vbscript"),
    pytest.param("file:///etc/passwd", id="file"),
    pytest.param("ftp://files.example/r.pdf", id="ftp"),
    pytest.param("http://files.example/r.pdf", id="http-public-host"),
    pytest.param("HTTP://files.example/r.pdf", id="http-upper-case"),
    pytest.param("http://10.0.0.7/r.pdf", id="http-private-address"),
    pytest.param("http://127.0.0.1.evil.example/r.pdf", id="http-loopback-lookalike"),
    pytest.param("http://localhost.evil.example/r.pdf", id="http-localhost-lookalike"),
    pytest.param("https://files.example@evil.example/r.pdf", id="https-with-userinfo"),
    pytest.param("https:files.example/r.pdf", id="https-without-slashes"),
    pytest.param("https:///r.pdf", id="https-without-host"),
    pytest.param("//files.example/r.pdf", id="scheme-relative"),
    pytest.param("/r.pdf", id="relative"),
    pytest.param("https://files.example/r.pdf ", id="https-trailing-space"),
    pytest.param("https://files.exa mple/r.pdf", id="https-inner-space"),
]


def request(url: str, template: str = "receipt") -> EmailRequested:
    """A receipt (or invoice) request whose link is `url`."""
    return EmailRequested(
        request_id="req-link", template=template, to="ana@example.com",
        data={"amount": 500, "currency": "EUR", "url": url, "invoice_number": "INV-1"},
    )  # fmt: skip


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE)
@pytest.mark.parametrize("loopback_http", [False, True])
def test_a_link_that_is_not_https_is_refused_with_the_reason(url: str, *, loopback_http: bool) -> None:
    """javascript:, data:, vbscript:, file:, ftp:, public http and disguised schemes never render."""
    templates = Templates(BRAND, loopback_http=loopback_http)
    with pytest.raises(TemplateError, match=r"data\.url.*not a safe link"):
        templates.render(request(url))


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example/r/1.pdf?sig=a&se=b",
        "HTTPS://files.example/r/1.pdf",
        "HtTpS://files.example:8443/r/1.pdf",
        "https://xn--bcher-kva.example/r.pdf",
    ],
)
def test_an_https_link_renders(url: str) -> None:
    """https, in any letter case and with a port, is kept in both parts."""
    email = Templates(BRAND).render(request(url))
    assert url.replace("&", "&amp;") in email.html
    assert url in email.text


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:10000/devstoreaccount1/r.pdf", "http://localhost:8080/r.pdf", "http://[::1]:80/r.pdf"],
)
def test_loopback_http_renders_only_when_the_local_stack_allows_it(url: str) -> None:
    """Azurite's http links on loopback are refused by default and rendered with `loopback_http`."""
    with pytest.raises(TemplateError, match="not a safe link"):
        Templates(BRAND).render(request(url))
    assert url in Templates(BRAND, loopback_http=True).render(request(url)).text


def test_any_data_value_named_like_a_link_is_checked() -> None:
    """A `*_url` value is a link too, even when no shipped template shows it."""
    bad = request("https://files.example/r.pdf").model_copy(
        update={"data": {"amount": 5, "currency": "EUR", "url": "https://ok.example/", "help_url": "data:,x"}}
    )
    with pytest.raises(TemplateError, match=r"data\.help_url"):
        Templates(BRAND).render(bad)


def test_a_portal_url_that_is_not_https_stops_the_app_at_start() -> None:
    """A misconfigured EMAIL_PORTAL_URL fails when the templates are loaded, not in every mail."""
    for portal in ("javascript:alert(1)", "http://billing.example/account", "billing.example"):
        with pytest.raises(TemplateError, match=r"portal URL.*not a safe link"):
            Templates(Brand(name="Acme", sender="billing@acme.example", portal_url=portal))


def test_the_refusal_is_dead_lettered_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """email-send turns the refusal into a permanent error (a dead letter) that names the link."""
    monkeypatch.setenv("EMAIL_PROVIDER", "smtp")
    from functions.email_send import app  # noqa: PLC0415 - builds Dapr ports on import

    with pytest.raises(PermanentError, match=r"data\.url.*javascript"):
        app.on_email_requested(request("javascript:alert(1)", template="invoice"))


def _email_send(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with `env` added (the app's settings)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "APP_PORT": "0", **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_importing_email_send_reads_no_settings() -> None:
    """Importing the app with a bad EMAIL_PROVIDER or EMAIL_PORTAL_URL does no work and does not exit."""
    done = _email_send(
        "import functions.email_send.app", EMAIL_PROVIDER="carrier-pigeon", EMAIL_PORTAL_URL="javascript:x"
    )
    assert done.returncode == 0, done.stderr


def test_email_send_refuses_to_start_with_an_unsafe_portal_url() -> None:
    """Starting the app stops it at once, naming the bad EMAIL_PORTAL_URL, instead of failing every mail."""
    done = _email_send(
        "from functions.email_send.app import app; app.run()",
        EMAIL_PORTAL_URL="javascript:alert(1)", EMAIL_PROVIDER="smtp",
    )  # fmt: skip
    assert done.returncode != 0
    assert "email-send: the brand's portal URL (EMAIL_PORTAL_URL)" in done.stderr
    assert "not a safe link" in done.stderr


def test_email_send_refuses_to_start_with_an_unknown_provider() -> None:
    """Starting the app with a bad EMAIL_PROVIDER stops it, naming the variable, its value and the choices."""
    done = _email_send("from functions.email_send.app import app; app.run()", EMAIL_PROVIDER="carrier-pigeon")
    assert done.returncode != 0
    assert "email-send: EMAIL_PROVIDER is 'carrier-pigeon'; allowed: smtp, sendgrid" in done.stderr
