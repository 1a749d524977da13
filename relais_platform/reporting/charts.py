"""Server-rendered, accessible SVG charts: no JavaScript, no CDN, readable by WeasyPrint.

Each chart is an inline `<svg role="img">` whose `<title>` names it and whose `<desc>`
summarises the data (minimum, maximum, total), so a screen reader gets the gist; callers
still put the full figures in a data table beside it (see the dashboards' templates). The
SVG has a `viewBox` and a width of 100 %, so it scales down to a phone's width; bar charts
write each label above its bar and the value after it, so long product names never clip.

Colour is never the only carrier of meaning: every value is written as text, series of a
line chart differ by marker shape and dash pattern, segments of a stacked bar by fill
pattern, and each legend repeats the shape or pattern. Colours contrast at least 4.5:1
with white. Styling uses presentation attributes only (the CSP forbids inline styles, and
WeasyPrint reads attributes reliably). All text is escaped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 360
PAD = 8
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#1b1b2f"
MUTED = "#4a4a5a"
GRID = "#c9c5d3"
# Dark enough for 4.5:1 on white, distinct in hue and, where it matters, in pattern.
PALETTE = ("#2b1a3d", "#a3195b", "#1e6b34", "#005a9c", "#8a4b00", "#5c5c5c")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "bar")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
MAX_LABEL = 44  # characters drawn; the full label is in the desc and the data table

_ROW = 40  # one horizontal bar: label line, then the bar
_BAR = 16
_VALUE_SPACE = 84


# --- text helpers -----------------------------------------------------------------------


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.#")


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}" if unit else _number(value)


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _fmt(x: float) -> str:
    """Coordinates with at most one decimal (smaller markup, stable tests)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _chart_id(kind: str, title: str, payload: object) -> str:
    # Deterministic: the same chart twice on a page shares identical definitions, harmlessly.
    digest = hashlib.sha1(f"{kind}|{title}|{payload!r}".encode()).hexdigest()[:10]
    return f"chart-{digest}"


def _check(values: Sequence[float], labels: Sequence[str], what: str) -> list[float]:
    if len(values) != len(labels):
        raise ValueError(f"{what}: {len(values)} values for {len(labels)} labels")
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{what}: values must be finite numbers")
    return numbers


def _check_gaps(values: Sequence[float | None], labels: Sequence[str], what: str) -> list[float | None]:
    """Like `_check`, but None marks a missing point (e.g. a moving average's first months)."""
    if len(values) != len(labels):
        raise ValueError(f"{what}: {len(values)} values for {len(labels)} labels")
    numbers = [None if v is None else float(v) for v in values]
    if not all(v is None or math.isfinite(v) for v in numbers):
        raise ValueError(f"{what}: values must be finite numbers")
    return numbers


def _summary(name: str | None, labels: Sequence[str], values: Sequence[float | None], unit: str) -> str:
    known = [i for i, v in enumerate(values) if v is not None]
    if not known:
        text = _("aucune valeur.")
        return f"{name} : {text}" if name else text
    low = min(known, key=lambda i: values[i])  # type: ignore[arg-type, return-value]
    high = max(known, key=lambda i: values[i])  # type: ignore[arg-type, return-value]
    total = sum(v for v in values if v is not None)
    text = _("%(count)d valeurs ; minimum %(low)s (%(low_label)s), maximum %(high)s (%(high_label)s), "
             "total %(total)s.", count=len(known), low=_with_unit(values[low], unit),  # type: ignore[arg-type]
             low_label=labels[low], high=_with_unit(values[high], unit),  # type: ignore[arg-type]
             high_label=labels[high], total=_with_unit(total, unit))
    return f"{name} : {text}" if name else text


def _open(chart_id: str, title: str, desc: str, height: float, kind: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--{kind}" role="img" '
        f'viewBox="0 0 {WIDTH} {_fmt(height)}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}" font-size="14" '
        f'fill="{INK}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _empty(kind: str, title: str) -> Markup:
    chart_id = _chart_id(kind, title, None)
    message = _("Aucune donnée pour cette période.")
    parts = _open(chart_id, title, message, 40, kind)
    parts.append(f'<text x="{PAD}" y="25" fill="{MUTED}">{escape(message)}</text></svg>')
    return Markup("".join(parts))


class _Scale:
    """Linear map of [low, high] (always containing 0) onto [start, end]."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        low, high = min(low, 0.0), max(high, 0.0)
        if high == low:
            high = low + 1.0
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2, 5 × 10ⁿ) covering [low, high], 0 included."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [round(i * step, 10) for i in range(first, last + 1)]


# --- bar charts -------------------------------------------------------------------------


def _bar_rows(labels: Sequence[str], top: float) -> list[tuple[str, float, float]]:
    """(label, y of the label's baseline, y of the bar's top) for each row."""
    return [(label, top + i * _ROW + 13, top + i * _ROW + 18) for i, label in enumerate(labels)]


def _zero_mark(zero: float, bar_y: float) -> str:
    """The zero line beside one bar (not across the labels written above the bars)."""
    return (f'<line x1="{_fmt(zero)}" x2="{_fmt(zero)}" y1="{_fmt(bar_y - 3)}" y2="{_fmt(bar_y + _BAR + 3)}" '
            f'stroke="{INK}" stroke-width="1.5"/>')


def bar_chart(title: str, labels: list[str], values: list[float], *, unit: str = "") -> Markup:
    """One horizontal bar per label; negative values extend left of a marked zero line."""
    numbers = _check(values, labels, "bar_chart")
    if not numbers:
        return _empty("bar", title)
    chart_id = _chart_id("bar", title, (labels, numbers, unit))
    height = len(numbers) * _ROW + PAD
    scale = _Scale(min(numbers), max(numbers), PAD, WIDTH - PAD - _VALUE_SPACE)
    zero = scale(0)
    parts = _open(chart_id, title, _summary(None, labels, numbers, unit), height, "bar")
    for (label, text_y, bar_y), value in zip(_bar_rows(labels, PAD / 2), numbers, strict=True):
        end = scale(value)
        left, width = min(zero, end), abs(end - zero)
        parts.append(f'<text x="{PAD}" y="{_fmt(text_y)}">{escape(_clip(label))}</text>')
        if width:
            parts.append(f'<rect x="{_fmt(left)}" y="{_fmt(bar_y)}" width="{_fmt(width)}" '
                         f'height="{_BAR}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{_fmt(max(zero, end) + 4)}" y="{_fmt(bar_y + 12.5)}" font-weight="bold">'
                     f'{escape(_with_unit(value, unit))}</text>')
        if scale.low < 0:
            parts.append(_zero_mark(zero, bar_y))
    parts.append("</svg>")
    return Markup("".join(parts))


def _pattern(chart_id: str, index: int) -> str:
    """Fill of the index-th stacked series: a colour plus a distinct white texture."""
    colour = PALETTE[index % len(PALETTE)]
    textures = (
        "",
        '<path d="M0,8 L8,0" stroke="#fff" stroke-width="2"/>',
        '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
        '<path d="M0,4 H8 M4,0 V8" stroke="#fff" stroke-width="1.5"/>',
        '<path d="M0,0 L8,8" stroke="#fff" stroke-width="2"/>',
        '<path d="M0,4 H8" stroke="#fff" stroke-width="2"/>',
    )
    return (f'<pattern id="{chart_id}-p{index}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{textures[index % len(textures)]}</pattern>')


def _legend(items: Sequence[tuple[str, str]], top: float) -> tuple[list[str], float]:
    """Legend entries (name, swatch markup at 0,0 → 24×12) wrapped in rows; returns its height."""
    parts: list[str] = []
    x, y = float(PAD), top
    for name, swatch in items:
        width = 30 + 7.8 * len(_clip(name)) + 14
        if x > PAD and x + width > WIDTH - PAD:
            x, y = float(PAD), y + 20
        parts.append(f'<g transform="translate({_fmt(x)},{_fmt(y)})">{swatch}'
                     f'<text x="30" y="11">{escape(_clip(name))}</text></g>')
        x += width
    return parts, (y - top) + 20 if items else 0.0


def stacked_bar_chart(title: str, labels: list[str], series: dict[str, list[float]], *,
                      unit: str = "") -> Markup:
    """One horizontal bar per label, split into the series' segments; the total follows it."""
    checked = {name: _check(values, labels, f"stacked_bar_chart[{name}]") for name, values in series.items()}
    if not labels or not checked:
        return _empty("stacked", title)
    chart_id = _chart_id("stacked", title, (labels, checked, unit))
    names = list(checked)
    columns = [[checked[name][i] for name in names] for i in range(len(labels))]
    positive = [sum(v for v in column if v > 0) for column in columns]
    negative = [sum(v for v in column if v < 0) for column in columns]
    totals = [sum(column) for column in columns]
    legend, legend_height = _legend(
        [(name, f'<rect width="24" height="12" fill="url(#{chart_id}-p{i})" stroke="{INK}" '
                f'stroke-width=".5"/>') for i, name in enumerate(names)], PAD / 2)
    top = PAD / 2 + legend_height
    height = top + len(labels) * _ROW + PAD
    scale = _Scale(min(negative), max(positive), PAD, WIDTH - PAD - _VALUE_SPACE)
    zero = scale(0)
    desc = " ".join(_summary(name, labels, checked[name], unit) for name in names)
    parts = _open(chart_id, title, desc, height, "stacked")
    parts.append("<defs>" + "".join(_pattern(chart_id, i) for i in range(len(names))) + "</defs>")
    parts.extend(legend)
    rows = _bar_rows(labels, top)
    for (label, text_y, bar_y), column, total in zip(rows, columns, totals, strict=True):
        parts.append(f'<text x="{PAD}" y="{_fmt(text_y)}">{escape(_clip(label))}</text>')
        above, below = 0.0, 0.0
        for index, value in enumerate(column):
            if value > 0:
                start, above = above, above + value
            elif value < 0:
                start, below = below, below + value
            else:
                continue
            x1, x2 = sorted((scale(start), scale(start + value)))
            # A white edge separates adjacent segments.
            parts.append(f'<rect x="{_fmt(x1)}" y="{_fmt(bar_y)}" width="{_fmt(x2 - x1)}" height="{_BAR}" '
                         f'fill="url(#{chart_id}-p{index})" stroke="#fff" stroke-width="1"/>')
        parts.append(f'<text x="{_fmt(scale(above) + 4)}" y="{_fmt(bar_y + 12.5)}" font-weight="bold">'
                     f'{escape(_with_unit(total, unit))}</text>')
        if scale.low < 0:
            parts.append(_zero_mark(zero, bar_y))
    parts.append("</svg>")
    return Markup("".join(parts))


# --- line chart -------------------------------------------------------------------------


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    r = 3.5
    if shape == "circle":
        return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="{r}" fill="{colour}"/>'
    if shape == "square":
        return (f'<rect x="{_fmt(x - r)}" y="{_fmt(y - r)}" width="{2 * r}" height="{2 * r}" '
                f'fill="{colour}"/>')
    if shape in ("triangle", "diamond"):
        corners = ([(0, -r - 1), (-r - 0.5, r), (r + 0.5, r)] if shape == "triangle"
                   else [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)])
        points = " ".join(f"{_fmt(x + dx)},{_fmt(y + dy)}" for dx, dy in corners)
        return f'<polygon points="{points}" fill="{colour}"/>'
    if shape == "cross":
        return (f'<path d="M{_fmt(x - r)},{_fmt(y - r)} L{_fmt(x + r)},{_fmt(y + r)} M{_fmt(x - r)},'
                f'{_fmt(y + r)} L{_fmt(x + r)},{_fmt(y - r)}" stroke="{colour}" stroke-width="2"/>')
    return (f'<rect x="{_fmt(x - r)}" y="{_fmt(y - 1.5)}" width="{2 * r}" height="3" fill="{colour}"/>')


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The stretches of consecutive known values, with their indexes."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, value))
    return [run for run in runs if run]


def line_chart(title: str, labels: list[str], series: dict[str, list[float | None]], *,
               unit: str = "") -> Markup:
    """One line per series over the labels (e.g. months); markers and dashes tell series apart.

    A None value is a missing point: the line breaks there.
    """
    checked = {name: _check_gaps(values, labels, f"line_chart[{name}]") for name, values in series.items()}
    if not labels or not checked:
        return _empty("line", title)
    chart_id = _chart_id("line", title, (labels, checked, unit))
    names = list(checked)
    styles = [(PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)], DASHES[i % len(DASHES)])
              for i in range(len(names))]

    def sample(colour: str, marker: str, dash: str) -> str:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        return (f'<line x1="0" x2="24" y1="6" y2="6" stroke="{colour}" stroke-width="2"{dashed}/>'
                + _marker(marker, 12, 6, colour))

    legend, legend_height = _legend(
        [(name, sample(*style)) for name, style in zip(names, styles, strict=True)], PAD / 2)
    everything = [v for values in checked.values() for v in values if v is not None] or [0.0]
    ticks = _nice_ticks(min(everything), max(everything))
    tick_labels = [_number(t) for t in ticks]
    left = PAD + 7 * max(len(t) for t in tick_labels) + 6
    right = WIDTH - PAD - 6
    top = PAD / 2 + legend_height + 8
    bottom = top + 180
    height = bottom + 26
    y_scale = _Scale(ticks[0], ticks[-1], bottom, top)
    count = len(labels)

    def x_at(i: int) -> float:
        return (left + right) / 2 if count == 1 else left + i * (right - left) / (count - 1)

    desc = " ".join(_summary(name, labels, checked[name], unit) for name in names)
    if unit:
        desc += " " + _("Unité : %(unit)s.", unit=unit)
    parts = _open(chart_id, title, desc, height, "line")
    parts.extend(legend)
    for tick, text in zip(ticks, tick_labels, strict=True):
        y = y_scale(tick)
        parts.append(f'<line x1="{_fmt(left)}" x2="{_fmt(right)}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
                     f'stroke="{INK if tick == 0 else GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end" font-size="13" '
                     f'fill="{MUTED}">{escape(text)}</text>')
    # As many x labels as fit without overlapping (about 7.5 units a character at 13),
    # always the first and the last.
    widest = 7.5 * max(len(_clip(label)) for label in labels) + 12
    every = max(1, math.ceil(count / max(2, int((right - left) / widest))))
    shown = sorted({*range(0, count, every), count - 1})
    if count > 1 and len(shown) > 1 and shown[-1] - shown[-2] < every:
        shown.pop(-2)
    for i in shown:
        anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 else "middle"
        parts.append(f'<text x="{_fmt(x_at(i))}" y="{_fmt(bottom + 18)}" text-anchor="{anchor}" '
                     f'font-size="13" fill="{MUTED}">{escape(_clip(labels[i]))}</text>')
    for (colour, marker, dash), name in zip(styles, names, strict=True):
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        for run in _runs(checked[name]):
            points = [(x_at(i), y_scale(v)) for i, v in run]
            if len(points) > 1:
                path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                             f'stroke-width="2"{dashed}/>')
            parts.extend(_marker(marker, x, y, colour) for x, y in points)
    parts.append("</svg>")
    return Markup("".join(parts))
