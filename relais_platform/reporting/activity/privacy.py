"""Small numbers outside a relais' own view ("secret statistique"), see docs/privacy.md.

1. Primary: a breakdown cell from 1 to 4 is shown as "<5" (0 stays 0: nobody to recognise).
2. Complementary: a breakdown with exactly one such cell also withholds its smallest other
   non-zero cell, shown as "s". Every breakdown adds up to a figure a reader can learn (a
   total, or a sibling breakdown over the same people); with two cells withheld, subtracting
   the visible cells yields the sum of two unknowns, never one small cell.
3. Totals that count people (or their acts) from 1 to 4 are shown as "<5": such a total is
   a cell of its own.

The same rule applies to the API, the pages and the exports: they all read the protected
report. A relais looking at its own figures gets them exact.
"""

from __future__ import annotations

from typing import Any

SMALL = "<5"
WITHHELD = "s"
THRESHOLD = 5
# Totals that are counts of people or of what they did; hours, sessions held, events and
# relais are not about identifiable people on their own.
PEOPLE_TOTALS = ("beneficiaries", "new_beneficiaries", "parcours_completed", "professionals_trained")

Cell = int | float | str


def is_small(value: Any) -> bool:
    return isinstance(value, int | float) and 0 < value < THRESHOLD


def protect_cells(cells: dict[str, int]) -> dict[str, Cell]:
    """Primary then complementary suppression of one breakdown."""
    shown: dict[str, Cell] = {key: SMALL if is_small(value) else value for key, value in cells.items()}
    if sum(1 for value in shown.values() if value == SMALL) == 1:
        others = [(value, key) for key, value in cells.items()
                  if shown[key] != SMALL and value >= THRESHOLD]
        if others:
            shown[min(others)[1]] = WITHHELD
    return shown


def protect_totals(totals: dict[str, Any]) -> dict[str, Any]:
    shown = dict(totals)
    for key in PEOPLE_TOTALS:
        if is_small(shown.get(key)):
            shown[key] = SMALL
    shown["distributions"] = protect_cells(totals["distributions"])
    return shown


def protect(report: dict[str, Any]) -> dict[str, Any]:
    """The report as seen outside the relais' own view (a new dict; the input is kept)."""
    return {
        **report,
        "totals": protect_totals(report["totals"]),
        "previous": protect_totals(report["previous"]),
        "breakdowns": {name: protect_cells(cells) for name, cells in report["breakdowns"].items()},
    }
