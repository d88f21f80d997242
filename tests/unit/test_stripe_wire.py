"""Stripe's v1 wire format (`functions/common/stripe.py`): form encoding, idempotency keys, the requests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from functions.common import stripe, stripe_lists
from functions.common.stripe import StripeRequest, StripeWireError, form_encode

FORM_HEADERS = (
    ("Idempotency-Key", "pay_1:2"),
    ("Stripe-Version", stripe.STRIPE_VERSION),
    ("Content-Type", "application/x-www-form-urlencoded"),
)


def test_scalars_encode_as_stripe_reads_them() -> None:
    """Integers in decimal, booleans as true/false, strings as they are, in the given order."""
    body = form_encode({"amount": 1250, "confirm": True, "capture": False, "currency": "eur"})
    assert body == b"amount=1250&confirm=true&capture=false&currency=eur"


def test_nested_mappings_and_lists_use_bracketed_keys() -> None:
    """Mappings nest as `a[b]`, lists as `a[0]`, to any depth, brackets left literal."""
    body = form_encode(
        {
            "metadata": {"case_id": "pay_1", "attempt": 2},
            "expand": ["latest_charge", "customer"],
            "items": [{"price": "price_1", "quantity": 3}],
            "automatic_payment_methods": {"enabled": True},
        }
    )
    assert body.decode().split("&") == [
        "metadata[case_id]=pay_1",
        "metadata[attempt]=2",
        "expand[0]=latest_charge",
        "expand[1]=customer",
        "items[0][price]=price_1",
        "items[0][quantity]=3",
        "automatic_payment_methods[enabled]=true",
    ]


def test_keys_and_values_are_escaped() -> None:
    """Reserved characters, spaces and non-ASCII are percent-encoded; decoding gives them back."""
    params: dict[str, stripe.Param] = {"description": "a&b=c d+é/ü?#%", "metadata": {"note key": "x[y]"}}
    body = form_encode(params)
    assert body == b"description=a%26b%3Dc+d%2B%C3%A9%2F%C3%BC%3F%23%25&metadata[note+key]=x%5By%5D"
    assert parse_qsl(body.decode(), strict_parsing=True) == [
        ("description", "a&b=c d+é/ü?#%"),
        ("metadata[note key]", "x[y]"),
    ]


def test_none_and_empty_containers_send_nothing_and_empty_strings_are_kept() -> None:
    """None and empty mappings or lists are left out; `""` (Stripe's way to clear a field) is sent."""
    assert form_encode({"a": None, "b": {}, "c": [], "d": ""}) == b"d="
    assert form_encode({}) == b""


@pytest.mark.parametrize(
    "params",
    [{"a[b]": 1}, {"m": {"": 1}}, {"m": {"x]": 1}}, {"f": 1.5}, {"b": b"raw"}, {"s": {1, 2}}],
    ids=["bracket-in-name", "empty-name", "bracket-in-nested-name", "float", "bytes", "set"],
)
def test_what_has_no_form_encoding_is_refused(params: dict[str, object]) -> None:
    """Bracketed or empty names, floats, bytes and sets are refused, never guessed at."""
    with pytest.raises(StripeWireError):
        form_encode(params)  # type: ignore[arg-type]


def test_the_idempotency_key_is_the_case_and_attempt() -> None:
    """`{case_id}:{attempt}`: the key the engine records before charging, the same on every replay."""
    assert stripe.idempotency_key("pay_1", 2) == "pay_1:2"
    assert stripe.idempotency_key("pay_1", 2) == stripe.idempotency_key("pay_1", 2)


def test_an_idempotency_key_of_255_characters_is_taken_and_256_refused() -> None:
    """Stripe's limit is 255 characters: a longer key is refused, never cut (a cut key could collide)."""
    assert len(stripe.idempotency_key("c" * 253, 1)) == 255
    with pytest.raises(StripeWireError, match="256 characters"):
        stripe.idempotency_key("c" * 254, 1)


@pytest.mark.parametrize(
    ("case_id", "attempt"),
    [("", 1), ("pay 1", 1), ("pay\r\nX-Evil: 1", 1), ("pay_é", 1), ("pay_1", 0)],
    ids=["empty", "space", "header-injection", "non-ascii", "attempt-0"],
)
def test_keys_that_are_not_safe_header_values_are_refused(case_id: str, attempt: int) -> None:
    """An empty case id, whitespace, control or non-ASCII characters, or an attempt below 1 are refused."""
    with pytest.raises(StripeWireError):
        stripe.idempotency_key(case_id, attempt)


def test_a_payment_intent_is_created_and_confirmed_off_session_per_attempt() -> None:
    """POST /v1/payment_intents with the charge's terms, off-session flags, metadata and headers."""
    request = stripe.create_payment_intent(
        case_id="pay_1", attempt=2, amount=1250, currency="EUR", customer="cus_A1", payment_method="pm_B2"
    )
    assert (request.method, request.path, request.headers) == ("POST", "/v1/payment_intents", FORM_HEADERS)
    assert request.body.decode().split("&") == [
        "amount=1250",
        "currency=eur",
        "customer=cus_A1",
        "payment_method=pm_B2",
        "confirm=true",
        "off_session=true",
        "error_on_requires_action=true",
        "automatic_payment_methods[enabled]=true",
        "automatic_payment_methods[allow_redirects]=never",
        "metadata[case_id]=pay_1",
        "metadata[attempt]=2",
    ]


def test_without_a_known_payment_method_none_is_sent() -> None:
    """No `payment_method` parameter at all when none is known (never an empty one)."""
    request = stripe.create_payment_intent(
        case_id="pay_1", attempt=1, amount=500, currency="usd", customer="cus_A1"
    )
    assert b"payment_method=" not in request.body
    assert request.header("idempotency-key") == "pay_1:1"


@pytest.mark.parametrize(
    "terms",
    [
        {"amount": 0},
        {"amount": 10**12},
        {"currency": "XXX"},
        {"currency": "eu"},
        {"customer": "alice"},
        {"customer": "cus_1/../x"},
        {"payment_method": "pm 1"},
        {"case_id": "p" * 501},
    ],
    ids=["zero", "too-large", "not-payable", "not-a-code", "not-a-stripe-id", "path", "pm-space", "long"],
)
def test_a_payment_intent_with_bad_terms_is_refused(terms: dict[str, object]) -> None:
    """Amounts outside 1..MAX_MINOR, unpayable currencies, ids that are not Stripe's, long metadata."""
    base: dict[str, object] = {
        "case_id": "pay_1",
        "attempt": 1,
        "amount": 100,
        "currency": "eur",
        "customer": "cus_1",
    }
    with pytest.raises(StripeWireError):
        stripe.create_payment_intent(**{**base, **terms})  # type: ignore[arg-type]


def test_an_invoice_is_paid_off_session() -> None:
    """POST /v1/invoices/{id}/pay with `off_session=true` and the attempt's headers."""
    request = stripe.pay_invoice(invoice="in_1Ab", case_id="pay_1", attempt=2)
    assert (request.method, request.path, request.body) == (
        "POST",
        "/v1/invoices/in_1Ab/pay",
        b"off_session=true",
    )
    assert request.headers == FORM_HEADERS


def test_an_invoice_is_paid_with_the_known_payment_method() -> None:
    """A known payment method is named in the body."""
    request = stripe.pay_invoice(invoice="in_1Ab", case_id="pay_1", attempt=1, payment_method="pm_9")
    assert request.body == b"off_session=true&payment_method=pm_9"


@pytest.mark.parametrize("invoice", ["in_1/../../customers", "in_1?x=1", "", "1234"])
def test_an_invoice_id_that_would_change_the_path_is_refused(invoice: str) -> None:
    """Only `prefix_letters-and-digits` ids reach the path: no `/`, `?` or bare numbers."""
    with pytest.raises(StripeWireError):
        stripe.pay_invoice(invoice=invoice, case_id="pay_1", attempt=1)


def test_the_binding_metadata_is_the_path_the_headers_and_no_error_on_non_2xx() -> None:
    """What the `bindings.http` output binding takes: `path`, `errorIfNot2XX=false`, capitalised headers."""
    request = stripe.pay_invoice(invoice="in_1Ab", case_id="pay_1", attempt=2)
    assert request.binding_metadata() == {
        "path": "/v1/invoices/in_1Ab/pay",
        "errorIfNot2XX": "false",
        "Idempotency-Key": "pay_1:2",
        "Stripe-Version": stripe.STRIPE_VERSION,
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_a_request_never_carries_the_secret_key(name: str) -> None:
    """An `Authorization` header in a request would replace the component's secret: refused."""
    with pytest.raises(StripeWireError, match="secret store"):
        StripeRequest("POST", "/v1/x", b"", ((name, "Bearer sk_test_1"),))


def test_a_header_the_binding_would_not_send_is_refused() -> None:
    """The http binding sends only metadata keys that start with a capital letter as headers."""
    with pytest.raises(StripeWireError, match="capitalised"):
        StripeRequest("POST", "/v1/x", b"", (("idempotency-key", "k"),))


def test_the_invoice_payments_lookup_is_a_get_with_its_query_in_the_path() -> None:
    """`invoice_payments`: GET, the parameters in the path, no body, no key, no content type."""
    request = stripe_lists.invoice_payments(invoice="in_9", limit=3)
    assert request.method == "GET"
    assert request.path == "/v1/invoice_payments?invoice=in_9&limit=3&expand[0]=data.payment.payment_intent"
    assert request.body == b""
    assert request.binding_metadata() == {
        "path": request.path, "errorIfNot2XX": "false", "Stripe-Version": stripe.STRIPE_VERSION
    }  # fmt: skip


@pytest.mark.parametrize(
    ("invoice", "limit", "why"),
    [("in_9&limit=100", 1, "not a Stripe id"), ("in_9", 0, "1 to 100"), ("in_9", 101, "1 to 100")],
)
def test_an_invoice_payments_lookup_stripe_would_not_take_is_refused(
    invoice: str, limit: int, why: str
) -> None:
    """An id that would change the query, or a page size Stripe refuses: never built."""
    with pytest.raises(StripeWireError, match=why):
        stripe_lists.invoice_payments(invoice=invoice, limit=limit)


def test_the_events_list_is_a_get_by_types_and_creation_time() -> None:
    """`list_events`: GET /v1/events with `types[n]`, `created[gte|lte]`, `limit` and the cursor."""
    request = stripe_lists.list_events(
        types=("invoice.paid", "customer.updated"),
        created_gte=10,
        created_lte=20,
        limit=5,
        starting_after="evt_9",
    )
    assert (request.method, request.body) == ("GET", b"")
    assert request.path == (
        "/v1/events?types[0]=invoice.paid&types[1]=customer.updated&created[gte]=10&created[lte]=20&limit=5"
        "&starting_after=evt_9"
    )
    assert request.header("Stripe-Version") == stripe.STRIPE_VERSION
    assert stripe_lists.list_events(types=("invoice.paid",), created_gte=0).path.endswith(
        "created[gte]=0&limit=100"
    )


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"types": ()}, "1 to 20"),
        ({"types": tuple(f"a.b{n}" for n in "abcdefghijklmnopqrstu")}, "1 to 20"),
        ({"types": ("invoice.*",)}, "1 to 20"),
        ({"limit": 0}, "1 to 100"),
        ({"limit": 101}, "1 to 100"),
        ({"created_gte": 20, "created_lte": 10}, "not a range"),
        ({"starting_after": "evt_9&limit=1"}, "not a Stripe id"),
    ],
    ids=["no-types", "21-types", "wildcard", "limit-0", "limit-101", "backwards", "cursor-in-query"],
)
def test_an_events_list_stripe_would_not_take_is_refused(options: dict[str, Any], why: str) -> None:
    """No type or more than 20, a wildcard, a page size Stripe refuses, a backwards range, a bad cursor."""
    arguments: dict[str, Any] = {"types": ("invoice.paid",), "created_gte": 0} | options
    with pytest.raises(StripeWireError, match=why):
        stripe_lists.list_events(**arguments)


@pytest.mark.parametrize(
    ("method", "body", "headers", "why"),
    [
        ("DELETE", b"", (), "method"),
        ("GET", b"a=1", (), "no body"),
        ("GET", b"", (("Idempotency-Key", "k"),), "no body and no idempotency key"),
    ],
)
def test_a_get_with_a_body_or_a_key_or_another_method_is_refused(
    method: str, body: bytes, headers: tuple[tuple[str, str], ...], why: str
) -> None:
    """Only GET and POST are sent; a GET carries neither a body nor an idempotency key."""
    with pytest.raises(StripeWireError, match=why):
        StripeRequest(method, "/v1/x", body, headers)
