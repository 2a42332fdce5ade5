"""Structured JSON logs carrying the request id, and the request ids themselves (assigned at the edge: api/edge.py)."""

from __future__ import annotations

import logging
import os
import random
import re
import sys
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("guildhall.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any extras."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}

    def __init__(self) -> None:
        super().__init__()
        self._second, self._second_text = -1, ""

    def _time(self, created: float) -> str:
        """``datetime.isoformat`` to the millisecond, its date and time worked out once per second."""
        second = int(created)
        microseconds = round((created - second) * 1e6)  # rounded as datetime.fromtimestamp rounds them
        if microseconds >= 1_000_000:
            second, microseconds = second + 1, microseconds - 1_000_000
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{microseconds // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        attributes = vars(record)
        for key in sorted(attributes.keys() - self._standard):  # the extras, found by a set difference
            if not key.startswith("_"):
                entry[key] = attributes[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines of the last ``interval`` seconds in one go, not one write each: with an access-log line per
    request, a system call per line was a cost the recording path could measure (bench/README.md, "Tenth
    session"). Warnings and errors are written at once, after what came before them; the rest waits at most
    ``interval`` (a daemon thread flushes), or until the process exits normally (logging's shutdown flushes). A
    process killed outright loses at most that much of its informational lines."""

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        super().__init__(stream)
        self.interval = interval
        self._pending: list[str] = []
        self._flusher: threading.Thread | None = None
        self._closed = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._add(self.format(record) + self.terminator, record.levelno)  # the caller holds the handler's lock
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def add_informational(self, line: str) -> None:
        """Takes a line already formatted, as ``emit`` takes a record's (``log_access``)."""
        with self.lock:  # type: ignore[union-attr]  # a Handler's lock exists once it is constructed
            self._add(line + self.terminator, logging.INFO)

    def _add(self, line: str, level: int) -> None:
        self._pending.append(line)
        if level >= logging.WARNING:
            self._write_pending()
        elif self._flusher is None or not self._flusher.is_alive():  # none yet, or none in this forked child
            self._flusher = threading.Thread(target=self._flush_every_interval, name="log-flusher", daemon=True)
            self._flusher.start()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # a Handler's lock exists once it is constructed
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            lines, self._pending = "".join(self._pending), []
            self.stream.write(lines)
        super().flush()

    def close(self) -> None:
        self.flush()
        self._closed = True  # its flusher stops
        super().close()

    def _flush_every_interval(self) -> None:
        while not self._closed:
            time.sleep(self.interval)
            self.flush()


def log_access(method: str, path: str, status: int, duration_ms: float) -> None:
    """A request's access-log line: ``access_log.info`` with the method, path, status and duration as extras.

    Where the line would reach nothing but the handler ``configure_logging`` installed, it is encoded straight into
    that handler's batch, the very line its formatter would write: making a LogRecord and walking its attributes
    cost several times the line itself, on every request (bench/README.md, "Fourteenth session"). Anywhere else (a
    handler or filter added since, as pytest's log capture adds one) the line goes through logging as any other.
    """
    if not access_log.isEnabledFor(logging.INFO):
        return
    handler = _only_handler_of_access_lines()
    if handler is None:
        access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )
        return
    formatter: JsonFormatter = handler.formatter  # type: ignore[assignment]  # checked by the caller
    entry = {
        "time": formatter._time(time.time()),
        "level": "info",
        "logger": access_log.name,
        "message": f"{method} {path} {status}",
        "request_id": request_id_var.get(),
        "duration_ms": duration_ms,  # the extras, in the formatter's (sorted) order
        "method": method,
        "path": path,
        "status": status,
    }
    handler.add_informational(msgspec.json.encode(entry).decode())


def _only_handler_of_access_lines() -> BatchedStreamHandler | None:
    """The handler that alone would write an access-log line, formatted by a plain JsonFormatter; else None."""
    if access_log.filters or not access_log.propagate:
        return None
    logger: logging.Logger | None = access_log.parent
    while logger is not None and logger is not logging.root:  # "guildhall" and any other ancestor: no handlers
        if logger.handlers:
            return None
        if not logger.propagate:
            return None
        logger = logger.parent
    handlers = logging.root.handlers
    if access_log.handlers or len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not BatchedStreamHandler
        or handler.filters
        or handler.level > logging.INFO
        or type(handler.formatter) is not JsonFormatter
    ):
        return None
    return handler


def configure_logging(level: str = "INFO") -> None:
    # Nothing we log names the caller's source line, thread or process (JsonFormatter writes neither), so
    # logging need not look them up for every record: one access-log line per request makes it count.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BatchedStreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchedStreamHandler):
            replaced.close()  # it writes what it holds, and its flusher stops
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "arq", "arq.worker", "arq.jobs"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # replaced by guildhall.access


class _RequestIds:
    """Random request ids, 128 bits as uuid4's, without a system call each (``uuid4`` reads the kernel's randomness
    every time, a seventh of an access-log line's cost): a random half per process, and a half from a generator
    the kernel seeds, both drawn again in a forked child. Not a counter: ids would tell how busy the API is."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.bits = random.Random(os.urandom(16)).getrandbits  # noqa: S311  # an id, not a secret

    def next(self) -> str:
        return f"{self.prefix}{self.bits(64):016x}"


new_request_id = _RequestIds().next
