"""API rate limits (ninja throttles): per API key, per user, and a stricter one per user on the endpoints
that trade (placing, executing, cancelling or closing orders, starting a trader). A caller over a limit
gets 429 with Retry-After. Rates come from settings.API_RATE_LIMITS, read at each request so that a
change in settings takes effect without a restart of the throttles.

The counts live in the default cache: Redis when REDIS_URL is set, so every web process counts together;
without it, an in-process cache (each process counts its own).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import SimpleRateThrottle

from apps.core.models import ApiKey


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.API_RATE_LIMITS[self.scope]

    def allow_request(self, request: HttpRequest) -> bool:
        if not settings.API_RATE_LIMITS_ENABLED:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def _key(self, ident: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyRateThrottle(SettingsRateThrottle):
    """Each key its own budget (within its owner's): a runaway script hits its key's limit first."""

    scope = "api_key"

    def get_cache_key(self, request: HttpRequest) -> str | None:
        api_key = getattr(request, "auth", None)
        return self._key(api_key.pk) if isinstance(api_key, ApiKey) else None


class UserRateThrottle(SettingsRateThrottle):
    """All of a user's requests, by session and by every key of theirs."""

    scope = "user"

    def get_cache_key(self, request: HttpRequest) -> str | None:
        return self._key(request.user.pk) if request.user.is_authenticated else None


class TradeRateThrottle(UserRateThrottle):
    scope = "trade"


API_THROTTLES = [ApiKeyRateThrottle(), UserRateThrottle()]
TRADE_THROTTLES = [*API_THROTTLES, TradeRateThrottle()]
