"""Redact known secret values from every log record this process creates.

A process can only hold a clear value it has stored (secret_create/replace) or revealed
(secret_reveal); both register it here. Redaction happens in the LogRecord factory, before
any handler or filter sees the record, so no handler can bypass it.
"""

from __future__ import annotations

import logging
import threading
import traceback

REDACTED = "[REDACTED]"
# Shorter strings would redact ordinary words and numbers; real keys are far longer.
MIN_REDACTED_LENGTH = 6

_values: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember_secret_value(value: str) -> None:
    if len(value) >= MIN_REDACTED_LENGTH:
        with _lock:
            _values.add(value)


def redact_text(text: str) -> str:
    # Longest first, so a value that contains another is removed whole.
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        # A bad format string must not turn a log call into a crash of the caller (logging
        # itself only reports it at emit time), and its arguments may hold a value.
        return f"{record.msg} {record.args!r}"


def _redact_record(record: logging.LogRecord) -> None:
    if not _values:
        return
    record.msg, record.args = redact_text(_message(record)), None
    if record.exc_info and record.exc_info[1] is not None:
        formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        # Formatters print exc_text when set; dropping exc_info keeps the raw exception
        # (whose message may hold a value) away from handlers that format it themselves.
        record.exc_text, record.exc_info = redact_text(formatted), None
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


def install_log_redaction() -> None:
    global _installed
    if _installed:
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
