"""Idempotency-Key handling for API writes: the first answer to a key is stored and replayed.

A client that does not know whether its request arrived (a timeout, a dropped connection) sends it
again with the same key and gets the first answer back; the handler runs at most once per key.

The reservation row is inserted, in its own short transaction, before the handler runs: the unique
constraint (user, scope, key) makes a concurrent duplicate fail its insert instead of running the
handler a second time. That duplicate then finds the row without a status code and answers 409.
Callers must not wrap this in an outer transaction (the reservation would not be visible to the
concurrent request until the outer transaction commits).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from apps.core.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 100
IN_PROGRESS = f"a request with this {HEADER} is in progress"
# Answers worth another try (the exchange was down, a bug): not stored, so a retry with the same key runs again.
STORE_BELOW_STATUS = 500

Answer = tuple[int, Any]


def body_fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON, so key order and spacing do not make two bodies differ."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def key_error(key: str) -> str | None:
    """Why `key` is not a usable key, or None: 1-100 printable ASCII characters."""
    if not 1 <= len(key) <= KEY_MAX_LENGTH:
        return f"must be 1 to {KEY_MAX_LENGTH} characters long"
    if any(not " " <= char <= "~" for char in key):
        return "must be printable ASCII characters"
    return None


def header_error(message: str) -> Answer:
    return 422, {"detail": [{"loc": ["header", HEADER], "msg": message}]}


def _reserve(user: AbstractBaseUser, scope: str, key: str, fingerprint: str) -> IdempotentRequest | None:
    """The new reservation, or None when the key was already taken."""
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(user=user, scope=scope, key=key, fingerprint=fingerprint)
    except IntegrityError:
        return None


def idempotent(
    *, user: AbstractBaseUser, scope: str, key: str | None, body: Any, handler: Callable[[], Answer]
) -> Answer:
    """Run `handler` (which returns a status code and a JSON-ready payload) at most once per key.

    No key: the handler simply runs. A key seen before with the same body: the stored answer. With a
    different body: 422 naming the header. Still running elsewhere: 409. The handler should turn the
    errors it expects into answers; an exception it raises releases the key and propagates.
    """
    if key is None:
        return handler()
    problem = key_error(key)
    if problem:
        return header_error(problem)
    fingerprint = body_fingerprint(body)
    # Twice at most: the row a failed insert collided with may be released (deleted) before it is read.
    for _attempt in range(2):
        record = _reserve(user, scope, key, fingerprint)
        if record is not None:
            break
        existing = IdempotentRequest.objects.filter(user=user, scope=scope, key=key).first()
        if existing is None:
            continue
        if existing.fingerprint != fingerprint:
            return header_error("this key was already used with a different request body")
        if existing.status_code is None:
            return 409, {"detail": IN_PROGRESS}
        return existing.status_code, existing.response
    else:
        return 409, {"detail": IN_PROGRESS}

    try:
        status, payload = handler()
    except BaseException:
        record.delete()
        raise
    if status >= STORE_BELOW_STATUS:
        record.delete()
    else:
        record.status_code, record.response = status, payload
        record.save(update_fields=["status_code", "response"])
    return status, payload
