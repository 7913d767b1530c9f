"""Inline SVG charts for the HTML report (pure; no Django).

The report must open offline and request nothing, so the charts are SVG written here rather
than a JS library. Long series are downsampled to at most `MAX_POINTS` points: per bucket of
consecutive bars, the minimum and the maximum, in time order, so spikes and drawdown troughs
survive where an every-k-th sample would drop them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import numpy as np

MAX_POINTS = 4000
WIDTH, HEIGHT = 1000, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 24
X_TICKS, Y_TICKS = 6, 5
MARKER = 5.0


@dataclass(frozen=True)
class Markers:
    """Points drawn as one shape kind: x in epoch ms, y in price."""

    label: str
    shape: str  # "up", "down" (triangles) or "dot"
    color: str
    x: np.ndarray
    y: np.ndarray


def minmax_indexes(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indexes of the points to draw: every one when few, else each bucket's min and max."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = np.empty(2 * buckets, dtype=np.int64)
    for bucket in range(buckets):
        start, stop = edges[bucket], edges[bucket + 1]
        chunk = values[start:stop]
        low, high = start + int(np.argmin(chunk)), start + int(np.argmax(chunk))
        keep[2 * bucket], keep[2 * bucket + 1] = min(low, high), max(low, high)
    keep = np.unique(keep)  # sorted; drops the duplicate when min and max are one point
    return keep


def _nice_ticks(low: float, high: float, count: int) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step) + 1)]


def _time_label(ms: float, span_ms: float) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d" if span_ms > 3 * 86_400_000 else "%m-%d %H:%M")


class _Frame:
    """Maps data to the plot area."""

    def __init__(self, x_low: float, x_high: float, y_low: float, y_high: float) -> None:
        if y_high <= y_low:
            y_low, y_high = y_low - 1.0, y_high + 1.0
        if x_high <= x_low:
            x_high = x_low + 1.0
        self.x_low, self.x_high, self.y_low, self.y_high = x_low, x_high, y_low, y_high
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def x(self, values: np.ndarray) -> np.ndarray:
        return LEFT + (np.asarray(values, dtype=np.float64) - self.x_low) / (self.x_high - self.x_low) * self.plot_w

    def y(self, values: np.ndarray) -> np.ndarray:
        return TOP + (self.y_high - np.asarray(values, dtype=np.float64)) / (self.y_high - self.y_low) * self.plot_h


def _polyline(xs: np.ndarray, ys: np.ndarray) -> str:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))
    return f"M{points}" if points else ""


def _axes(frame: _Frame, y_format: str) -> list[str]:
    parts = []
    for tick in _nice_ticks(frame.y_low, frame.y_high, Y_TICKS):
        y = float(frame.y(np.array([tick]))[0])
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        label = format(tick * 100, ".1f") + "%" if y_format == "pct" else format(tick, ",.6g")
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    span = frame.x_high - frame.x_low
    for k in range(X_TICKS):
        ms = frame.x_low + span * k / (X_TICKS - 1)
        x = float(frame.x(np.array([ms]))[0])
        anchor = "start" if k == 0 else "end" if k == X_TICKS - 1 else "middle"
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">{_time_label(ms, span)}</text>'
        )
    parts.append(
        f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{frame.plot_w}" height="{frame.plot_h}" fill="none"/>'
    )
    return parts


def _marker_path(shape: str, xs: np.ndarray, ys: np.ndarray) -> str:
    # One path for every marker of a kind: thousands of trades stay one element each.
    m = MARKER
    if shape == "up":
        template = "M{x:.1f},{y:.1f}l{m},{d}h{n}z"
        return "".join(template.format(x=x, y=y, m=m, d=2 * m, n=-2 * m) for x, y in zip(xs, ys, strict=True))
    if shape == "down":
        template = "M{x:.1f},{y:.1f}l{m},{d}h{n}z"
        return "".join(template.format(x=x, y=y, m=m, d=-2 * m, n=-2 * m) for x, y in zip(xs, ys, strict=True))
    r = m * 0.8
    return "".join(
        f"M{x - r:.1f},{y:.1f}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0" for x, y in zip(xs, ys, strict=True)
    )


def line_chart(
    *,
    title: str,
    times_ms: np.ndarray,
    values: np.ndarray,
    color: str,
    y_format: str = "number",
    area: bool = False,
    markers: list[Markers] | None = None,
) -> str:
    """An SVG line chart of `values` over `times_ms`, with optional markers (as a <figure>)."""
    times_ms = np.asarray(times_ms, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    keep = minmax_indexes(values)
    finite = values[np.isfinite(values)]
    y_low = float(finite.min()) if len(finite) else 0.0
    y_high = float(finite.max()) if len(finite) else 1.0
    for group in markers or []:
        if len(group.y):
            y_low, y_high = min(y_low, float(np.min(group.y))), max(y_high, float(np.max(group.y)))
    if area:
        y_high = max(y_high, 0.0)
    pad = (y_high - y_low) * 0.04
    x_low = float(times_ms[0]) if len(times_ms) else 0.0
    x_high = float(times_ms[-1]) if len(times_ms) else 1.0
    frame = _Frame(x_low, x_high, y_low - pad, y_high + (0.0 if area else pad))
    xs, ys = frame.x(times_ms[keep]), frame.y(values[keep])
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        *_axes(frame, y_format),
    ]
    line = _polyline(xs, ys)
    if area and line:
        zero = float(frame.y(np.array([0.0]))[0])
        parts.append(
            f'<path d="{line}L{xs[-1]:.1f},{zero:.1f}L{xs[0]:.1f},{zero:.1f}z" fill="{color}" opacity="0.25"/>'
        )
    if line:
        parts.append(f'<path d="{line}" fill="none" stroke="{color}" stroke-width="1.2"/>')
    legend = []
    for group in markers or []:
        if len(group.x):
            path = _marker_path(group.shape, frame.x(group.x).tolist(), frame.y(group.y).tolist())
            parts.append(f'<path d="{path}" fill="{group.color}" stroke="#222" stroke-width="0.5" opacity="0.85"/>')
        legend.append(f'<span style="color:{group.color}">{"▲▼●"[["up", "down", "dot"].index(group.shape)]}</span> ')
        legend.append(f"{escape(group.label)} ({len(group.x):,}) ")
    parts.append("</svg>")
    caption = escape(title) + (f" <small>{''.join(legend)}</small>" if legend else "")
    return f"<figure><figcaption>{caption}</figcaption>{''.join(parts)}</figure>"
