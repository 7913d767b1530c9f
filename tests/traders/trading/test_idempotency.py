"""apps.core.idempotency: one handler run per key, the first answer replayed, races answered 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.core.idempotency import IN_PROGRESS, body_fingerprint, idempotent
from apps.core.models import IdempotentRequest
from tests.factories import UserFactory

SCOPE = "test.scope"


class Handler:
    def __init__(self, *answers: tuple[int, object]):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> tuple[int, object]:
        self.calls += 1
        return self.answers.pop(0)


def call(user, key, body, handler):
    return idempotent(user=user, scope=SCOPE, key=key, body=body, handler=handler)


@pytest.mark.django_db
def test_without_a_key_the_handler_always_runs(operator) -> None:
    handler = Handler((200, {"n": 1}), (200, {"n": 2}))
    assert call(operator, None, {"a": 1}, handler) == (200, {"n": 1})
    assert call(operator, None, {"a": 1}, handler) == (200, {"n": 2})
    assert not IdempotentRequest.objects.exists()


@pytest.mark.django_db
def test_the_first_answer_is_stored_and_replayed(operator) -> None:
    handler = Handler((201, {"id": 7}))
    assert call(operator, "k1", {"a": 1, "b": [1, 2]}, handler) == (201, {"id": 7})
    # Key order does not make a different body.
    assert call(operator, "k1", {"b": [1, 2], "a": 1}, handler) == (201, {"id": 7})
    assert handler.calls == 1
    record = IdempotentRequest.objects.get()
    assert (record.scope, record.key, record.status_code, record.response) == (SCOPE, "k1", 201, {"id": 7})
    assert record.fingerprint == body_fingerprint({"a": 1, "b": [1, 2]}) and len(record.fingerprint) == 64


@pytest.mark.django_db
def test_same_key_different_body_is_422_naming_the_header(operator) -> None:
    handler = Handler((200, {}))
    call(operator, "k1", {"a": 1}, handler)
    status, payload = call(operator, "k1", {"a": 2}, handler)
    assert status == 422 and payload["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert handler.calls == 1


@pytest.mark.django_db
def test_keys_belong_to_a_user_and_a_scope(operator, admin_user) -> None:
    handler = Handler((200, {"who": "op"}), (200, {"who": "admin"}), (200, {"who": "other scope"}))
    assert call(operator, "k", {}, handler)[1] == {"who": "op"}
    assert call(admin_user, "k", {}, handler)[1] == {"who": "admin"}
    assert idempotent(user=operator, scope="other", key="k", body={}, handler=handler)[1] == {"who": "other scope"}
    assert IdempotentRequest.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 101, "new\nline", "caf\u00e9"])
def test_bad_keys_are_422(operator, key) -> None:
    handler = Handler()
    status, payload = call(operator, key, {}, handler)
    assert status == 422 and payload["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert handler.calls == 0 and not IdempotentRequest.objects.exists()


@pytest.mark.django_db
def test_a_key_in_progress_answers_409(operator) -> None:
    IdempotentRequest.objects.create(user=operator, scope=SCOPE, key="k", fingerprint=body_fingerprint({}))
    handler = Handler()
    assert call(operator, "k", {}, handler) == (409, {"detail": IN_PROGRESS})
    assert handler.calls == 0


@pytest.mark.django_db
def test_server_errors_and_exceptions_release_the_key(operator) -> None:
    handler = Handler((503, {"detail": "exchange down"}), (200, {"ok": True}))
    assert call(operator, "k", {}, handler)[0] == 503
    assert not IdempotentRequest.objects.exists()

    def boom():
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        call(operator, "k", {}, boom)
    assert not IdempotentRequest.objects.exists()
    assert call(operator, "k", {}, handler) == (200, {"ok": True})
    assert IdempotentRequest.objects.get().status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_while_the_first_runs() -> None:
    """Two threads, each with its own database connection: the second finds the committed
    reservation of the first, whose handler is still running, and does not run its own."""
    user = UserFactory(role="operator")
    started, finish = threading.Event(), threading.Event()
    calls: list[str] = []
    results: dict[str, tuple[int, object]] = {}

    def slow() -> tuple[int, object]:
        calls.append("first")
        started.set()
        assert finish.wait(10)
        return 200, {"done": True}

    def first() -> None:
        try:
            results["first"] = call(user, "race", {"x": 1}, slow)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(10)
        second = threading.Thread(
            target=lambda: results.__setitem__("second", _in_thread(user, "race", {"x": 1}, calls))
        )
        second.start()
        second.join(10)
    finally:
        finish.set()
        thread.join(10)
    assert results["second"] == (409, {"detail": IN_PROGRESS})
    assert results["first"] == (200, {"done": True})
    assert calls == ["first"]
    # Once the first has finished, a repeat gets its answer.
    assert call(user, "race", {"x": 1}, lambda: (500, {})) == (200, {"done": True})


def _in_thread(user, key, body, calls):
    try:
        return call(user, key, body, lambda: (calls.append("second"), (200, {"done": "twice"}))[1])
    finally:
        connection.close()
