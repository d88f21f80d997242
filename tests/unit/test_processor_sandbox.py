"""The card-processor sandbox, driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tooling.sandboxes.processor import RunningSandbox, start_sandbox

_SLEEP = 0.2
_DECLINES = {
    "soft": {"code": "card_declined", "decline_code": "insufficient_funds"},
    "hard": {"code": "expired_card"},
    "fraud": {"code": "card_declined", "decline_code": "stolen_card"},
    "advice": {"code": "card_declined", "decline_code": "do_not_honor", "advice_code": "try_again_later"},
}
_BAD_FIELDS = [("amount", 0), ("amount", "1250"), ("amount", True), ("currency", "EUR"), ("currency", "euro")]
_BAD_FIELDS += [("customer", ""), ("attempt", 1.5), ("description", "unknown fields are refused")]


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> tuple[int, str]:
        return self.status, self.json()["error"]["type"]


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    """Where the sandbox keeps its ledger."""
    return tmp_path / "ledger.jsonl"


@pytest.fixture
def sandbox(ledger_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox on a free port whose timeouts stall for a fraction of a second."""
    running = start_sandbox(ledger_path, timeout_seconds=_SLEEP)
    yield running
    running.shutdown()


def _call(port: int, method: str, path: str, body: bytes = b"", **options: Any) -> _Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=options.get("timeout", 5))
    try:
        connection.request(method, path, body, options.get("headers", {}))
        response = connection.getresponse()
        return _Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def _body(customer: str = "cus_ok_1", **changes: object) -> dict[str, object]:
    return {"customer": customer, "amount": 1250, "currency": "eur", "case_id": "c-1", "attempt": 1} | changes


def _charge(port: int, key: str | None, body: dict[str, object], timeout: float = 5) -> _Reply:
    headers = {} if key is None else {"Idempotency-Key": key}
    return _call(port, "POST", "/v1/charges", json.dumps(body).encode(), headers=headers, timeout=timeout)


def _ledger(port: int, customer: str | None = None) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = _call(
        port, "GET", "/v1/ledger" + (f"?customer={customer}" if customer else "")
    ).json()
    return lines


def _script(port: int, customer: str, outcomes: list[str]) -> _Reply:
    body = json.dumps({"customer": customer, "outcomes": outcomes}).encode()
    return _call(port, "POST", "/v1/script", body)


def test_health_is_204_and_unknown_paths_are_404(sandbox: RunningSandbox) -> None:
    """GET /healthz answers 204 with no body; unknown URLs a 404 invalid_request_error."""
    reply = _call(sandbox.port, "GET", "/healthz")
    assert (reply.status, reply.body) == (204, b"")
    for method in ("GET", "POST"):
        assert _call(sandbox.port, method, "/v1/refunds", b"{}").error() == (404, "invalid_request_error")


def test_first_charge_succeeds_and_is_recorded_once(sandbox: RunningSandbox) -> None:
    """A new key creates a succeeded charge, answered in Stripe's shape and written as one ledger line."""
    reply = _charge(sandbox.port, "k-1", _body())
    assert reply.status == 200
    assert reply.headers["Idempotent-Replayed"] is None
    charge = reply.json()
    assert charge.pop("id").startswith("ch_")
    assert charge == {
        "object": "charge", "status": "succeeded", "amount": 1250, "currency": "eur",
        "customer": "cus_ok_1", "metadata": {"case_id": "c-1", "attempt": 1},
    }  # fmt: skip
    [line] = _ledger(sandbox.port)
    assert len(line.pop("fingerprint")) == 64
    assert line.pop("time").endswith("+00:00")
    recorded = {"outcome": "ok", "status": 200, "charge": reply.json()["id"], "response": reply.json()}
    assert line == {"key": "k-1", **_body(), **recorded}


def test_replay_returns_the_same_bytes_marked_replayed(sandbox: RunningSandbox) -> None:
    """The same key and body replays the first response byte for byte, flagged, with no new ledger line."""
    first = _charge(sandbox.port, "k-1", _body())
    again = _charge(sandbox.port, "k-1", dict(reversed(_body().items())))
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_ledger(sandbox.port)) == 1


def test_same_key_with_another_body_is_an_idempotency_error(sandbox: RunningSandbox) -> None:
    """Reusing a key with different parameters is a 409 idempotency_error and records nothing."""
    _charge(sandbox.port, "k-1", _body())
    reply = _charge(sandbox.port, "k-1", _body(amount=999))
    assert reply.error() == (409, "idempotency_error")
    assert "k-1" in reply.json()["error"]["message"]
    assert len(_ledger(sandbox.port)) == 1


def test_missing_idempotency_key_is_400(sandbox: RunningSandbox) -> None:
    """A charge without an Idempotency-Key header is an invalid_request_error and records nothing."""
    assert _charge(sandbox.port, None, _body()).error() == (400, "invalid_request_error")
    assert _ledger(sandbox.port) == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'{"customer": "cus_ok_1", "amount": 5}']
    + [json.dumps(_body() | {k: v}).encode() for k, v in _BAD_FIELDS],
)
def test_invalid_bodies_are_400_and_not_stored_under_the_key(sandbox: RunningSandbox, raw: bytes) -> None:
    """Bad JSON or fields get a 400 invalid_request_error; the key stays free for a valid request."""
    reply = _call(sandbox.port, "POST", "/v1/charges", raw, headers={"Idempotency-Key": "k-1"})
    assert reply.error() == (400, "invalid_request_error")
    assert _charge(sandbox.port, "k-1", _body()).status == 200
    assert len(_ledger(sandbox.port)) == 1


@pytest.mark.parametrize(("outcome", "error"), _DECLINES.items())
def test_scripted_customers_decline_with_stripe_errors(
    sandbox: RunningSandbox, outcome: str, error: dict[str, str]
) -> None:
    """Each decline prefix is a 402 with exactly its card_error fields (expired_card: no decline_code)."""
    reply = _charge(sandbox.port, "k-1", _body(f"cus_{outcome}_1"))
    assert reply.status == 402
    got = reply.json()["error"]
    charge = got.pop("charge")
    assert charge.startswith("ch_")
    assert got.pop("message")
    assert got == {"type": "card_error", **error}
    [line] = _ledger(sandbox.port)
    assert (line["outcome"], line["status"], line["charge"]) == (outcome, 402, charge)


def test_5xx_customer_answers_500_and_records_nothing(sandbox: RunningSandbox) -> None:
    """A cus_5xx_ customer gets a 500 api_error every time, with an empty ledger."""
    for _ in range(2):
        assert _charge(sandbox.port, "k-1", _body("cus_5xx_1")).error() == (500, "api_error")
    assert _ledger(sandbox.port) == []


def test_retry_after_5xx_with_the_same_key_executes_and_records_once(sandbox: RunningSandbox) -> None:
    """A 500 is not stored under the key, so the retry runs anew and is recorded once."""
    _script(sandbox.port, "cus_flaky", ["5xx", "ok"])
    assert _charge(sandbox.port, "k-1", _body("cus_flaky")).status == 500
    retry = _charge(sandbox.port, "k-1", _body("cus_flaky"))
    assert retry.status == 200
    assert retry.headers["Idempotent-Replayed"] is None
    assert [line["outcome"] for line in _ledger(sandbox.port)] == ["ok"]


def test_retry_after_a_client_timeout_replays_the_recorded_success(sandbox: RunningSandbox) -> None:
    """A timed-out charge still happened: the retry with its key replays the success, recorded once."""
    with pytest.raises(TimeoutError):
        _charge(sandbox.port, "k-1", _body("cus_timeout_1"), timeout=_SLEEP / 4)
    retry = _charge(sandbox.port, "k-1", _body("cus_timeout_1"))
    assert retry.status == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["status"] == "succeeded"
    [line] = _ledger(sandbox.port)
    assert (line["outcome"], line["status"]) == ("timeout", 200)


def test_recover_customer_declines_soft_for_n_keys_then_succeeds(sandbox: RunningSandbox) -> None:
    """cus_recover2_ declines soft for two new keys, then succeeds; replays do not count."""
    statuses = [_charge(sandbox.port, f"k-{n}", _body("cus_recover2_x")).status for n in (1, 1, 2, 3, 2)]
    assert statuses == [402, 402, 402, 200, 402]
    assert [line["outcome"] for line in _ledger(sandbox.port)] == ["soft", "soft", "ok"]


def test_runtime_script_queues_outcomes_then_falls_back_to_the_prefix(sandbox: RunningSandbox) -> None:
    """/v1/script queues outcomes, one per new key, then the prefix (else ok) decides; unknown ones: 400."""
    assert _script(sandbox.port, "cus_soft_9", ["fraud", "ok"]).status == 200
    assert _script(sandbox.port, "cus_plain", ["hard"]).status == 200
    bodies = [_charge(sandbox.port, f"k-{n}", _body("cus_soft_9")).json() for n in range(3)]
    assert bodies[0]["error"]["decline_code"] == "stolen_card"
    assert bodies[1]["status"] == "succeeded"
    assert bodies[2]["error"]["decline_code"] == "insufficient_funds"
    plain = [_charge(sandbox.port, f"p-{n}", _body("cus_plain")).status for n in range(2)]
    assert plain == [402, 200]
    assert _script(sandbox.port, "cus_plain", ["maybe"]).error() == (400, "invalid_request_error")


def test_concurrent_requests_with_one_key_create_one_charge(sandbox: RunningSandbox) -> None:
    """Twenty simultaneous requests with a key get identical bodies, one charge and one ledger line."""
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: _charge(sandbox.port, "k-1", _body()), range(20)))
    assert {(reply.status, reply.body) for reply in replies} == {(200, replies[0].body)}
    assert sum(reply.headers["Idempotent-Replayed"] is None for reply in replies) == 1
    assert len(_ledger(sandbox.port)) == 1


def test_ledger_filters_by_customer(sandbox: RunningSandbox) -> None:
    """GET /v1/ledger?customer= returns only that customer's lines, in order."""
    _charge(sandbox.port, "k-1", _body("cus_ok_a"))
    _charge(sandbox.port, "k-2", _body("cus_soft_b"))
    _charge(sandbox.port, "k-3", _body("cus_ok_a"))
    assert [line["key"] for line in _ledger(sandbox.port, "cus_ok_a")] == ["k-1", "k-3"]
    assert len(_ledger(sandbox.port)) == 3


def test_restart_reloads_the_ledger_and_keeps_replays(ledger_path: Path) -> None:
    """After a restart on the same file, a known key still replays and a torn line is skipped."""
    first = start_sandbox(ledger_path)
    try:
        original = _charge(first.port, "k-1", _body("cus_soft_1"))
    finally:
        first.shutdown()
    with ledger_path.open("a", encoding="utf-8") as file:
        file.write('{"key": "torn')
    second = start_sandbox(ledger_path)
    try:
        again = _charge(second.port, "k-1", _body("cus_soft_1"))
        assert (again.status, again.body) == (402, original.body)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _charge(second.port, "k-1", _body("cus_soft_1", amount=1)).status == 409
        assert _charge(second.port, "k-2", _body("cus_ok_2")).status == 200
        assert [line["key"] for line in _ledger(second.port)] == ["k-1", "k-2"]
        assert json.loads(ledger_path.read_text(encoding="utf-8").splitlines()[-1])["key"] == "k-2"
    finally:
        second.shutdown()
