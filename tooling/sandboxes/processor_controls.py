"""The processor sandbox's controls (no API key): scripts, invoices, their failed attempts, the webhook.

`control` answers a control request, or None for a path that is not one (a Stripe endpoint). Bodies are
JSON, validated by the `processor_ledger` models; a bad one is a 400 in Stripe's error shape.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from tooling.sandboxes import processor_ledger as records
from tooling.sandboxes.processor_stripe import Answer, Refusal

if TYPE_CHECKING:
    from tooling.sandboxes.processor_engine import Sandbox

_FAIL = re.compile(r"^/v1/sandbox/invoices/(?P<invoice>[^/]+)/fail$")
_Body = TypeVar("_Body", bound=BaseModel)


def control(sandbox: Sandbox, path: str, raw: bytes) -> Answer | None:
    """Run the control `POST path` with JSON body `raw`; None if `path` is no control."""
    if path == "/v1/script":
        script = parse(raw, records.ScriptRequest)
        sandbox.script(script)
        return Answer(200, records.encode(script.model_dump()))
    if path == "/v1/sandbox/invoices":
        return Answer(200, records.encode(sandbox.create_invoice(parse(raw, records.InvoiceRequest))))
    if (fail := _FAIL.match(path)) is not None:
        failed = sandbox.fail_invoice(fail["invoice"], parse(raw, records.FailRequest))
        return Answer(200, records.encode(failed))
    if path == "/v1/sandbox/webhook":
        webhook = parse(raw, records.WebhookRequest)
        sandbox.webhooks.configure(webhook.url, webhook.secret)
        return Answer(200, records.encode({"url": webhook.url}))
    return None


def parse(raw: bytes, model: type[_Body]) -> _Body:
    """The JSON body `raw` as `model`, or `Refusal` (400) naming the first problem."""
    try:
        return model.model_validate(json.loads(raw))
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        if not isinstance(error, ValidationError):
            raise Refusal(400, "The request body is not valid JSON.") from error
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Refusal(400, f"{where}: {first['msg']}" if where else first["msg"]) from error
