"""Safety invariant 1: a secret's clear value (or its ciphertext) never appears in an admin page,
API response, rendered page, log output or exception text, for every model that holds one.

Every test runs once per (model, secret field) pair found in the schema (see owners.py).
"""

from __future__ import annotations

import logging
import traceback
from io import StringIO

import pydantic
import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.core.errors import ServiceValidationError
from apps.core.models import ApiKey
from apps.exchanges.models import ExchangeAccount
from apps.secrets import crypto
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin
from apps.secrets.crypto import SecretDecryptionError
from apps.secrets.models import Secret
from apps.secrets.redaction import REDACTED
from apps.secrets.services import InvalidSecretValue, normalize_secret_value, secret_fields_save, secret_reveal
from tests.secrets.owners import OWNER_CASES, Owned, clear_value, secret_owner_fields

logger = logging.getLogger("tradeops.tests.leaks")


def assert_hidden(owned: Owned, content: bytes | str, *more_values: str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    for needle in (owned.value, owned.ciphertext, *more_values):
        assert needle not in text


def admin_url(model: type[Model] | Model, view: str, *args: object) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def api_url(owned: Owned, view: str, **kwargs: object) -> str:
    return reverse(f"api:{owned.row._meta.model_name}_{view}", kwargs=kwargs)


def test_every_model_holding_a_secret_is_covered() -> None:
    owners = secret_owner_fields()
    assert set(owners) == set(OWNER_CASES), "add an OwnerCase in tests/secrets/owners.py for the new model"
    for model, fields in owners.items():
        # SECRET_FIELDS drives the write-only admin form and the API schemas' secret handling.
        assert fields == model.SECRET_FIELDS, model
        assert isinstance(admin.site._registry[model], WriteOnlySecretsAdminMixin), model


# Admin -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_pages(owned: Owned, superuser_client: Client) -> None:
    row, secret = owned.row, owned.secret
    pages = {
        admin_url(row, "changelist"): row.name,
        admin_url(row, "change", row.pk): secret.fingerprint,
        admin_url(row, "history", row.pk): f"{owned.field} set",
        admin_url(row, "simple_history", row.pk, row.history.latest().history_id): row.name,
        admin_url(Secret, "changelist"): secret.fingerprint,
        admin_url(Secret, "change", secret.pk): secret.fingerprint,
        admin_url(Secret, "history", secret.pk): secret.fingerprint,
        admin_url(Secret, "simple_history", secret.pk, secret.history.latest().history_id): secret.fingerprint,
    }
    for url, expected in pages.items():
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url
        assert_hidden(owned, response.content)


def admin_form_data(response) -> dict[str, object]:
    """What a browser would post back from the admin change form as rendered."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        # `is`, not `in (None, False)`: a Decimal or int 0 equals False and would be left out.
        if value is not None and value is not False:
            data[name] = value
    return data


@pytest.mark.django_db
def test_admin_form_never_echoes_a_value(owned: Owned, superuser_client: Client, superuser) -> None:
    change_url = admin_url(owned.row, "change", owned.row.pk)
    data = admin_form_data(superuser_client.get(change_url))
    new_value = OWNER_CASES[type(owned.row)].value()
    fingerprint = owned.secret.fingerprint

    rejected = {**data, **OWNER_CASES[type(owned.row)].invalid, owned.field: new_value}
    response = superuser_client.post(change_url, rejected)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert_hidden(owned, response.content, new_value)
    owned.secret.refresh_from_db()
    assert owned.secret.fingerprint == fingerprint, "a rejected form stores nothing"

    response = superuser_client.post(change_url, {**data, owned.field: new_value}, follow=True)
    assert response.redirect_chain, response.context["adminform"].form.errors
    assert_hidden(owned, response.content, new_value)
    owned.secret.refresh_from_db()
    assert secret_reveal(secret=owned.secret, purpose="test") == new_value
    record = owned.row.history.latest()
    assert (record.history_change_reason, record.history_user) == (f"{owned.field} replaced", superuser)


# API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_reads(owned: Owned, superuser_client: Client) -> None:
    for url in (api_url(owned, "list"), api_url(owned, "detail", row_id=owned.row.pk)):
        response = superuser_client.get(url)
        assert response.status_code == 200
        assert owned.secret.fingerprint in response.content.decode()
        assert_hidden(owned, response.content)


@pytest.mark.django_db
def test_api_writes(owned: Owned, superuser_client: Client) -> None:
    model = type(owned.row)
    sent = {field: OWNER_CASES[model].value() for field in secret_owner_fields()[model]}
    payload = {**OWNER_CASES[model].api_payload("created-by-api"), **sent}
    response = superuser_client.post(api_url(owned, "create"), payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()[owned.field]["fingerprint"] == crypto.fingerprint(sent[owned.field])
    assert_hidden(owned, response.content, *sent.values())

    replaced = OWNER_CASES[model].value()
    response = superuser_client.patch(
        api_url(owned, "update", row_id=owned.row.pk), {owned.field: replaced}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()[owned.field]["fingerprint"] == crypto.fingerprint(replaced)
    assert_hidden(owned, response.content, replaced)


@pytest.mark.django_db
def test_api_rejections_do_not_echo_the_value(owned: Owned, superuser_client: Client) -> None:
    case = OWNER_CASES[type(owned.row)]
    value = case.value()
    valid = {**case.api_payload("rejected"), owned.field: value}
    missing_name = {key: item for key, item in valid.items() if key != "name"}

    # pydantic's own errors carry the rejected input, for a missing field the whole body. ninja
    # drops `input` and tradeops.api keeps only loc and msg; the answers below hold either way.
    with pytest.raises(pydantic.ValidationError) as raw:
        case.create_in.model_validate(missing_name)
    assert value in str(raw.value.errors())

    create, update = api_url(owned, "create"), api_url(owned, "update", row_id=owned.row.pk)
    attempts = [
        (superuser_client.post, create, {**valid, **case.invalid}),
        (superuser_client.post, create, missing_name),
        (superuser_client.post, create, {**valid, owned.field: {"nested": value}}),
        (superuser_client.patch, update, {**case.invalid, owned.field: value}),
        (superuser_client.patch, update, {owned.field: f"{value}\x07"}),
    ]
    for send, url, body in attempts:
        response = send(url, body, content_type="application/json")
        assert response.status_code == 422, (url, response.content)
        assert_hidden(owned, response.content, value)
    assert not type(owned.row).objects.filter(name="rejected").exists()


# Rendered pages ----------------------------------------------------------------------------


# Logout acts instead of rendering; /favicon.ico redirects to the static icon.
NOT_PAGES = frozenset({"logout", "favicon"})


def page_paths() -> list[str]:
    """Every GET page without URL parameters, outside the admin and the API (tested above)."""
    paths: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(("admin/", "api/")):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not pattern.pattern.regex.groups and pattern.name not in NOT_PAGES:
                paths.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return paths


def test_page_discovery_finds_the_pages() -> None:
    assert {"/", "/exchanges/", "/markets/"} <= set(page_paths())


# /metrics answers its bearer token (pages ignore it), so the scrape is checked like every page.
METRICS_TOKEN = "leak-test-metrics-token-0123456789"
PAGE_HEADERS = (
    {"Authorization": f"Bearer {METRICS_TOKEN}"},
    {"Authorization": f"Bearer {METRICS_TOKEN}", "HX-Request": "true"},
)


@pytest.fixture(autouse=True)
def _metrics_on(settings) -> None:
    settings.METRICS_TOKEN = METRICS_TOKEN


@pytest.mark.django_db
def test_pages(owned: Owned, superuser_client: Client) -> None:
    for path in page_paths():
        for headers in PAGE_HEADERS:
            response = superuser_client.get(path, headers=headers)
            if response.status_code == 405:
                continue  # a POST-only action has no page to leak from
            assert response.status_code == 200, path
            assert_hidden(owned, response.content)
            if path == "/exchanges/" and isinstance(owned.row, ExchangeAccount):
                assert owned.row.name in response.content.decode()


# Logs --------------------------------------------------------------------------------------


@pytest.fixture
def log_output(caplog):
    """Text written by the configured console handler, by a plain handler added later, and caplog."""
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    console = next(handler for handler in root.handlers if handler.name == "console")
    console_stream, added_stream = StringIO(), StringIO()
    added = logging.StreamHandler(added_stream)
    added.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(added)
    previous = console.setStream(console_stream)
    try:
        yield lambda: {"console": console_stream.getvalue(), "added": added_stream.getvalue(), "caplog": caplog.text}
    finally:
        console.setStream(previous)
        root.removeHandler(added)


@pytest.mark.django_db
def test_logs(owned: Owned, log_output) -> None:
    value = secret_reveal(secret=owned.secret, purpose="leak test")
    assert value == owned.value
    logger.error("exchange rejected key %s", value)
    logger.warning("request body: %r", {"apiKey": value})
    logger.info("wrong argument count %s %s", value)
    logging.getLogger("django.request").error("upstream said %s", value)
    try:
        try:
            raise KeyError(value)
        except KeyError as cause:
            raise RuntimeError(f"authentication failed for {value}") from cause
    except RuntimeError:
        logger.exception("order placement failed")

    outputs = log_output()
    for name, text in outputs.items():
        assert_hidden(owned, text)
        assert "order placement failed" in text and REDACTED in text, name
    for name in ("added", "caplog", "console"):
        assert "RuntimeError: authentication failed for [REDACTED]" in outputs[name], name
        assert "KeyError" in outputs[name], "the cause's traceback survives redaction"
    assert "upstream said [REDACTED]" in outputs["console"]


@pytest.mark.django_db
def test_revealing_a_value_is_what_makes_it_redacted(monkeypatch, log_output) -> None:
    # A fresh worker process has stored nothing; only secret_reveal teaches it the value.
    value = clear_value()
    secret = Secret.objects.create(label="stored by another process", ciphertext=crypto.encrypt(value))
    monkeypatch.setattr("apps.secrets.redaction._values", set())

    logger.error("before reveal: %s", value)
    assert f"before reveal: {value}" in log_output()["added"], "nothing is redacted before the reveal"
    secret_reveal(secret=secret, purpose="leak test")
    logger.error("after reveal: %s", value)
    assert "after reveal: [REDACTED]" in log_output()["added"]


@pytest.mark.django_db
def test_an_unhandled_error_in_a_request(owned: Owned, superuser, settings, log_output) -> None:
    settings.ROOT_URLCONF = "tests.secrets.leak_urls"
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(reverse("boom", kwargs={"pk": owned.secret.pk}))
    assert response.status_code == 500
    assert_hidden(owned, response.content)
    console = log_output()["console"]
    assert "RuntimeError: exchange refused the key [REDACTED]" in console
    assert_hidden(owned, console)


# Exception text ----------------------------------------------------------------------------


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


@pytest.mark.django_db
def test_exception_and_object_text(owned: Owned, settings) -> None:
    texts = [str(owned.secret), repr(owned.secret), str(owned.row), repr(owned.row)]
    texts += [str(record) + repr(record) for record in (owned.row.history.latest(), owned.secret.history.latest())]

    with pytest.raises(InvalidSecretValue) as invalid:
        normalize_secret_value(owned.value + "\x00")
    with pytest.raises(ServiceValidationError) as service:
        secret_fields_save(instance=owned.row, values={owned.field: f"{owned.value}\n{owned.value}"})
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError) as undecryptable:
        secret_reveal(secret=owned.secret, purpose="test")

    for raised in (invalid, service, undecryptable):
        texts += exception_texts(raised.value)
    assert "control characters" in str(service.value)
    for text in texts:
        assert_hidden(owned, text)


# API keys (apps.core.api_keys) -------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_key_is_shown_on_no_page_after_its_creation(superuser_client: Client, log_output) -> None:
    created = superuser_client.post(reverse("api_key_new"), {"name": "leak", "scope": "admin", "expires_in_days": 7})
    key = created.context["created"].key
    row = ApiKey.objects.get()
    used = Client().get(reverse("api:trader_list"), headers={"Authorization": f"Bearer {key}"})
    assert used.status_code == 200
    Client().get(reverse("api:trader_list"), headers={"Authorization": f"Bearer {key}x"})  # a refused one too

    paths = [*page_paths(), admin_url(ApiKey, "changelist"), admin_url(ApiKey, "change", row.pk)]
    for path in paths:
        for headers in PAGE_HEADERS:
            response = superuser_client.get(path, headers=headers)
            if response.status_code == 405:
                continue
            assert response.status_code == 200, path
            assert key not in response.content.decode(), path
    for name, text in log_output().items():
        assert key not in text and row.key_hash not in text, name
