"""Contract tests: every request the Stripe adapter builds, through a real daprd http binding, to stripe-mock.

stripe-mock (Stripe's official mock, `tooling/stripe_mock.py`) checks each request against Stripe's
OpenAPI spec: the key, the content type, every parameter's name and type, and (started with
`-strict-version-check`) the pinned `Stripe-Version`. The requests go the way the adapter's do: the
Dapr gRPC `InvokeBinding` (operation: the request's method, `post` or `get`) with the body and the
request's binding metadata (a GET's query string in its `path`), the secret key
added by the component from its secret store. daprd runs alone (no app: the test is the caller);
the HTTP API would not do, as it re-encodes a binding's data as JSON. stripe-mock never declines and
ignores idempotency: the processor sandbox's tests cover those.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from dapr.proto import api_service_v1, api_v1

from functions.common import stripe, stripe_lists
from functions.common.payments import ChargeOrder, InDoubt, Paid, Refused
from functions.common.stripe import StripeRequest
from functions.common.stripe_gateway import StripeGateway
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.mapping import TYPES
from tests.integration.helpers import HERE
from tooling import components, sidecar, stripe_mock

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SECRET = "Bearer sk_test_binderycontract"
GATEWAY = "stripe-gateway"

SHAPES = {
    "payment-intent": stripe.create_payment_intent(
        case_id="pay_contract", attempt=1, amount=1250, currency="EUR", customer="cus_Contract"
    ),
    "payment-intent-with-method": stripe.create_payment_intent(
        case_id="pay_contract",
        attempt=2,
        amount=99_900,
        currency="jpy",
        customer="cus_Contract",
        payment_method="pm_Contract",
    ),
    "invoice": stripe.pay_invoice(invoice="in_Contract", case_id="pay_contract", attempt=1),
    "invoice-with-method": stripe.pay_invoice(
        invoice="in_Contract", case_id="pay_contract", attempt=2, payment_method="pm_Contract"
    ),
}


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stripe_mock.StripeMock]:
    """stripe-mock at the pinned version, built on first use, on a free loopback port."""
    with stripe_mock.start(tmp_path_factory.mktemp("stripe-mock") / "stripe-mock.log") as running:
        yield running


@pytest.fixture(scope="module")
def dapr(
    mock: stripe_mock.StripeMock, daprd_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[api_service_v1.DaprStub, Path]]:
    """A daprd with the Stripe gateway components, and a gRPC stub to it; and its resources folder."""
    root = tmp_path_factory.mktemp("stripe-dapr")
    secrets = root / "secrets.json"
    secrets.write_text(json.dumps({"stripe-authorization": SECRET}))
    values = {"STRIPE_MOCK_URL": mock.url, "STRIPE_SECRETS_FILE": str(secrets)}
    resources = root / "components"
    components.render(HERE / "components" / "stripe", resources, values)
    proc, ports = sidecar.start_alone(
        "stripe-contract", daprd=daprd_binary, resources=resources, log=root / "daprd.log"
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{ports.grpc}")
    try:
        yield api_service_v1.DaprStub(channel), resources  # type: ignore[no-untyped-call]
    finally:
        channel.close()
        proc.stop()


def send(
    dapr: tuple[api_service_v1.DaprStub, Path], request: StripeRequest, *, binding: str = GATEWAY
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Send `request` through `binding` as the adapter does: status, JSON body, response headers."""
    stub, _ = dapr
    call = api_v1.InvokeBindingRequest(
        name=binding, data=request.body, metadata=request.binding_metadata(), operation=request.method.lower()
    )
    response = stub.InvokeBinding(call, timeout=30)
    metadata = dict(response.metadata)
    return int(metadata["statusCode"]), json.loads(response.data), metadata


@pytest.mark.parametrize("shape", SHAPES)
def test_every_request_shape_is_accepted_by_stripes_spec(
    dapr: tuple[api_service_v1.DaprStub, Path], shape: str
) -> None:
    """Each shape the adapter builds gets a 200 with the object it asked for, its key echoed back."""
    request = SHAPES[shape]
    status, body, headers = send(dapr, request)
    assert status == 200, body
    expected = "payment_intent" if request.path == "/v1/payment_intents" else "invoice"
    assert body["object"] == expected
    assert headers["Idempotency-Key"] == request.header("Idempotency-Key")


def test_the_invoice_payments_lookup_is_accepted_with_its_intent_expanded(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """The intake's GET, its query in the binding's path: a list of InvoicePayments, each intent expanded."""
    status, body, _ = send(dapr, stripe_lists.invoice_payments(invoice="in_Contract"))
    assert status == 200, body
    assert (body["object"], body["url"]) == ("list", "/v1/invoice_payments")
    assert body["data"], body
    payment = body["data"][0]
    assert payment["object"] == "invoice_payment"
    assert payment["payment"]["payment_intent"]["object"] == "payment_intent"


def test_a_query_parameter_stripe_does_not_take_is_refused(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """The query string is checked against the spec as a form body is: an unknown parameter is a 400."""
    request = stripe_lists.invoice_payments(invoice="in_Contract")
    status, body, _ = send(dapr, replace(request, path=request.path + "&case_id=pay_contract"))
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"


def test_the_backfills_events_list_is_accepted_with_every_parameter(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """`GET /v1/events` with the intake's types, a created range, a page size, a cursor: a list of events."""
    request = stripe_lists.list_events(
        types=TYPES, created_gte=1_788_000_000, created_lte=1_788_086_400, limit=100,
        starting_after="evt_Contract",
    )  # fmt: skip
    status, body, _ = send(dapr, request)
    assert status == 200, body
    assert (body["object"], body["url"]) == ("list", "/v1/events")
    assert all(event["object"] == "event" for event in body["data"]), body


def test_an_events_query_parameter_stripe_does_not_take_is_refused(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """The events list's query is checked against the spec too: an unknown parameter is a 400."""
    request = stripe_lists.list_events(types=TYPES, created_gte=1_788_000_000)
    status, body, _ = send(dapr, replace(request, path=request.path + "&created_after=1788000000"))
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"


def test_the_intake_reads_a_decline_from_stripes_answer(dapr: tuple[api_service_v1.DaprStub, Path]) -> None:
    """`InvoiceDeclines` over the binding reads stripe-mock's fixture: a decline with a code, one request."""
    transport = _Daprd(dapr)
    decline = InvoiceDeclines(transport)("in_Contract")
    assert transport.sent == 1
    assert decline["code"], decline


def test_a_payment_intent_comes_back_with_the_charge_terms(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """stripe-mock reflects the amount, the lowercase currency, the customer and the payment method."""
    status, body, _ = send(dapr, SHAPES["payment-intent-with-method"])
    assert status == 200, body
    terms = (body["amount"], body["currency"], body["customer"], body["payment_method"])
    assert terms == (99_900, "jpy", "cus_Contract", "pm_Contract")


def test_the_invoice_paid_is_the_one_in_the_path(dapr: tuple[api_service_v1.DaprStub, Path]) -> None:
    """The binding's `path` reaches stripe-mock whole: the invoice answered is the one named."""
    status, body, _ = send(dapr, SHAPES["invoice-with-method"])
    assert status == 200, body
    assert (body["object"], body["id"]) == ("invoice", "in_Contract")


def test_the_secret_key_is_only_in_the_secret_store(dapr: tuple[api_service_v1.DaprStub, Path]) -> None:
    """The components daprd loads name the secret; its value is in none of them."""
    _, resources = dapr
    texts = [path.read_text() for path in sorted(resources.glob("*.yaml"))]
    assert texts
    assert not any(SECRET.split()[1] in text for text in texts)
    assert any("stripe-authorization" in text for text in texts)


@pytest.mark.parametrize("binding", ["stripe-gateway-keyless", "stripe-gateway-publishable"])
def test_a_request_without_a_secret_test_key_is_refused(
    dapr: tuple[api_service_v1.DaprStub, Path], binding: str
) -> None:
    """No `Authorization`, or a publishable key in it: 401, whatever the request."""
    status, body, _ = send(dapr, SHAPES["payment-intent"], binding=binding)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"


def test_a_json_body_is_refused(dapr: tuple[api_service_v1.DaprStub, Path]) -> None:
    """The bespoke protocol's JSON body (what the old gateway sent) is a 400 naming the content type."""
    charge = {"customer": "cus_Contract", "amount": 1250, "currency": "eur", "case_id": "pay_1", "attempt": 1}
    request = replace(
        SHAPES["payment-intent"],
        body=json.dumps(charge).encode(),
        headers=(("Idempotency-Key", "pay_1:1"), ("Content-Type", "application/json")),
    )
    status, body, _ = send(dapr, request)
    assert status == 400
    assert "Content-Type" in body["error"]["message"]


@pytest.mark.parametrize(
    ("shape", "part", "wrong_part"),
    [
        ("payment-intent", b"confirm=true", b"confirm=true&case_id=pay_contract"),
        ("invoice", b"off_session=true", b"off_session=true&metadata[case_id]=pay_contract"),
        ("payment-intent", b"amount=1250", b"amount=12.50"),
    ],
    ids=["unknown-parameter", "metadata-on-invoice-pay", "amount-not-an-integer"],
)
def test_a_parameter_stripe_does_not_take_is_refused(
    dapr: tuple[api_service_v1.DaprStub, Path], shape: str, part: bytes, wrong_part: bytes
) -> None:
    """An unknown parameter, metadata where `/pay` takes none, a decimal amount: 400 from the spec."""
    request = SHAPES[shape]
    assert part in request.body
    wrong = replace(request, body=request.body.replace(part, wrong_part))
    status, body, _ = send(dapr, wrong)
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"


def test_a_stripe_version_other_than_the_pinned_one_is_refused(
    dapr: tuple[api_service_v1.DaprStub, Path],
) -> None:
    """The pin is checked: another `Stripe-Version` is a 400 naming the spec's version."""
    request = SHAPES["invoice"]
    headers = tuple((k, "2020-08-27" if k == "Stripe-Version" else v) for k, v in request.headers)
    status, body, _ = send(dapr, replace(request, headers=headers))
    assert status == 400
    assert stripe.STRIPE_VERSION in body["error"]["message"]


class _Daprd:
    """A `StripeTransport` over the test's daprd, as `DaprStripeTransport` sends through the app's."""

    def __init__(self, dapr: tuple[api_service_v1.DaprStub, Path], binding: str = GATEWAY) -> None:
        self.dapr, self.binding, self.sent = dapr, binding, 0

    def send(self, request: StripeRequest) -> stripe.StripeAnswer:
        """Send through the binding; the answer's status and raw body."""
        self.sent += 1
        status, body, _ = send(self.dapr, request, binding=self.binding)
        return stripe.StripeAnswer(status, json.dumps(body).encode())


ORDERS = {
    "payment-intent": ChargeOrder(
        case_id="pay_contract", attempt=3, key="pay_contract:3", amount=1250, currency="EUR",
        customer="cus_Contract", payment_method="pm_Contract",
    ),
    "invoice": ChargeOrder(
        case_id="pay_contract", attempt=3, key="pay_contract:3", amount=1250, currency="EUR",
        customer="cus_Contract", invoice="in_Contract",
    ),
}  # fmt: skip


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_the_adapter_sends_is_accepted_and_read(
    dapr: tuple[api_service_v1.DaprStub, Path], order: str
) -> None:
    """The adapter's own requests pass the spec; stripe-mock's fixture objects are read, never as declines.

    stripe-mock answers a fixture (an intent `requires_payment_method`, an invoice of the fixture's status),
    which the adapter must read as what it is: paid only when the object says so, otherwise in doubt.
    """
    transport = _Daprd(dapr)
    answer = StripeGateway(transport).charge(ORDERS[order])
    assert transport.sent == 1
    assert isinstance(answer, Paid | InDoubt), answer
    if isinstance(answer, InDoubt):
        assert "200" in answer.reason


def test_a_refused_key_never_reaches_a_reason(dapr: tuple[api_service_v1.DaprStub, Path]) -> None:
    """stripe-mock's 401 names the key it got; the adapter's reason keeps only its last four characters."""
    transport = _Daprd(dapr, binding="stripe-gateway-publishable")
    answer = StripeGateway(transport).charge(ORDERS["payment-intent"])
    assert isinstance(answer, Refused)
    assert "401" in answer.reason
    assert "binderycontract" not in answer.reason
