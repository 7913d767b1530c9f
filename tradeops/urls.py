from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from tradeops.api import api

admin.site.site_header = "TradeOps administration"
admin.site.site_title = "TradeOps"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("markets/", include("apps.market.urls")),
    path("exchanges/", include("apps.exchanges.urls")),
    path("trade/", include("apps.traders.trade_urls")),
    path("strategies/", include("apps.strategies.urls")),
    path("backtests/", include("apps.backtests.urls")),
    path("signals/", include("apps.signals.urls")),
    path("news/", include("apps.news.urls")),
    path("models/", include("apps.ai.urls")),
    path("traders/", include("apps.traders.trader_urls")),
    path("risk/", include("apps.traders.urls")),
    path("approvals/", include("apps.traders.approval_urls")),
    path("logs/", include("apps.audit.urls")),
    path("chains/", include("apps.traders.chain_urls")),
    path("", include("apps.core.urls")),
    path("", include("apps.dashboard.urls")),
    # Browsers ask for /favicon.ico whatever the page links; answer it rather than log a 404.
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
        name="favicon",
    ),
]
