"""Run the web server (daphne) and the worker (django-q2 qcluster) together, and the market data streamer
(stream_market_data) when STREAM_MARKET_DATA is on; Ctrl-C stops them all.

They share one Prometheus metrics directory (PROMETHEUS_MULTIPROC_DIR, var/prometheus unless set), emptied
at start, so /metrics reports the worker's counters beside the web's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.prometheus import MULTIPROC_ENV, multiproc_dir_reset

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 15
LABELS = {"web": "web server", "worker": "worker", "streamer": "market data streamer"}


class Command(BaseCommand):
    help = (
        "Start daphne and the qcluster worker (and the market data streamer when STREAM_MARKET_DATA is on); "
        "stop them all on Ctrl-C or when one exits."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        commands = child_commands(host=host, port=port)
        env = child_environment()
        # Own sessions: a terminal's Ctrl-C reaches only this supervisor, which then stops the
        # children with SIGTERM (daphne takes ~10 s to act on SIGINT, ~2 s on SIGTERM).
        processes = {name: subprocess.Popen(argv, start_new_session=True, env=env) for name, argv in commands.items()}
        stopping = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write(self.style.SUCCESS(f"TradeOps is running at http://{host}:{port}/ (Ctrl-C stops it)"))
        exited = None
        while not stopping and exited is None:
            time.sleep(POLL_SECONDS)
            exited = next((name for name, process in processes.items() if process.poll() is not None), None)
        if exited:
            self.stderr.write(f"The {exited} process exited (code {processes[exited].returncode}); stopping the rest.")
        self._stop(processes)
        if exited:
            raise SystemExit(1)

    def _stop(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} process did not stop in time; killing it.")
                process.kill()
                process.wait()
        self.stdout.write(f"Stopped {_listing([LABELS[name] for name in processes])}.")


def child_commands(*, host: str, port: int) -> dict[str, list[str]]:
    """The child processes serve runs, by name."""
    manage = str(settings.BASE_DIR / "manage.py")
    commands = {
        "web": [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "tradeops.asgi:application"],
        "worker": [sys.executable, manage, "qcluster"],
    }
    if settings.STREAM_MARKET_DATA:
        commands["streamer"] = [sys.executable, manage, "stream_market_data"]
    return commands


def child_environment() -> dict[str, str]:
    """This process's environment plus the metrics directory the children share, emptied now."""
    metrics_dir = os.environ.get(MULTIPROC_ENV) or str(settings.BASE_DIR / "var" / "prometheus")
    multiproc_dir_reset(metrics_dir)
    return {**os.environ, MULTIPROC_ENV: metrics_dir}


def _listing(names: list[str]) -> str:
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"
