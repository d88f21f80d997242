"""The card-processor sandbox's PaymentIntents, auth and idempotency, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bindings.errors import TransientError
from functions.common.stripe import STRIPE_VERSION, StripeRequest
from tests.unit.processor_helpers import (  # noqa: F401 - the *_fixture functions are pytest fixtures
    AUTH,
    SLEEP,
    altered,
    call,
    intent,
    ledger,
    ledger_path_fixture,
    pay,
    sandbox_fixture,
    send,
    transport_fixture,
)
from tooling.sandboxes.processor import RunningSandbox, start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport

_DECLINES = {
    "soft": (
        {"code": "card_declined", "decline_code": "insufficient_funds"},
        "Your card has insufficient funds.",
    ),
    "hard": ({"code": "expired_card"}, "Your card has expired."),
    "fraud": ({"code": "card_declined", "decline_code": "stolen_card"}, "Your card was declined."),
    "advice": (
        {"code": "card_declined", "decline_code": "do_not_honor", "advice_code": "try_again_later"},
        "Your card was declined.",
    ),
    "auth": (
        {"code": "authentication_required", "decline_code": "authentication_required"},
        "Your card was declined. This transaction requires authentication.",
    ),
}
_INVALID = [
    ({"amount": "0"}, None, "amount"),
    ({"amount": "12.50"}, "parameter_invalid_integer", "amount"),
    ({"amount": ""}, "parameter_invalid_empty", "amount"),
    ({"amount": None}, "parameter_missing", "amount"),
    ({"currency": "EUR"}, None, "currency"),
    ({"customer": "acct_1"}, "resource_missing", "customer"),
    ({"payment_method": "card_1"}, "resource_missing", "payment_method"),
    ({"confirm": "false"}, None, "confirm"),
    ({"error_on_requires_action": "yes"}, None, "error_on_requires_action"),
    (
        {"automatic_payment_methods[allow_redirects]": "sometimes"},
        None,
        "automatic_payment_methods[allow_redirects]",
    ),
    ({"metadata[case_id]": None}, "parameter_missing", "metadata[case_id]"),
    ({"metadata[attempt]": "0"}, None, "metadata[attempt]"),
    ({"description": "x"}, "parameter_unknown", "description"),
    ({"metadata[note]": "x"}, "parameter_unknown", "metadata[note]"),
]


def test_health_is_204_and_unknown_paths_are_404(sandbox: RunningSandbox) -> None:
    """GET /healthz is a 204 without body; unknown URLs (the old /v1/charges too) are 404s."""
    reply = call(sandbox.port, "GET", "/healthz")
    assert (reply.status, reply.body) == (204, b"")
    assert reply.headers["Request-Id"].startswith("req_")
    assert reply.headers["Stripe-Version"] == STRIPE_VERSION
    for method, path in [("GET", "/v1/refunds"), ("POST", "/v1/charges"), ("GET", "/v1/payment_intents")]:
        assert call(sandbox.port, method, path, b"", headers=AUTH).error() == (404, "invalid_request_error")


def test_payment_intent_succeeds_in_stripe_shape_and_is_recorded_once(transport: SandboxTransport) -> None:
    """The adapter's request creates a succeeded PaymentIntent in Stripe's shape and one ledger line."""
    answer = transport.send(intent())
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body.pop("id").startswith("pi_")
    assert body.pop("latest_charge").startswith("ch_")
    assert isinstance(body.pop("created"), int)
    assert body == {
        "object": "payment_intent", "amount": 1250, "amount_received": 1250, "currency": "eur",
        "customer": "cus_ok_1", "payment_method": "pm_card_visa", "status": "succeeded",
        "metadata": {"case_id": "c-1", "attempt": "1"}, "livemode": False,
    }  # fmt: skip
    [line] = transport.ledger()
    assert len(line.pop("fingerprint")) == 64
    assert line.pop("time").endswith("+00:00")
    response = json.loads(answer.body)
    assert line == {
        "key": "c-1:1", "customer": "cus_ok_1", "amount": 1250, "currency": "eur", "case_id": "c-1",
        "attempt": 1, "outcome": "ok", "status": 200, "charge": response["id"], "response": response,
        "mode": "payment_intent", "invoice": None,
    }  # fmt: skip


def test_every_answer_echoes_the_stripe_version_and_has_a_request_id(sandbox: RunningSandbox) -> None:
    """Stripe-Version echoes the request's header; each answer has its own Request-Id."""
    first = send(sandbox.port, intent())
    other = send(sandbox.port, intent(case_id="c-2"), AUTH | {"Stripe-Version": "2020-08-27"})
    assert first.headers["Stripe-Version"] == STRIPE_VERSION
    assert other.headers["Stripe-Version"] == "2020-08-27"
    assert first.headers["Request-Id"] != other.headers["Request-Id"]


@pytest.mark.parametrize(("outcome", "expected"), _DECLINES.items())
def test_decline_outcomes_are_402_card_errors_with_the_declined_intent(
    transport: SandboxTransport, outcome: str, expected: tuple[dict[str, str], str]
) -> None:
    """Each decline is a 402 card_error with its codes, the charge, and the intent's last_payment_error."""
    fields, message = expected
    answer = transport.send(intent(f"cus_{outcome}_1"))
    assert answer.status == 402
    error = json.loads(answer.body)["error"]
    payment_intent = error.pop("payment_intent")
    charge = error.pop("charge")
    assert error == {"type": "card_error", **fields, "message": message}
    assert payment_intent["last_payment_error"] == error
    assert (payment_intent["status"], payment_intent["latest_charge"]) == ("requires_payment_method", charge)
    assert payment_intent["amount_received"] == 0
    assert payment_intent["metadata"] == {"case_id": "c-1", "attempt": "1"}
    [line] = transport.ledger()
    assert (line["outcome"], line["status"], line["charge"]) == (outcome, 402, payment_intent["id"])


def test_replay_returns_the_same_bytes_marked_replayed(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """The same key, path and params (in any order) replay the first answer byte for byte, flagged."""
    first = send(sandbox.port, intent("cus_soft_1"))
    adapter = intent("cus_soft_1")
    reversed_body = b"&".join(reversed(adapter.body.split(b"&")))
    reordered = StripeRequest(adapter.method, adapter.path, reversed_body, adapter.headers)
    again = send(sandbox.port, reordered)
    assert (again.status, again.body) == (first.status, first.body)
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == (None, "true")
    assert transport.send(intent("cus_soft_1")).body == first.body
    assert len(transport.ledger()) == 1


def test_same_key_with_other_params_or_path_is_a_400_idempotency_error(transport: SandboxTransport) -> None:
    """Reusing a key with other params or on another endpoint is a 400 idempotency_error naming the key."""
    transport.send(intent())
    invoice = transport.create_invoice("cus_ok_1", 1250, "eur")
    for request in (intent(amount=999), pay(invoice)):
        answer = transport.send(request)
        error = json.loads(answer.body)["error"]
        assert (answer.status, error["type"]) == (400, "idempotency_error")
        assert "Try using a key other than 'c-1:1'" in error["message"]
    assert len(transport.ledger()) == 1


def test_missing_idempotency_key_is_400_and_says_so(sandbox: RunningSandbox) -> None:
    """Without an Idempotency-Key (optional at Stripe) the answer is a 400 naming the header."""
    request = intent()
    headers = {name: value for name, value in request.headers if name != "Idempotency-Key"} | AUTH
    reply = call(sandbox.port, "POST", request.path, request.body, headers=headers)
    assert reply.error() == (400, "invalid_request_error")
    assert "Idempotency-Key" in reply.json()["error"]["message"]
    assert ledger(sandbox.port) == []


def test_requests_without_a_test_secret_key_are_401(sandbox: RunningSandbox) -> None:
    """No Authorization is a 401 asking for a key; a publishable key a 401 showing it masked, never whole."""
    missing = send(sandbox.port, intent(), {})
    assert missing.error() == (401, "invalid_request_error")
    assert missing.json()["error"]["message"].startswith("You did not provide an API key.")
    key = "pk_test_51AbCdEfGhIjKlMnOp9876"
    wrong = send(sandbox.port, intent(), {"Authorization": f"Bearer {key}"})
    assert wrong.error() == (401, "invalid_request_error")
    assert wrong.json()["error"]["message"] == "Invalid API Key provided: pk_test_" + "*" * 18 + "9876"
    assert key.encode() not in wrong.body
    assert ledger(sandbox.port) == []


@pytest.mark.parametrize(("changes", "code", "param"), _INVALID)
def test_invalid_params_are_400_and_leave_the_key_free(
    transport: SandboxTransport, changes: dict[str, str | None], code: str | None, param: str
) -> None:
    """Bad, missing or unknown params get Stripe's 400 with the param; the key then runs a valid request."""
    answer = transport.send(altered(intent(), changes))
    error = json.loads(answer.body)["error"]
    assert (answer.status, error["type"]) == (400, "invalid_request_error")
    assert (error.get("code"), error["param"]) == (code, param)
    if code == "parameter_unknown":
        assert error["message"] == f"Received unknown parameter: {param}"
    assert transport.send(intent()).status == 200
    assert len(transport.ledger()) == 1


def test_a_json_body_is_refused_as_stripe_refuses_it(sandbox: RunningSandbox) -> None:
    """A JSON body, sent as JSON or as a form, carries no params: 400 parameter_missing amount."""
    body = json.dumps({"amount": 1250, "currency": "eur", "customer": "cus_ok_1"}).encode()
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        headers = AUTH | {"Idempotency-Key": "k-1", "Content-Type": content_type}
        error = call(sandbox.port, "POST", "/v1/payment_intents", body, headers=headers).json()["error"]
        assert (error["code"], error["param"]) == ("parameter_missing", "amount")
    assert ledger(sandbox.port) == []


def test_5xx_answers_500_records_nothing_and_a_retry_executes_anew(transport: SandboxTransport) -> None:
    """A scripted 500 api_error is not stored under the key: the retry runs and is recorded once."""
    for _ in range(2):
        answer = transport.send(intent("cus_5xx_1"))
        assert (answer.status, json.loads(answer.body)["error"]["type"]) == (500, "api_error")
    assert transport.ledger() == []
    transport.script("cus_flaky_1", ["5xx", "ok"])
    assert transport.send(intent("cus_flaky_1")).status == 500
    assert transport.send(intent("cus_flaky_1")).status == 200
    assert [line["outcome"] for line in transport.ledger()] == ["ok"]


def test_timeout_records_the_payment_then_stalls(sandbox: RunningSandbox) -> None:
    """A timed-out payment still happened: the transport raises TransientError, a retry replays it."""
    with pytest.raises(TransientError):
        SandboxTransport(sandbox.port, timeout=SLEEP / 4).send(intent("cus_timeout_1"))
    retry = send(sandbox.port, intent("cus_timeout_1"))
    assert (retry.status, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert retry.json()["status"] == "succeeded"
    [line] = ledger(sandbox.port)
    assert (line["outcome"], line["status"], line["charge"]) == ("timeout", 200, retry.json()["id"])


def test_transport_raises_transient_only_without_an_answer(ledger_path: Path) -> None:
    """A sandbox that is gone gives no answer: TransientError, not a status."""
    stopped = start_sandbox(ledger_path)
    stopped.shutdown()
    with pytest.raises(TransientError):
        SandboxTransport(stopped.port).send(intent())


def test_recover_customer_declines_soft_for_n_keys_then_succeeds(transport: SandboxTransport) -> None:
    """cus_recover2_ declines soft for two new keys, then succeeds; replays do not count."""
    attempts = (1, 1, 2, 3, 2)
    assert [transport.send(intent("cus_recover2_x", attempt=n)).status for n in attempts] == [
        402,
        402,
        402,
        200,
        402,
    ]
    assert [line["outcome"] for line in transport.ledger()] == ["soft", "soft", "ok"]


def test_runtime_script_queues_outcomes_then_falls_back_to_the_prefix(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """/v1/script queues outcomes, one per new key, then the prefix (else ok) decides; unknown ones: 400."""
    transport.script("cus_soft_9", ["auth", "ok"])
    bodies = [json.loads(transport.send(intent("cus_soft_9", attempt=n)).body) for n in (1, 2, 3)]
    assert bodies[0]["error"]["code"] == "authentication_required"
    assert bodies[1]["status"] == "succeeded"
    assert bodies[2]["error"]["decline_code"] == "insufficient_funds"
    script = json.dumps({"customer": "cus_plain", "outcomes": ["maybe"]}).encode()
    assert call(sandbox.port, "POST", "/v1/script", script).error() == (400, "invalid_request_error")


def test_concurrent_requests_with_one_key_execute_once(sandbox: RunningSandbox) -> None:
    """Twenty simultaneous requests with a key get identical bodies, one PaymentIntent and one ledger line."""
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: send(sandbox.port, intent()), range(20)))
    assert {(reply.status, reply.body) for reply in replies} == {(200, replies[0].body)}
    assert sum(reply.headers["Idempotent-Replayed"] is None for reply in replies) == 1
    assert len(ledger(sandbox.port)) == 1


def test_ledger_filters_by_customer(sandbox: RunningSandbox, transport: SandboxTransport) -> None:
    """GET /v1/ledger?customer= returns only that customer's lines, in order."""
    for customer, case_id in [("cus_ok_a", "c-1"), ("cus_soft_b", "c-2"), ("cus_ok_a", "c-3")]:
        transport.send(intent(customer, case_id=case_id))
    assert [line["key"] for line in ledger(sandbox.port, "cus_ok_a")] == ["c-1:1", "c-3:1"]
    assert len(ledger(sandbox.port)) == 3
