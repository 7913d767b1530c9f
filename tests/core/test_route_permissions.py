"""Every route × every role and anonymous, generated (issue #15: "a new route cannot escape it").

Pages come from the URL resolver (walked from the root URLconf), API operations from the OpenAPI schema of the
one NinjaAPI, the admin site's URLs from the resolver too. Path converters are filled with ids of rows that
exist: the `world` fixture makes one row of every model a route names, all with the id ID.

Expected access is derived from what each route declares:
- a page: `role_required(role)` on its view (apps.core.roles sets `required_role`), else the viewer role that
  LoginRequiredMiddleware demands of every page; `login_not_required` only for the PUBLIC_PAGES allowlist;
- an API operation: the roles of its ninja auth (`auth=OPERATOR` / `ADMIN`), else the API's default (viewer);
  no auth at all only for PUBLIC_OPERATIONS;
- a page that accepts a POST without declaring a role above viewer must be in POST_WITHOUT_ROLE (a write
  any role may make, such as creating one's own API key), so a new write page cannot open itself to viewers
  by forgetting its decorator.

Asserted: anonymous gets the login redirect (pages, admin) or 401 (API), never a 200; a logged-in user
without a role gets 403; a role below the declared one gets 403 (or 405 where the method is refused first)
on every method; a role at or above it is let through (no 401/403); nothing answers 5xx. Each request
runs in a transaction rolled back afterwards, so the writes admins are allowed do not change what the next
request sees. The network is fenced to 127.0.0.1 for the whole test (nothing may reach an exchange or a model).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from ninja.constants import NOT_SET

from apps.ai.models import ModelConfig
from apps.core.api_keys import api_key_create
from apps.core.middleware import ROLELESS_ALLOWED
from apps.core.roles import RANK, Role
from apps.signals.models import Signal
from apps.traders.models import Alert, AlertChannel, ChangeRequest, TradePlan
from tests.audit.helpers import DecisionFactory
from tests.backtests.factories import BacktestRunFactory
from tests.factories import (
    ExchangeAccountFactory,
    MarketFactory,
    NewsSourceFactory,
    RiskProfileFactory,
    TraderFactory,
)
from tests.strategies.factories import StrategyFactory
from tradeops.api import api

pytestmark = pytest.mark.django_db
ID = 4242  # every row a route can name has this id
ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
DENIED = (403, 405)  # refused for the role, or for the method before the role was looked at

# Pages anyone may open without logging in (each view carries login_not_required).
PUBLIC_PAGES = {
    "login": "the login form",
    "favicon": "a redirect to the static icon",
    "metrics": "Prometheus' scrape: its own bearer token (METRICS_TOKEN), 404 while unset",
    "health_live": "the liveness probe: says only ok",
    "health_ready": "the readiness probe: says only which dependency failed",
}
# Pages that take a POST from any role: each writes nothing, or only what is the user's own.
POST_WITHOUT_ROLE = {
    "login": "logging in",
    "logout": "logging out",
    "api_key_new": "a user's own API key, its scopes capped by the user's role",
    "api_key_revoke": "a user's own API key (another's answers 404)",
    "validate": "the strategy editor's live check of a spec; stores nothing",
    "openapi-view": "ninja's API docs page answers any method; writes nothing",
    "openapi-json": "ninja's schema answers any method; writes nothing",
    "favicon": "a redirect to the static icon, for any method",
}
# Routes where a role high enough is still refused (403) by a rule about the row: the world's change request
# was made by the operator fixture, so admins approve it, and only that operator may cancel it.
OWNER_ONLY = {
    "change_request_cancel": "only the requester cancels a change request; an admin rejects it",
    "approvals:cancel": "the same on the approvals page",
}
# API operations without auth: none.
PUBLIC_OPERATIONS: dict[str, str] = {}
# Values for path converters that are not row ids, by (url name, argument).
PATH_VALUES = {
    ("alert_rule_edit", "kind"): Alert.Kind.EXECUTION_FAILED.value,
    ("file", "kind"): "metrics",
    ("order_cancel", "order_id"): "drill-order",
    ("order_cancel_confirm", "order_id"): "drill-order",
    ("detail", "kind"): "plan",  # chains
    ("what_if", "kind"): "decision",
    ("decide", "action"): "approve",  # approvals (a GET asks for confirmation)
    ("dashboard_panel", "name"): "traders",
}


@dataclass(frozen=True)
class Route:
    path: str
    name: str  # url name ("namespace:name" pages), or the operationId (API)
    required: Role | None  # None: public
    kind: str  # "page", "admin" or "api"
    method: str = "get"  # the API operation's method; pages are tried with GET and POST


# --- the routes ------------------------------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, URLPattern, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), pattern, namespace


def _fill(route: str, name: str) -> str:
    """The route with its converters filled: row ids with ID, the others from PATH_VALUES."""

    def value(match: re.Match[str]) -> str:
        converter, argument = match.group(1) or "str", match.group(2)
        if (name, argument) in PATH_VALUES:
            return PATH_VALUES[(name, argument)]
        if converter == "int" or argument == "id" or argument.endswith("_id"):
            return str(ID)  # a row id (the admin site's are strings)
        raise AssertionError(f"{name}: no value for <{converter}:{argument}>; add one to PATH_VALUES")

    # The admin site's regexes: its catch-all, (?P<url>.*), and its app index, (?P<app_label>auth|...): the first.
    route = route.replace("(?P<url>.*)", "no-such-page/")
    route = re.sub(r"\(\?P<\w+>([\w]+)[^)]*\)", r"\1", route).replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def page_routes() -> list[Route]:
    routes = []
    for route, pattern, namespace in _walk(get_resolver().url_patterns):
        if route.startswith("api/v1/") and route not in ("api/v1/docs", "api/v1/openapi.json"):
            continue  # the API's operations come from its schema (test below checks they are the same)
        if route.startswith("admin/"):
            # Viewers read the admin; adding, changing and deleting needs more (which role: test_roles).
            writes = (pattern.name or "").endswith(("_add", "_change", "_delete")) and "password" not in pattern.name
            required = None if pattern.name in ("login", "logout") else Role.OPERATOR if writes else Role.VIEWER
            routes.append(Route(_fill(route, pattern.name or ""), f"admin:{pattern.name}", required, "admin"))
            continue
        view = pattern.callback
        public = getattr(view, "login_required", True) is False
        name = pattern.name or route
        assert not public or name in PUBLIC_PAGES, f"/{route} ({name}) needs no login and is not in PUBLIC_PAGES"
        required = None if public else getattr(view, "required_role", Role.VIEWER)
        qualified = f"{namespace}:{name}" if namespace else name
        routes.append(Route(_fill(route, name), qualified, required, "page"))
    return routes


def _operations() -> dict[str, Any]:
    get_resolver().url_patterns  # noqa: B018  (builds the API's routers and their auth)
    found = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                found[operation.operation_id or api.get_openapi_operation_id(operation)] = operation
    return found


def _operation_role(operation: Any) -> Role | None:
    callbacks = operation.auth_callbacks
    if not callbacks and operation.auth_param is NOT_SET:
        callbacks = api.auth  # the API's default, applied when the operation runs
    roles = {callback.role for callback in callbacks or ()}
    assert len(roles) <= 1, f"{operation.operation_id}: auth with several roles {roles}"
    return roles.pop() if roles else None


def api_routes() -> list[Route]:
    operations = _operations()
    schema = api.get_openapi_schema()
    routes = []
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            operation = operations[spec["operationId"]]
            required = _operation_role(operation)
            assert required is not None or spec["operationId"] in PUBLIC_OPERATIONS, (
                f"{method.upper()} {path} has no auth and is not in PUBLIC_OPERATIONS"
            )
            filled = re.sub(r"\{(\w+)\}", lambda m: "drill-order" if m.group(1) == "order_id" else str(ID), path)
            routes.append(Route(filled, spec["operationId"], required, "api", method))
    return routes


# --- the data the routes name ------------------------------------------------------------------------------


def _renumbered(row: Any) -> Any:
    type(row).objects.filter(pk=row.pk).update(id=ID)
    return type(row).objects.get(pk=ID)


@pytest.fixture
def world(admin_user: Any, operator: Any) -> None:
    """One row of every model a route names, each with id ID; nothing that reaches beyond 127.0.0.1."""
    market = MarketFactory(pk=ID)
    account = ExchangeAccountFactory(pk=ID)  # paper: its adapter never leaves the database
    strategy = _renumbered(StrategyFactory())  # made through its service, which takes no id
    trader = TraderFactory(pk=ID, account=account, risk_profile=RiskProfileFactory(pk=ID), strategy=strategy)
    trader.markets.set([market])
    TradePlan.objects.create(
        pk=ID,
        trader=trader,
        account=account,
        market=market,
        side="buy",
        quantity=Decimal("0.01"),
        reference_price=Decimal(60000),
        live=False,
        risk_report={},
        estimate={},
        expires_at=timezone.now(),
    )
    Signal.objects.create(
        pk=ID,
        strategy=strategy,
        market=market,
        timeframe="1h",
        candle_open_time=timezone.now().replace(minute=0, second=0, microsecond=0),
        direction=Signal.Direction.LONG,
        status=Signal.Status.EMITTED,
        strategy_version=1,
    )
    BacktestRunFactory(pk=ID, market=market)
    DecisionFactory(pk=ID, trader=trader, market=market)
    ModelConfig.objects.create(
        pk=ID,
        name="drill model",
        provider=ModelConfig.Provider.OPENAI_COMPATIBLE,
        model="drill",
        base_url="http://127.0.0.1:8171/v1",  # a closed port of this engineer's range
    )
    Alert.objects.create(pk=ID, kind=Alert.Kind.EXECUTION_FAILED, message="drill", level=Alert.Level.CRITICAL)
    AlertChannel.objects.create(pk=ID, name="drill channel")
    NewsSourceFactory(pk=ID, name="Drill feed", feed_url="http://127.0.0.1:8172/feed")
    ChangeRequest.objects.create(
        pk=ID,
        kind=ChangeRequest.Kind.RISK_RAISE,
        target_type=ChangeRequest.Target.RISK_PROFILE,
        target_id=ID,
        target_name="drill profile",
        changes={},
        requested_by=operator,
    )
    _renumbered(api_key_create(user=admin_user, name="drill key", scope="read", expires_in_days=30).row)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
            raise OSError(f"the permission test fences the network: {host} refused")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _client(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _send(client: Client, method: str, path: str) -> Any:
    """The request, its writes rolled back, the client's session kept (a POST to logout/ ends it otherwise)."""
    cookies = client.cookies
    client.cookies = type(cookies)(cookies)
    with transaction.atomic():
        body = {"content_type": "application/json", "data": {}} if path.startswith("/api/") and method != "get" else {}
        response = getattr(client, method)(path, **body)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


# --- the tests ---------------------------------------------------------------------------------------------


def test_the_api_routes_in_the_resolver_are_the_schemas_operations() -> None:
    """The schema lists every API path the resolver serves and every operation of the API, so generating the
    API's routes from it misses none."""
    schema = api.get_openapi_schema()
    served = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        for route, _pattern, _ns in _walk(get_resolver().url_patterns)
        if route.startswith("api/v1/") and route not in ("api/v1/", "api/v1/docs", "api/v1/openapi.json")
    }
    assert served == set(schema["paths"])
    assert sum(len(methods) for methods in schema["paths"].values()) == len(_operations()) == len(api_routes())


def _check(route: Route, who: str, role: Role | None, method: str, response: Any, failures: list[str]) -> None:
    status = response.status_code
    where = f"{who} {method.upper()} {route.path} ({route.name}, needs {route.required or 'nothing'}): {status}"
    if status >= 500:
        failures.append(f"{where}: a server error")
        return
    if route.required is None:
        return
    if who == "anonymous":
        if route.kind == "api":
            ok = status == 401
        else:
            login = resolve_url(settings.LOGIN_URL) if route.kind == "page" else "/admin/login/"
            ok = status == 302 and response["Location"].startswith(login)
        if not ok:
            failures.append(f"{where}: expected the login ({'401' if route.kind == 'api' else 'redirect'})")
        return
    if role is None:  # logged in, no role: only the pages that say how to get one (logout) let it through
        if status not in DENIED and route.name not in ROLELESS_ALLOWED:
            failures.append(f"{where}: a user without a role must get 403")
        return
    if RANK[role] < RANK[route.required]:
        if status not in DENIED:
            failures.append(f"{where}: expected 403")
    elif status in (401, 403) and not (status == 403 and route.name in OWNER_ONLY):
        failures.append(f"{where}: the role is enough, yet refused")


def test_every_page_for_every_role(world: Any, viewer: Any, operator: Any, admin_user: Any, outsider: Any) -> None:
    people = {"anonymous": (None, None), "outsider": (outsider, None)}
    people |= {role.value: (user, role) for role, user in zip(ROLES, (viewer, operator, admin_user), strict=True)}
    clients = {who: _client(user) for who, (user, _role) in people.items()}
    failures: list[str] = []
    writable_without_role: set[str] = set()
    for route in page_routes():
        for who, (_user, role) in people.items():
            if route.kind == "admin" and who not in ("anonymous", "viewer"):
                continue  # the admin site's own permissions are tested in test_roles; here: nobody gets in unseen
            for method in ("get", "post"):
                wanted = method == "get" if who == "anonymous" else method == "post" and route.required == Role.OPERATOR
                if route.kind == "admin" and not wanted:
                    # The admin site's login for anonymous (a GET shows it, as a POST would); viewers read the
                    # admin (view permissions) and may not POST to its add, change and delete pages.
                    continue
                response = _send(clients[who], method, route.path)
                _check(route, who, role, method, response, failures)
                if (
                    route.kind == "page"
                    and who == "viewer"
                    and method == "post"
                    and response.status_code not in DENIED
                    and route.name.split(":")[-1] not in POST_WITHOUT_ROLE
                ):
                    writable_without_role.add(f"{route.path} ({route.name}): {response.status_code}")
    assert not failures, "\n".join(failures)
    assert not writable_without_role, (
        "pages a viewer may POST to without a declared role (add role_required, or POST_WITHOUT_ROLE with a "
        "reason):\n" + "\n".join(sorted(writable_without_role))
    )


def test_every_api_operation_for_every_role(
    world: Any, viewer: Any, operator: Any, admin_user: Any, outsider: Any
) -> None:
    people = {"anonymous": (None, None), "outsider": (outsider, None)}
    people |= {role.value: (user, role) for role, user in zip(ROLES, (viewer, operator, admin_user), strict=True)}
    clients = {who: _client(user) for who, (user, _role) in people.items()}
    failures: list[str] = []
    for route in api_routes():
        for who, (_user, role) in people.items():
            _check(route, who, role, route.method, _send(clients[who], route.method, route.path), failures)
    assert not failures, "\n".join(failures)


def test_a_viewer_key_cannot_write_through_the_api(world: Any, viewer: Any) -> None:
    """A read-scoped API key (no session) is refused every operation that needs more than a viewer."""
    key = api_key_create(user=viewer, name="reader", scope="read", expires_in_days=30).key
    client = Client(headers={"Authorization": f"Bearer {key}"})
    failures: list[str] = []
    for route in api_routes():
        status = _send(client, route.method, route.path).status_code
        if route.required is not None and RANK[route.required] > RANK[Role.VIEWER] and status != 403:
            failures.append(f"{route.method.upper()} {route.path} ({route.name}): {status}")
        elif route.required == Role.VIEWER and status in (401, 403):
            failures.append(f"{route.method.upper()} {route.path} ({route.name}): a read key refused: {status}")
    assert not failures, "\n".join(failures)


def test_a_new_page_without_a_declared_rule_fails_this_test(settings: Any) -> None:
    """The generator sees a route added anywhere: here one needing no login and not on the allowlist."""
    from django.contrib.auth.decorators import login_not_required
    from django.http import HttpResponse
    from django.urls import path

    import tradeops.urls

    leaky = path("leak/", login_not_required(lambda request: HttpResponse("ok")), name="leak")
    urlconf = type("Urls", (), {"urlpatterns": [*tradeops.urls.urlpatterns, leaky]})
    settings.ROOT_URLCONF = urlconf
    with pytest.raises(AssertionError, match="leak"):
        page_routes()
