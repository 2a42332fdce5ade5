"""Structured logs: one JSON object per line, each carrying the request id."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from api.observability import BatchedStreamHandler, JsonFormatter, request_id_var


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


def test_log_lines_are_written_together_warnings_at_once_and_in_order() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=0.05)
    logger = logging.getLogger("guildhall.test.batched")
    logger.propagate, logger.handlers[:] = False, [handler]
    logger.setLevel(logging.INFO)
    try:
        logger.info("first")
        logger.info("second")
        assert stream.getvalue() == ""  # waiting for the flusher
        logger.warning("third")
        assert [line.split()[0] for line in stream.getvalue().splitlines()] == ["first", "second", "third"]
        logger.info("fourth")
        deadline = time.monotonic() + 5
        while "fourth" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue().splitlines()[-1] == "fourth"
        logger.info("fifth")
        handler.flush()  # as logging's shutdown does at exit
        assert stream.getvalue().splitlines()[-1] == "fifth"
        logger.info("sixth")
        handler.close()  # as configure_logging does to the handler it replaces
        assert stream.getvalue().splitlines()[-1] == "sixth"
        flusher = handler._flusher
        assert flusher is not None
        flusher.join(timeout=5)
        assert not flusher.is_alive()
    finally:
        logger.handlers[:] = []


@settings(max_examples=2000)
@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_log_times_are_datetimes_isoformat_to_the_millisecond(created: float) -> None:
    assert JsonFormatter()._time(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
