"""Settings → Compliance → Overview: the DPO's dashboard, charts drawn on the server as SVG.

No chart library and no script: the view turns `compliance_overview`'s numbers into bar
geometry, the template draws it, and a table beside each chart carries the same numbers for
screen readers (the SVG itself is hidden from them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from fastapi import APIRouter, Response

from veil.compliance.overview import Overview, compliance_overview
from veil.web.deps import AdminPageContext
from veil.web.routing import WebRoute
from veil.web.templating import Page, render, zone_named

router = APIRouter(route_class=WebRoute)

OVERVIEW_URL = "/settings/compliance/overview"
CHART_WIDTH = 640
PLOT_LEFT = 36  # room for the value axis
PLOT_TOP = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # "access", "erasure", "restriction" or "drops": the CSS class (dark mode too)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    value_ticks: list[Tick]
    category_ticks: list[Tick]


MAX_INTERVALS = 5
REQUEST_SERIES = ("access", "erasure", "restriction")


def value_axis(value: int) -> tuple[int, int]:
    """(top, step) of a count axis: whole-number ticks 0, step, 2·step … top, evenly spaced.

    The step is 1, 2, 5, 10, 20, 50 …, the smallest that reaches `value` in at most
    MAX_INTERVALS intervals; the top is the first multiple of the step at or above `value`.
    """
    value = max(value, 1)
    power = 1
    while True:
        for base in (1, 2, 5):
            step = base * power
            intervals = math.ceil(value / step)
            if intervals <= MAX_INTERVALS:
                return step * intervals, step
        power *= 10


def _bars_by_week(
    columns: Sequence[tuple[date, Sequence[tuple[str, int]]]], *, height: int = 200
) -> Chart:
    """Bars side by side for each week (one per series), whole-number ticks on the value axis."""
    bottom = 26
    plot_height = height - PLOT_TOP - bottom
    top_value, step = value_axis(max([c for _s, series in columns for _n, c in series] + [1]))
    group = (CHART_WIDTH - PLOT_LEFT) / max(1, len(columns))
    per_week = max([len(series) for _s, series in columns] + [1])
    bar_width = group * 0.68 / per_week
    bars: list[Bar] = []
    labels: list[Tick] = []
    for index, (start, series) in enumerate(columns):
        left = PLOT_LEFT + index * group + (group - per_week * bar_width) / 2
        for offset, (name, count) in enumerate(series):
            size = plot_height * count / top_value
            y = PLOT_TOP + plot_height - size
            bars.append(Bar(left + offset * bar_width, y, bar_width, size, name))
        if index % 2 == 0:
            labels.append(Tick(left + per_week * bar_width / 2, f"{start:%b} {start.day}"))
    ticks = [
        Tick(PLOT_TOP + plot_height * (1 - value / top_value), f"{value:,}")
        for value in range(0, top_value + 1, step)
    ]
    return Chart(CHART_WIDTH, height, bars, ticks, labels)


def weekly_chart(overview: Overview) -> Chart:
    return _bars_by_week(
        [
            (w.start, tuple((name, getattr(w, name)) for name in REQUEST_SERIES))
            for w in overview.weeks
        ]
    )


def drops_chart(overview: Overview) -> Chart:
    return _bars_by_week(
        [(w.start, (("drops", w.dropped),)) for w in overview.drop_weeks], height=160
    )


def deadline_chart(overview: Overview) -> Chart:
    """Open requests per deadline bucket, one stacked bar of the three types per row."""
    row, label_width = 30, 96
    height = PLOT_TOP + row * len(overview.due) + 4
    totals = [sum(getattr(b, name) for name in REQUEST_SERIES) for b in overview.due]
    top_value, _step = value_axis(max([*totals, 1]))
    span = CHART_WIDTH - label_width - 48
    bars: list[Bar] = []
    labels: list[Tick] = []
    for index, bucket in enumerate(overview.due):
        y = PLOT_TOP + index * row
        x = float(label_width)
        for series in REQUEST_SERIES:
            size = span * getattr(bucket, series) / top_value
            bars.append(Bar(x, y + 4, size, row - 10, series))
            x += size
        labels.append(Tick(y + row / 2, bucket.label))
    return Chart(CHART_WIDTH, height, bars, [], labels)


class OverviewPage(Page):
    template: ClassVar[str] = "settings/overview.html"
    nav: ClassVar[str] = "compliance"
    tab: str = "overview"
    overview: Overview
    weekly: Chart
    deadlines: Chart
    drops: Chart


@router.get(OVERVIEW_URL, name="compliance_overview")
def overview(web: AdminPageContext) -> Response:
    numbers = compliance_overview(
        web.session, workspace_id=web.me.workspace_id, zone=zone_named(web.me.timezone)
    )
    page = OverviewPage(
        overview=numbers,
        weekly=weekly_chart(numbers),
        deadlines=deadline_chart(numbers),
        drops=drops_chart(numbers),
    )
    return render(web.request, page)
