"""Settings for pytest: fresh random keys per run (never the developer's .env), synchronous
django-q2, fast password hashing. DATABASE_URL and REDIS_URL still choose the services."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet

os.environ.setdefault("DJANGO_SECRET_KEY", "test-" + Fernet.generate_key().decode() + Fernet.generate_key().decode())
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
os.environ.setdefault("DEBUG", "false")

from tradeops.settings import *  # noqa: F403
from tradeops.settings import CACHES, Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# Per-process and emptied per test (tests/conftest.py), never the developer's var/ cache.
CACHES = {**CACHES, "market": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "market"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run without collectstatic; autorefresh serves files straight from the finders.
WHITENOISE_AUTOREFRESH = True
# The suite sends many API requests as one user (the schemathesis test, hundreds); tests of the limits
# set low rates themselves (tests/core/test_throttles.py).
API_RATE_LIMITS = {scope: "100000/min" for scope in ("api_key", "user", "trade")}
# On SQLite the test database is a file, not memory: browser tests run a real daphne (tests/e2e/conftest.py,
# daphne_server) and other processes (a worker, `manage.py shell`) against the same database.
from tradeops.settings import BASE_DIR, DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-tradeops.sqlite3")}
