"""Demand forecast, days of cover and the suggested reorder quantity (pure rules, no SQL).

The rule, per relais and product (figures come from SQL aggregates of the relais' ledger):

- **demand** of a month = units distributed that month, net of cancellations;
- **forecast** for the coming month = the 3-month moving average: the mean demand of the
  last three *complete* months (the current month is partial, so it is left out);
- **daily rate** = the units distributed over those three months ÷ the number of days they
  span (89 to 92), so that a short February does not inflate it;
- **days of cover** = stock on hand ÷ daily rate, rounded down; none when nothing was
  distributed (the stock is not being consumed);
- **suggested reorder** = what brings the stock to the cover target:
  ⌈target days × daily rate⌉ − on hand − already on order, never below 0. "On order" counts
  the relais' open orders: requested quantities of submitted orders, allocated quantities
  until shipment, and goods shipped but not yet received (in transit). The target is
  `COVER_TARGET_DAYS` (90 days: an order lead time plus a safety margin), which
  `DASHBOARD_COVER_TARGET_DAYS` in the configuration overrides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from flask import current_app, has_app_context

COVER_TARGET_DAYS = 90
WINDOW_MONTHS = 3
# Below this cover a line is flagged as running out (the training alert `stock_low` uses 14).
LOW_COVER_DAYS = 14


def cover_target_days() -> int:
    if has_app_context():
        return int(current_app.config.get("DASHBOARD_COVER_TARGET_DAYS", COVER_TARGET_DAYS))
    return COVER_TARGET_DAYS


def window(current_month: date) -> tuple[date, date]:
    """[first day, end) of the three complete months before `current_month` (a 1st)."""
    return current_month - relativedelta(months=WINDOW_MONTHS), current_month


def window_days(current_month: date) -> int:
    start, end = window(current_month)
    return (end - start).days


def moving_average(values: Sequence[float], size: int = WINDOW_MONTHS) -> list[float | None]:
    """Trailing moving average: item i is the mean of values[i-size+1 .. i], None before."""
    return [None if i + 1 < size else sum(values[i + 1 - size:i + 1]) / size
            for i in range(len(values))]


@dataclass(frozen=True)
class Cover:
    on_hand: int
    on_order: int
    distributed_in_window: int  # units over the last three complete months
    window_days: int
    target_days: int

    @property
    def forecast(self) -> float:
        """Units expected next month: the 3-month moving average."""
        return self.distributed_in_window / WINDOW_MONTHS

    @property
    def daily_rate(self) -> float:
        return self.distributed_in_window / self.window_days if self.window_days else 0.0

    @property
    def days_of_cover(self) -> int | None:
        if self.daily_rate <= 0:
            return None
        return math.floor(max(self.on_hand, 0) / self.daily_rate)

    @property
    def reorder(self) -> int:
        # Rounded to 9 decimals first: 90 × (30/90) must give 30, not 30.000000000000004 → 31.
        needed = math.ceil(round(self.target_days * self.daily_rate, 9))
        return max(0, needed - self.on_hand - self.on_order)

    @property
    def low(self) -> bool:
        return self.days_of_cover is not None and self.days_of_cover < LOW_COVER_DAYS


def cover(on_hand: int, on_order: int, distributed_in_window: int, current_month: date) -> Cover:
    return Cover(int(on_hand), int(on_order), int(distributed_in_window), window_days(current_month),
                 cover_target_days())
