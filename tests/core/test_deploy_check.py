"""`manage.py check --deploy` is clean with the production settings docker-compose.yml gives the web (README
"Metrics and health"), and the same check catches a deployment without HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from django.conf import settings

from tradeops import keygen


def compose_web_environment() -> dict[str, str]:
    """The web service's environment from docker-compose.yml, its ${VAR:-default}s at their defaults."""
    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    environment = compose["services"]["web"]["environment"]
    result = {}
    for name, value in environment.items():
        text = str(value)
        while "${" in text:
            start = text.index("${")
            end = text.index("}", start)
            default = text[start + 2 : end].partition(":-")[2]
            text = text[:start] + default + text[end + 1 :]
        result[name] = text
    return result


def deploy_check(tmp_path, **overrides: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **compose_web_environment(),
        "DJANGO_SETTINGS_MODULE": "tradeops.settings",
        # This machine's database stands in for the compose network's (the check never connects to it).
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "DJANGO_SECRET_KEY": keygen.new_secret_key(),
        "FIELD_ENCRYPTION_KEY": keygen.new_field_encryption_key(),
        "ALLOWED_HOSTS": "trade.example.com",
        "HTTPS": "true",
        "METRICS_TOKEN": "a-long-random-metrics-token-0123456789",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **overrides,
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_settings_pass_the_deploy_check(tmp_path) -> None:
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "warnings"),
    [
        ({"HTTPS": "false"}, ["security.W004", "security.W008", "security.W012", "security.W016"]),
        ({"HTTPS": "true", "SECURE_HSTS_SECONDS": "0"}, ["security.W004"]),
    ],
)
def test_the_deploy_check_catches_a_deployment_without_https(tmp_path, overrides, warnings) -> None:
    result = deploy_check(tmp_path, **overrides)
    assert result.returncode != 0
    for warning in warnings:
        assert warning in result.stderr + result.stdout


PROBE = """
from django.test import Client
client = Client()
for path in ("/health/live", "/metrics", "/login/"):
    print(path, client.get(path, HTTP_HOST="127.0.0.1").status_code)
"""


def test_with_https_on_probes_and_prometheus_are_not_redirected_but_pages_are(tmp_path) -> None:
    """docker-compose's healthcheck and Prometheus speak plain HTTP inside the network."""
    env = {
        **os.environ,
        **compose_web_environment(),
        "DJANGO_SETTINGS_MODULE": "tradeops.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "DJANGO_SECRET_KEY": keygen.new_secret_key(),
        "FIELD_ENCRYPTION_KEY": keygen.new_field_encryption_key(),
        "HTTPS": "true",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answers = [line for line in result.stdout.splitlines() if line.startswith("/")]
    assert answers == ["/health/live 200", "/metrics 404", "/login/ 301"]
