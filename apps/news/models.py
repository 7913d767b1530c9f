"""News feeds and the headlines they bring. A story is stored once, whichever feeds carry it
(apps.news.services explains the dedup); the assets a story mentions are rows of NewsMention, so
that every database filters and counts them the same way."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.secrets.models import Secret

DEFAULT_POLL_MINUTES = 15
X_QUERY_MAX_CHARS = 4096  # X's longest recent-search query (Pro); lower tiers refuse longer ones with a 400


class NewsSource(models.Model):
    """A feed to poll: an RSS or Atom URL, or (with NEWS_X_ENABLED) an X recent-search query."""

    class Kind(models.TextChoices):
        RSS = "rss", "RSS or Atom feed"
        X_RECENT_SEARCH = "x_recent_search", "X recent search"

    SECRET_FIELDS = ("bearer_token",)

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RSS)
    feed_url = models.URLField(max_length=500, blank=True, help_text="RSS: the feed's URL (unique).")
    query = models.CharField(
        max_length=X_QUERY_MAX_CHARS,
        blank=True,
        help_text='X: the recent-search query, e.g. "(bitcoin OR BTC) lang:en -is:retweet".',
    )
    bearer_token = models.OneToOneField(
        Secret, verbose_name="bearer token", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enabled = models.BooleanField(default=False, help_text="Only enabled sources are polled.")
    poll_interval_minutes = models.PositiveIntegerField(default=DEFAULT_POLL_MINUTES)
    last_fetched_at = models.DateTimeField(null=True, blank=True, help_text="The last poll that got an answer.")
    last_error = models.CharField(max_length=500, blank=True, help_text="Why the last poll failed, else empty.")
    etag = models.CharField(max_length=300, blank=True, help_text="Sent back as If-None-Match.")
    last_modified = models.CharField(max_length=100, blank=True, help_text="Sent back as If-Modified-Since.")
    since_id = models.CharField(
        max_length=30, blank=True, help_text="X: the newest post seen; the next search asks only for newer ones."
    )
    rate_limited_until = models.DateTimeField(
        null=True, blank=True, help_text="X: rate limited, so not polled before this time (UTC)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed a source (its query, its token: the token's fingerprint is on the Secret's history).
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(poll_interval_minutes__gte=1), name="newssource_poll_interval_positive"),
            models.CheckConstraint(
                condition=(Q(kind="rss") & ~Q(feed_url="")) | (Q(kind="x_recent_search") & ~Q(query="")),
                name="newssource_kind_has_its_target",
                violation_error_message="An RSS source needs its feed URL; an X source needs its query.",
            ),
            models.UniqueConstraint(
                fields=["feed_url"],
                condition=~Q(feed_url=""),
                name="newssource_unique_feed_url",
                violation_error_message="This feed URL is already a source.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def forget_answers(self) -> None:
        """For another feed URL or query: what the old one answered (validators, since_id) means nothing to it."""
        self.etag = self.last_modified = self.since_id = ""


class NewsItem(models.Model):
    source = models.ForeignKey(NewsSource, on_delete=models.PROTECT, related_name="items")
    guid = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=1000, blank=True, help_text="Normalised: no tracking parameters, no fragment.")
    title = models.CharField(max_length=500)
    title_key = models.CharField(max_length=500, db_index=True, help_text="The title normalised, for dedup.")
    summary = models.TextField(blank=True)
    published_at = models.DateTimeField(db_index=True, help_text="UTC; the fetch time when the feed gives none.")
    fetched_at = models.DateTimeField()
    dedup_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["source", "guid"], name="newsitem_source_guid"),
            models.Index(fields=["url"], name="newsitem_url"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def assets(self) -> list[str]:
        """The tickers the item mentions, sorted (prefetch `mentions` to read them without a query each)."""
        return sorted(mention.asset for mention in self.mentions.all())

    @property
    def sentiment(self) -> NewsSentiment | None:
        """The newest score by the analyzer the settings choose, for the pages; None when unscored or
        when the list did not prefetch them (apps.news.selectors.news_item_list does)."""
        rows = getattr(self, "current_sentiments", None)
        return rows[0] if rows else None


class NewsMention(models.Model):
    """One asset a news item mentions, by ticker (BTC, ETH)."""

    item = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="mentions")
    asset = models.CharField(max_length=20, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "asset"], name="newsmention_unique_item_asset")]

    def __str__(self) -> str:
        return f"{self.asset} in {self.item_id}"


class NewsSentiment(models.Model):
    """One analyzer version's score of one item, computed once: a new version scores the item again."""

    class Label(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    item = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="sentiments")
    analyzer = models.CharField(max_length=40, help_text="lexicon, vader or llama_cpp.")
    version = models.CharField(max_length=200, help_text="Changes whenever the analyzer's scores could.")
    label = models.CharField(max_length=10, choices=Label.choices)
    score = models.FloatField(help_text="From -1 (negative) to 1 (positive).")
    confidence = models.FloatField(help_text="From 0 to 1.")
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "analyzer", "version"], name="newssentiment_once_per_version"),
            models.CheckConstraint(condition=Q(score__gte=-1, score__lte=1), name="newssentiment_score_range"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="newssentiment_confidence_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.score:+.2f}) by {self.analyzer} for {self.item_id}"
