"""The dashboard's chart: open breaks by type after each run, as stacked bars, drawn by the
template as plain SVG (no script, no style attribute: the Content-Security-Policy allows
neither), with the geometry of the exchange-health charts."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.gateway.charts import HEIGHT, LEFT, RIGHT, TOP, WIDTH, Tick
from backoffice.reconciliation.models import BreakType, ReconciliationRun

BOTTOM = 24
COLOURS = {
    BreakType.MISSING_AT_EXCHANGE: "#b42318",
    BreakType.MISSING_HERE: "#9a6700",
    BreakType.AMOUNT_MISMATCH: "#2450c4",
    BreakType.QUANTITY_MISMATCH: "#6941c6",
    BreakType.DUPLICATE: "#067647",
    BreakType.UNEXPECTED_ENTRY: "#5f6b7a",
}


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class StackedChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    segments: list[Segment]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (colour, label)
    empty: bool


def _top(value: int) -> int:
    for step in (5, 10, 20, 25, 50):
        for power in range(7):
            if step * 10**power >= value:
                return step * 10**power
    return value


def open_breaks_chart(runs: list[ReconciliationRun]) -> StackedChart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(runs))
    totals = [sum(run.open_by_type.values()) for run in runs]
    top = _top(max(totals, default=0))
    segments: list[Segment] = []
    for i, run in enumerate(runs):
        base = TOP + plot_height
        for kind in BreakType:
            count = run.open_by_type.get(kind.value, 0)
            if not count:
                continue
            height = plot_height * count / top
            base -= height
            segments.append(
                Segment(
                    x=round(LEFT + i * slot + slot * 0.15, 2),
                    y=round(base, 2),
                    width=round(max(1.0, slot * 0.7), 2),
                    height=round(height, 2),
                    fill=COLOURS[kind],
                    title=f"Run #{run.pk} ({run.business_date}): {count} {kind.label.lower()}",
                )
            )
    every = max(1, len(runs) // 8)
    x_ticks = [
        Tick(round(LEFT + (i + 0.5) * slot, 1), run.business_date.strftime("%m-%d"))
        for i, run in enumerate(runs)
        if i % every == 0
    ]
    y_ticks = [Tick(round(TOP + plot_height * (1 - f), 2), f"{top * f:g}") for f in (0, 0.5, 1)]
    return StackedChart(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, segments, y_ticks, x_ticks,
        [(COLOURS[kind], kind.label) for kind in BreakType], not runs,
    )  # fmt: skip
