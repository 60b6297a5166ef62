"""Bar charts of the statistics service's cells, laid out for server-side SVG.

A chart draws the cells exactly as the service hands them out: one bar per month and value,
a suppressed cell ("<5") as a short hatched bar labelled "<5", never an estimate, and no totals
(a total next to its cells would let a reader subtract a suppressed one back out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 320
PLOT_WIDTH = 360
COUNT_WIDTH = 60
SUPPRESSED_WIDTH = 12  # a fixed stub: its length must not hint at the hidden count


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the count as the service gives it: a number, or "<5"
    suppressed: bool
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int = LABEL_WIDTH


def bar_chart(cells: list[dict[str, Any]]) -> Chart:
    largest = max((c["count"] for c in cells if isinstance(c["count"], int)), default=1)
    bars = []
    for position, cell in enumerate(cells):
        count = cell["count"]
        suppressed = not isinstance(count, int)
        width = SUPPRESSED_WIDTH if suppressed else max(1, round(PLOT_WIDTH * count / largest))
        bars.append(Bar(f"{cell['month']} · {cell['value']}", str(count), suppressed,
                        position * (BAR_HEIGHT + BAR_GAP), width))
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return Chart(bars, LABEL_WIDTH + PLOT_WIDTH + COUNT_WIDTH, height)
