"""The rolling news sentiment of an asset at given moments (pure; no Django).

At each moment (a candle's close) the sentiment is the mean score of the last `window` scored items
published strictly before that moment and no older than `max_age_ms`; NaN (missing, not neutral)
when there is none. An item published at or after the moment never counts, so a backtest reads
only what a trader deciding at that close could have read.

Vectorised: two binary searches per moment find its items, then each moment's own items are summed
(not a difference of running totals: those would carry rounding from every earlier item, so the same
close could read 1e-17 instead of 0 depending on where a query started, and `sentiment > 0` flip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Bounds the (moments x window) block summed at once.
CHUNK_CELLS = 1 << 20


@dataclass(frozen=True)
class RollingSentiment:
    """Per moment: the mean score (NaN when no item counts) and how many items it averages."""

    values: np.ndarray  # float64
    counts: np.ndarray  # int64


def rolling_sentiment(
    published_ms: np.ndarray, scores: np.ndarray, moments_ms: np.ndarray, *, window: int, max_age_ms: int
) -> RollingSentiment:
    """`published_ms` sorted ascending (ties in a fixed order: the later one counts as the newer),
    `scores` aligned to it; `moments_ms` in any order."""
    if window < 1:
        raise ValueError(f"window {window} must be at least 1 item")
    if max_age_ms <= 0:
        raise ValueError(f"max age {max_age_ms} ms must be positive")
    published = np.asarray(published_ms, dtype=np.int64)
    values = np.asarray(scores, dtype=np.float64)
    moments = np.asarray(moments_ms, dtype=np.int64)
    if published.shape != values.shape:
        raise ValueError(f"{len(published)} publish times but {len(values)} scores")
    if len(published) > 1 and np.any(np.diff(published) < 0):
        raise ValueError("publish times must be sorted ascending")
    # Items [last_before - window, last_before) are the newest `window` published before the moment;
    # those before `oldest` are too old.
    last_before = np.searchsorted(published, moments, side="left")
    oldest = np.searchsorted(published, moments - max_age_ms, side="left")
    first = np.maximum(oldest, last_before - window)
    counts = np.maximum(last_before - first, 0).astype(np.int64)
    means = np.full(len(moments), np.nan)
    if len(values):
        offsets = np.arange(window)
        rows = max(1, CHUNK_CELLS // window)
        for start in range(0, len(moments), rows):
            chunk = slice(start, start + rows)
            positions = first[chunk, None] + offsets
            counted = positions < last_before[chunk, None]
            totals = np.where(counted, values[np.minimum(positions, len(values) - 1)], 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                means[chunk] = np.where(counts[chunk] > 0, totals / counts[chunk], np.nan)
    return RollingSentiment(values=means, counts=counts)
