"""Prometheus metrics (README "Metrics and health"): the collectors other code increments, and the scrape.

Multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set (`manage.py serve` and docker-compose set it and empty
it at start), every web and worker process writes its counters to files there, and a scrape of any web
process reports the sum over all of them. Files are named by host and process id (not the pid alone):
containers sharing the directory all run as pid 1.

What the database already knows (heartbeats, orders by status, equity) is read at scrape time by
collectors other apps register with `scrape_collector_register` (bounded queries), so no process has
to keep a gauge in step with a table.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
logger = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiproc_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def multiproc_dir_reset(path: str) -> None:
    """Create the metrics directory, or empty it of the files of processes from an earlier start."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink(missing_ok=True)


# Read once: prometheus_client asks for the identifier at every update (to notice a fork).
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())


def process_identifier() -> str:
    """Names this process's metric files: unique across the hosts and containers sharing the directory."""
    return f"{_HOST}-{os.getpid()}"


if multiproc_dir():
    # Any process may be the first to start (a management command before `serve`, a worker before the web).
    Path(multiproc_dir()).mkdir(parents=True, exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
    # A restarted container runs as the same host and pid: its predecessor's "live" gauges (websocket
    # clients) must not count. Counters stay, so totals never go backwards.
    multiprocess.mark_process_dead(process_identifier())

# Metrics live in their own registry: the scrape builds its answer from it (one process) or from the
# files (multiprocess), never from prometheus_client's global registry that libraries may fill.
REGISTRY = CollectorRegistry(auto_describe=True)

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

CYCLES = Counter(
    "tradeops_trader_cycles",
    "Trader cycles run by a worker, by trader and outcome (ran, failed, skipped).",
    ["trader", "outcome"],
    registry=REGISTRY,
)
CYCLE_SECONDS = Histogram(
    "tradeops_trader_cycle_seconds",
    "How long one trader cycle took, by trader.",
    ["trader"],
    buckets=CYCLE_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "tradeops_errors",
    "Errors by source: a failed cycle, a failed model call, a failed background task.",
    ["source"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "tradeops_llm_tokens",
    "Model tokens used, by model config and direction (input, output).",
    ["model", "direction"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "tradeops_llm_cost",
    "Model cost in the model config's price currency, by model config.",
    ["model"],
    registry=REGISTRY,
)
TASKS = Counter(
    "tradeops_tasks",
    "Background (django-q2) tasks finished, by task function and outcome (success, failure).",
    ["task", "outcome"],
    registry=REGISTRY,
)
WEBSOCKET_CLIENTS = Gauge(
    "tradeops_websocket_clients",
    "Browsers connected to the live event websocket, over every web process that is running.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


@dataclass
class CycleObservation:
    outcome: str = "failed"


@contextmanager
def cycle_observed(*, trader_id: int) -> Iterator[CycleObservation]:
    """Times a trader cycle and counts it under the outcome the caller sets ("failed" if it raised)."""
    observation = CycleObservation()
    started = perf_counter()
    try:
        yield observation
    finally:
        trader = str(trader_id)
        CYCLE_SECONDS.labels(trader=trader).observe(perf_counter() - started)
        CYCLES.labels(trader=trader, outcome=observation.outcome).inc()
        if observation.outcome == "failed":
            ERRORS.labels(source="cycle").inc()


def task_finished(sender: object, task: dict, **_kwargs: object) -> None:
    """django-q2's post_execute (connected in CoreConfig.ready): one count per finished task."""
    success = bool(task.get("success"))
    func = task.get("func", "?")
    name = func if isinstance(func, str) else f"{func.__module__}.{getattr(func, '__qualname__', '?')}"
    TASKS.labels(task=name[:100], outcome="success" if success else "failure").inc()
    if not success:
        ERRORS.labels(source="task").inc()


# --- the scrape ----------------------------------------------------------------------------------------

_scrape_collectors: list[Collector] = []


def scrape_collector_register(collector: Collector) -> None:
    """Add a collector that reads its figures when scraped (apps register theirs in AppConfig.ready)."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


class _OwnProcess(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class QueueCollector(Collector):
    """django-q2: tasks waiting in the broker, and the worker clusters alive (their 3 s heartbeat)."""

    def collect(self) -> Iterable[Metric]:
        from django_q.brokers import get_broker
        from django_q.status import Stat

        broker = get_broker()
        depth = GaugeMetricFamily("tradeops_queue_depth", "Tasks waiting in the django-q2 queue.")
        depth.add_metric([], broker.queue_size())
        yield depth
        clusters = GaugeMetricFamily("tradeops_worker_clusters", "django-q2 worker clusters with a live heartbeat.")
        clusters.add_metric([], len(Stat.get_all(broker=broker)))
        yield clusters


class _Guarded(Collector):
    """Runs the scrape-time collectors one by one: one that fails (the database down) is left out and
    reported as tradeops_scrape_collector_up 0, and the rest of the scrape still answers."""

    def __init__(self, collectors: list[Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "tradeops_scrape_collector_up", "1: the scrape-time collector answered; 0: it failed.", labels=["collector"]
        )
        for collector in self.collectors:
            try:
                metrics = list(collector.collect())
            except Exception:
                logger.exception("metrics collector %s failed", type(collector).__name__)
                up.add_metric([type(collector).__name__], 0)
                continue
            up.add_metric([type(collector).__name__], 1)
            yield from metrics
        yield up


def scrape() -> bytes:
    """The text exposition of every metric: all processes' (multiprocess) or this one's, and the
    scrape-time collectors'."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiproc_dir()
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_OwnProcess())
    registry.register(_Guarded([QueueCollector(), *_scrape_collectors]))
    return generate_latest(registry)
