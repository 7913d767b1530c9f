"""What `make run` relies on: serve starts web server and worker together and stops both;
ensure_admin prints a password once; the compose file describes the scale-out layout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def scraped_task_count(url: str, token: str) -> float:
    """The worker's finished-task count, as the web process's /metrics reports it (0 until there is one)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tradeops_tasks_total"
    )


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    """...and they report their metrics together, and worker_health sees the worker while it runs."""
    token = "serve-test-metrics-token-0123456789"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradeops.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "METRICS_TOKEN": token,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    port = free_port()
    serve = subprocess.Popen(
        [*manage, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/login/", timeout=60) == 200
        time.sleep(2)  # let the worker finish booting so the stop below exercises a live cluster
        children = subprocess.run(["pgrep", "-P", str(serve.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 2, "serve should run exactly a web server and a worker"
        assert wait_for_http(f"http://127.0.0.1:{port}/health/ready", timeout=10) == 200
        health = subprocess.run([*manage, "worker_health"], env=env, capture_output=True, text=True, timeout=60)
        assert health.returncode == 0, health.stderr
        # The worker reconciles at start (a task): its count, written by the worker, is scraped from the web.
        deadline = time.monotonic() + 60
        while scraped_task_count(f"http://127.0.0.1:{port}/metrics", token) < 1:
            assert time.monotonic() < deadline, "the worker's task never showed in the web's /metrics"
            time.sleep(1)
        serve.send_signal(signal.SIGINT)
        output, _ = serve.communicate(timeout=40)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert serve.returncode == 0, output
    assert f"running at http://127.0.0.1:{port}/" in output
    assert "Stopped web server and worker." in output
    assert "did not stop in time" not in output
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    time.sleep(3.5)  # the cluster's last heartbeat expires
    health = subprocess.run([*manage, "worker_health"], env=env, capture_output=True, text=True, timeout=60)
    assert health.returncode == 1
    assert "no worker cluster on host" in health.stderr


@pytest.mark.django_db
def test_ensure_admin_prints_the_password_once(capsys) -> None:
    call_command("ensure_admin")
    first = capsys.readouterr().out
    password = first.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    assert password not in capsys.readouterr().out


def test_compose_file_describes_the_scale_out_layout() -> None:
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker"} <= set(services)
    for name in ("web", "worker", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert environment["DEBUG"] == "false"
    assert "daphne" in services["web"]["command"]
    assert services["worker"]["command"][-1] == "qcluster"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    text = (BASE_DIR / "docker-compose.yml").read_text()
    assert "DJANGO_SECRET_KEY" not in text and "FIELD_ENCRYPTION_KEY" not in text


def test_compose_runs_one_market_data_streamer_from_the_same_image() -> None:
    services = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]
    streamer = services["streamer"]
    assert streamer["command"] == ["python", "manage.py", "stream_market_data"]
    assert streamer["image"] == services["worker"]["image"]
    assert streamer["restart"] == "unless-stopped"
    assert streamer["environment"]["DATABASE_URL"].startswith("postgres://")
    assert streamer["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("enabled", [False, True])
def test_serve_starts_the_streamer_only_when_stream_market_data_is_on(settings, enabled: bool) -> None:
    from apps.core.management.commands.serve import child_commands

    settings.STREAM_MARKET_DATA = enabled
    commands = child_commands(host="127.0.0.1", port=8000)
    assert set(commands) == ({"web", "worker", "streamer"} if enabled else {"web", "worker"})
    if enabled:
        assert commands["streamer"][-1] == "stream_market_data"
