"""Server-side charts: the geometry of two small SVG charts, drawn by the template.

No JavaScript and no style attributes (the Content-Security-Policy allows neither): the template
writes plain SVG elements with presentation attributes from the numbers computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from backoffice import clock
from backoffice.gateway.selectors import Bucket, Window

WIDTH, HEIGHT = 720, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[Bar]
    lines: dict[str, str]  # name -> SVG points
    dots: dict[str, list[tuple[float, float]]]  # name -> (x, y) markers, visible even alone
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    empty: bool


def _x_ticks(buckets: list[Bucket], window: Window, slot: float) -> list[Tick]:
    if not buckets:
        return []
    every = max(1, len(buckets) // 6)
    fmt = "%H:%M" if window.trunc != "day" else "%m-%d"
    if window.key == "7d":
        fmt = "%m-%d %Hh"
    return [
        Tick(round(LEFT + (i + 0.5) * slot, 1), clock.local(bucket.start).strftime(fmt))
        for i, bucket in enumerate(buckets)
        if i % every == 0
    ]


def _nice_max(value: float, floor: float) -> float:
    top = max(value, floor)
    for step in (1, 2, 2.5, 5):
        for power in range(-3, 7):
            candidate = step * 10**power
            if candidate >= top:
                return candidate
    return top


def _ms(value: float) -> str:
    """An axis label short enough for the margin: "250 ms", "10 s"."""
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def error_rate_chart(buckets: list[Bucket], window: Window) -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(buckets))
    rates = [b.error_rate or 0.0 for b in buckets]
    top = _nice_max(max(rates, default=0.0) * 100, 1.0)
    bars = []
    for i, bucket in enumerate(buckets):
        if not bucket.errors:
            continue  # nothing to draw; the table and the latency chart show the calls
        rate = rates[i] * 100
        height = plot_height * rate / top
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.1, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(max(1.0, slot * 0.8), 2),
                height=round(height, 2),
                title=f"{clock.display(bucket.start)}: {bucket.errors} of {bucket.calls} "
                f"calls failed ({rate:.1f}%)",
            )
        )
    y_ticks = [Tick(round(TOP + plot_height * (1 - f), 2), f"{top * f:g}%") for f in (0, 0.5, 1)]
    return Chart(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP + plot_height, bars, {}, {}, y_ticks,
        _x_ticks(buckets, window, slot), not any(b.calls for b in buckets),
    )  # fmt: skip


def latency_chart(buckets: list[Bucket], window: Window) -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(buckets))
    top = _nice_max(float(max((b.p95_ms or 0 for b in buckets), default=0)), 10.0)
    lines: dict[str, str] = {}
    dots: dict[str, list[tuple[float, float]]] = {}
    for name in ("p50_ms", "p95_ms"):
        points = []
        for i, bucket in enumerate(buckets):
            value = getattr(bucket, name)
            if value is None:
                continue
            y = TOP + plot_height * (1 - min(value, top) / top)
            points.append((round(LEFT + (i + 0.5) * slot, 1), round(y, 1)))
        lines[name] = " ".join(f"{x},{y}" for x, y in points)
        dots[name] = points
    y_ticks = [Tick(round(TOP + plot_height * (1 - f), 2), _ms(top * f)) for f in (0, 0.5, 1)]
    return Chart(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP + plot_height, [], lines, dots, y_ticks,
        _x_ticks(buckets, window, slot), not any(b.calls for b in buckets),
    )  # fmt: skip
