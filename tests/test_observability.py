"""Structured logs: one JSON object per line, each carrying the request id."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from api.observability import BatchedStreamHandler, JsonFormatter, log_access, request_id_var


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


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_access_lines_written_directly_are_the_lines_logging_would_write() -> None:
    """``log_access`` skips the LogRecord where only our handler would see the line; the line must not change."""
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=60)
    handler.setFormatter(JsonFormatter())
    root, saved = logging.getLogger(), logging.getLogger().handlers[:]
    saved_level = root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    token = request_id_var.set("req-7")
    try:
        log_access("POST", "/organisations/x/attempts", 201, 3.21)  # the direct way
        handler.flush()
        direct = json.loads(stream.getvalue().splitlines()[-1])
        root.handlers.append(_Capture())  # another handler: the line goes through logging
        log_access("POST", "/organisations/x/attempts", 201, 3.21)
        handler.flush()
        through_logging = json.loads(stream.getvalue().splitlines()[-1])
    finally:
        request_id_var.reset(token)
        root.handlers[:] = saved
        root.setLevel(saved_level)
        handler.close()
    assert (
        abs(
            datetime.fromisoformat(direct.pop("time")) - datetime.fromisoformat(through_logging.pop("time"))
        ).total_seconds()
        < 5
    )
    assert list(direct.items()) == list(through_logging.items())
    assert direct == {
        "level": "info",
        "logger": "guildhall.access",
        "message": "POST /organisations/x/attempts 201",
        "request_id": "req-7",
        "duration_ms": 3.21,
        "method": "POST",
        "path": "/organisations/x/attempts",
        "status": 201,
    }


def test_access_lines_reach_a_capturing_handler() -> None:
    """A handler added beside ours (pytest's log capture, an operator's) sees every access line as a LogRecord."""
    capture = _Capture()
    access = logging.getLogger("guildhall.access")
    access.addHandler(capture)
    saved_level = access.level
    access.setLevel(logging.INFO)
    try:
        log_access("GET", "/healthz", 200, 0.5)
    finally:
        access.removeHandler(capture)
        access.setLevel(saved_level)
    (record,) = capture.records
    assert record.getMessage() == "GET /healthz 200"
    assert (record.method, record.path, record.status, record.duration_ms) == ("GET", "/healthz", 200, 0.5)  # type: ignore[attr-defined]
