"""JSON log lines (LOG_FORMAT=json) that keep the secret redaction.

The LogRecord factory (apps.secrets.redaction) already redacts the message, exception and stack; a JSON
line also carries the record's `extra` fields and a dict message, set after the factory ran, so every
string of the line is redacted again once it is plain JSON data (objects already turned into their text).
"""

from __future__ import annotations

import json
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from apps.secrets.redaction import redact_text


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {_redacted(key): _redacted(item) for key, item in value.items()}
    return value


class RedactingJsonFormatter(JsonFormatter):
    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        plain = json.loads(super().jsonify_log_record(log_data))
        return json.dumps(_redacted(plain), ensure_ascii=self.json_ensure_ascii)
