"""ASGI entry point for daphne: HTTP through Django; websockets join in the dashboard issue."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeops.settings")

application = ProtocolTypeRouter({"http": get_asgi_application()})
