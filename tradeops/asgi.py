"""ASGI entry point for daphne: HTTP through Django, and the `/ws/live/` websocket (apps.dashboard.consumers)
for logged-in users (session auth) from this site's own pages (the Origin must be an allowed host)."""

from __future__ import annotations

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeops.settings")
http_application = get_asgi_application()  # sets Django up before the consumers' imports

from apps.dashboard.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
