"""Roles are enforced in views and the API: one user of each role, an outsider, anonymous."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db

NEW_ACCOUNT = {"name": "Gate main", "exchange": "gate", "mode": "paper"}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/exchanges/", "/markets/"])
def test_pages_redirect_anonymous_to_login(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/", "/exchanges/", "/markets/"])
def test_pages_refuse_a_user_without_role(outsider, path: str) -> None:
    response = client_for(outsider).get(path)
    assert response.status_code == 403
    assert b"no role" in response.content


@pytest.mark.parametrize("role_fixture", ["viewer", "operator", "admin_user"])
@pytest.mark.parametrize("path", ["/", "/exchanges/", "/markets/"])
def test_pages_open_for_every_role(request, role_fixture: str, path: str) -> None:
    assert client_for(request.getfixturevalue(role_fixture)).get(path).status_code == 200


def test_login_page_is_public_and_logs_in(viewer) -> None:
    client = Client()
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": viewer.username, "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_api_answers_401_without_login() -> None:
    response = Client().get("/api/v1/exchange-accounts")
    assert response.status_code == 401


def test_api_answers_403_to_a_user_without_role(outsider) -> None:
    response = client_for(outsider).get("/api/v1/exchange-accounts")
    assert response.status_code == 403
    assert "no role" in response.json()["detail"]


@pytest.mark.parametrize(
    ("role_fixture", "read", "write"),
    [("viewer", 200, 403), ("operator", 200, 403), ("admin_user", 200, 201)],
)
def test_api_reads_for_all_roles_writes_for_admins(request, role_fixture: str, read: int, write: int) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get("/api/v1/exchange-accounts").status_code == read
    assert client.get("/api/v1/model-configs").status_code == read
    response = client.post("/api/v1/exchange-accounts", NEW_ACCOUNT, content_type="application/json")
    assert response.status_code == write
    assert ExchangeAccount.objects.filter(name="Gate main").exists() == (write == 201)


def test_api_writes_need_a_csrf_token(admin_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/api/v1/exchange-accounts", NEW_ACCOUNT, content_type="application/json")
    assert response.status_code == 403
    assert not ExchangeAccount.objects.exists()


@pytest.mark.parametrize(("role_fixture", "can_change"), [("viewer", False), ("operator", False), ("admin_user", True)])
def test_admin_site_lets_only_admins_change_accounts(request, role_fixture: str, can_change: bool) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get("/admin/exchanges/exchangeaccount/").status_code == 200
    add_page = client.get("/admin/exchanges/exchangeaccount/add/")
    assert (add_page.status_code == 200) == can_change


def test_api_docs_need_login(viewer) -> None:
    assert Client().get("/api/v1/docs").status_code == 302
    assert client_for(viewer).get("/api/v1/docs").status_code == 200
