from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from hypothesis import HealthCheck, settings

from tests.factories import MarketFactory, TraderFactory
from tests.strategies.factories import StrategyFactory
from tradeops.api import api

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
CSRF = "a" * 32

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_params={}))
schema.app = WSGIHandler()


@pytest.fixture
def admin_headers(db, admin_user):
    MarketFactory()
    TraderFactory()
    StrategyFactory()
    client = Client()
    client.force_login(admin_user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, admin_headers) -> None:
    response = case.call(cookies=admin_headers, headers={"X-CSRFToken": CSRF})
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.text[:500])
