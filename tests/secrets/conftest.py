from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.secrets.owners import Owned, owner_create, pair_id, secret_owner_pairs


@pytest.fixture(autouse=True)
def x_sources_on(settings) -> None:
    """An X news source's bearer token exists only with the flag on: on, so the leak tests cover it."""
    settings.NEWS_X_ENABLED = True


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True)


@pytest.fixture
def superuser_client(client: Client, superuser) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture(params=secret_owner_pairs(), ids=pair_id)
def owned(request: pytest.FixtureRequest, db) -> Owned:
    """One row per (model, secret field) pair, every secret set through the model's service."""
    model, field = request.param
    return owner_create(model, field)
