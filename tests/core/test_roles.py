"""Roles are enforced in views and the API: one user of each role, an outsider, anonymous."""

from __future__ import annotations

import pytest
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

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


def test_a_user_without_role_is_told_what_to_do_and_not_sent_to_another_403(outsider) -> None:
    page = client_for(outsider).get("/markets/").content.decode()

    assert "Your account has no role yet. Ask an admin to add you to viewer, operator or admin." in page
    assert f'action="{reverse("logout")}"' in page
    assert f'href="{reverse("home")}"' not in page  # the overview would answer 403 again
    assert f'href="{reverse("market:coverage")}"' not in page  # nor any other page in the menu


def test_a_user_whose_role_is_too_low_is_sent_back_to_the_overview(viewer) -> None:
    page = client_for(viewer).post(reverse("traders:kill_switch_engage"), {"reason": "x"}).content.decode()

    assert "This needs the operator role." in page and f'href="{reverse("home")}"' in page


@pytest.mark.parametrize("user_fixture", [None, "outsider", "viewer"])
def test_the_favicon_answers_for_everyone(request, user_fixture) -> None:
    client = client_for(request.getfixturevalue(user_fixture) if user_fixture else None)

    response = client.get("/favicon.ico")

    assert response.status_code == 301 and response["Location"] == static("favicon.svg")
    assert client.get(response["Location"]).status_code == 200
    assert f'<link rel="icon" href="{static("favicon.svg")}"' in Client().get(reverse("login")).content.decode()
