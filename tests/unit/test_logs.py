"""Structured logs: one JSON object a line, with the context of the event being handled."""

from __future__ import annotations

import json
import logging

from bindings.logs import JsonFormatter, log_context


def test_records_carry_the_app_the_context_and_extra_fields() -> None:
    """app, binding, message id and extra fields land in the JSON; None context values are left out."""
    record = logging.LogRecord("bindings.app", logging.INFO, __file__, 1, "handled %s", ("x",), None)
    record.attempt = 2
    with log_context(binding="orders", message_id="m-1", correlation_id=None):
        line = JsonFormatter("receipt-render").format(record)
    entry = json.loads(line)
    assert entry["app"] == "receipt-render"
    assert entry["message"] == "handled x"
    assert (entry["binding"], entry["message_id"], entry["attempt"]) == ("orders", "m-1", 2)
    assert "correlation_id" not in entry


def test_context_ends_with_its_block() -> None:
    """Fields added by a block are gone after it."""
    with log_context(binding="orders"):
        pass
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert "binding" not in json.loads(JsonFormatter("a").format(record))
