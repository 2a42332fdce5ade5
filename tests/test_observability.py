"""Structured logs: one JSON object per line, each carrying the request id."""

from __future__ import annotations

import json
import logging

from api.observability import JsonFormatter, request_id_var


def test_log_lines_are_json_with_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("guildhall.test", logging.INFO, __file__, 1, "recorded %s", ("attempt",), None)
        record.duration_ms = 1.5
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "recorded attempt"
    assert entry["request_id"] == "req-42"
    assert entry["level"] == "info" and entry["duration_ms"] == 1.5


def test_exceptions_are_logged_inside_the_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("guildhall", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]
