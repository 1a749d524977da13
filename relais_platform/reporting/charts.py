"""Charts drawn by pygal (a maintained server-side SVG library), served as images.

Why pygal: it renders SVG on the server, so the page and the PDF (WeasyPrint renders SVG,
never JavaScript) show the same chart, and nothing comes from a CDN. Its SVG carries a
`<style>` element (and pygal's tooltip script, disabled here); inline in the page, the
strict CSP would block the style. Each chart is therefore an `<img>` whose source is the
SVG as a `data:` URL (allowed by `img-src 'self' data:`): an image document runs no script
and keeps its own styles, and the CSP stays unchanged.

Accessibility: the image's `alt` names the chart and summarises the data (minimum,
maximum, total); callers put the full figures in a data table beside it. Colours contrast
at least 4.5:1 with white, every value is written on its bar or point, and the series of a
line chart differ by dash pattern too, so colour never carries meaning alone. The image
scales to its container (CSS `width: 100%`), a phone's width included. All text is escaped
by pygal's XML writer, and the `alt` by MarkupSafe.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import pygal
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.etree import etree as pygal_etree
from pygal.style import Style

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#1b1b2f"
MUTED = "#4a4a5a"
GRID = "#c9c5d3"
# Dark enough for 4.5:1 on white, distinct in hue.
PALETTE = ("#2b1a3d", "#a3195b", "#1e6b34", "#005a9c", "#8a4b00", "#5c5c5c")
DASHES = ("", "8, 4", "3, 3", "10, 4, 3, 4", "1, 3", "12, 6")
MAX_LABEL = 44  # characters drawn; the full label is in the alt text and the data table
BAR_LABEL = 24  # bar labels share the width with the bars

STYLE = Style(
    background="white", plot_background="white", foreground=INK, foreground_strong=INK,
    foreground_subtle=GRID, opacity="1", opacity_hover="1", transition="none", colors=PALETTE,
    font_family=FONT, label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT,
    value_label_font_family=FONT, title_font_family=FONT, legend_font_family=FONT,
    tooltip_font_family=FONT, no_data_font_family=FONT,
    label_font_size=18, major_label_font_size=18, value_font_size=18, value_label_font_size=18,
    legend_font_size=18, no_data_font_size=20, value_colors=(INK,), stroke_width=3,
)


def _number(value: float) -> str:
    return format_decimal(value, format="#,##0.#")


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}" if unit else _number(value)


def _clip(label: str, size: int = MAX_LABEL) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def _after_bar(unit: str) -> Any:
    """pygal centres a printed value on the bar's end: as many figure spaces before it as
    it has characters move it just after the bar."""

    def formatter(value: float | None) -> str:
        text = "" if value is None else _with_unit(value, unit)
        return "\u2007" * len(text) + text

    return formatter


def _check(values: Sequence[float | None], labels: Sequence[str], what: str, *,
           gaps: bool = False) -> list[Any]:
    """Same length as the labels, finite numbers (None only where gaps are allowed)."""
    if len(values) != len(labels):
        raise ValueError(f"{what}: {len(values)} values for {len(labels)} labels")
    if not gaps and any(v is None for v in values):
        raise ValueError(f"{what}: a value is missing")
    numbers = [None if v is None else float(v) for v in values]
    if not all(v is None or math.isfinite(v) for v in numbers):
        raise ValueError(f"{what}: values must be finite numbers")
    return numbers


def summary(name: str | None, labels: Sequence[str], values: Sequence[float | None], unit: str) -> str:
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


def _describe(labels: Sequence[str], series: dict[str, list[Any]], unit: str) -> str:
    described = " ".join(summary(name, labels, values, unit) for name, values in series.items())
    return described or _("aucune valeur.")


def _config(height: int, unit: str, **options: Any) -> dict[str, Any]:
    return {
        "style": STYLE, "width": WIDTH, "height": height, "js": [], "disable_xml_declaration": True,
        "explicit_size": True, "print_values": True, "print_zeroes": True, "show_y_guides": True,
        "show_x_guides": False, "truncate_label": MAX_LABEL, "truncate_legend": MAX_LABEL,
        "no_data_text": _("Aucune donnée pour cette période."), "margin": 12,
        "formatter": lambda value: "" if value is None else _with_unit(value, unit),
        **options,
    }


def _without_scripts(root: Any) -> bytes:
    """pygal always embeds its configuration (labels included) in a `<script>`; an image
    never runs it, so it goes."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).endswith("script"):
                parent.remove(child)
    return pygal_etree.tostring(root, encoding="utf-8")  # lxml or the standard library, as pygal uses


def _image(chart: Any, kind: str, title: str, description: str, height: int) -> Markup:
    svg = _without_scripts(chart.render_tree())
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    return Markup('<img class="chart chart--{kind}" role="img" src="{src}" alt="{alt}" width="{w}" '
                  'height="{h}">').format(
        kind=kind, src=source, alt=f"{title}. {description}", w=WIDTH, h=height)


def bar_chart(title: str, labels: list[str], values: list[float], *, unit: str = "") -> Markup:
    """One horizontal bar per label, its value written beside it; negatives left of zero."""
    numbers = _check(values, labels, "bar_chart")
    height = max(120, 48 * len(numbers) + 40)
    # Each value is written after its bar: no value axis needed.
    top = max([0.0, *numbers])
    low = min([0.0, *numbers])
    chart = pygal.HorizontalBar(**_config(height, unit, show_legend=False, print_values_position="top",
                                          # room after the longest bar for its value
                                          range=(low * 1.3, top * 1.3 or 1), formatter=_after_bar(unit),
                                          show_x_labels=False, show_y_guides=False, show_x_guides=False,
                                          margin_right=64,
                                          truncate_label=BAR_LABEL))
    chart.x_labels = [_clip(label, BAR_LABEL) for label in labels]
    if numbers:
        chart.add(title, numbers)
    return _image(chart, "bar", title, summary(None, labels, numbers, unit), height)


def stacked_bar_chart(title: str, labels: list[str], series: dict[str, list[float]], *,
                      unit: str = "") -> Markup:
    """One horizontal bar per label, split into the series; each segment's value written."""
    checked = {name: _check(values, labels, f"stacked_bar_chart[{name}]")
               for name, values in series.items()}
    height = max(140, 44 * len(labels) + 110)
    chart = pygal.HorizontalStackedBar(**_config(height, unit, legend_at_bottom=True,
                                                 legend_at_bottom_columns=2, x_labels_major_count=5,
                                                 show_minor_x_labels=False, truncate_label=BAR_LABEL))
    chart.x_labels = [_clip(label) for label in labels]
    if labels:
        for name, values in checked.items():
            chart.add(name, values)
    description = _describe(labels, checked, unit)
    return _image(chart, "stacked", title, description, height)


def line_chart(title: str, labels: list[str], series: dict[str, list[float | None]], *,
               unit: str = "") -> Markup:
    """One line per series over the labels (e.g. months); None breaks the line.

    Series differ by colour and by dash pattern; x labels are thinned to stay legible.
    """
    checked = {name: _check(values, labels, f"line_chart[{name}]", gaps=True)
               for name, values in series.items()}
    height = 380
    chart = pygal.Line(**_config(height, unit, legend_at_bottom=True, legend_at_bottom_columns=2,
                                 allow_interruptions=True, print_values=len(labels) <= 12,
                                 show_minor_x_labels=False, x_label_rotation=0))
    chart.x_labels = [_clip(label) for label in labels]
    step = max(1, math.ceil(len(labels) / 6))
    chart.x_labels_major = [_clip(label) for i, label in enumerate(labels)
                            if i % step == 0 or i == len(labels) - 1]
    if labels:
        for index, (name, values) in enumerate(checked.items()):
            dash = DASHES[index % len(DASHES)]
            chart.add(name, values, stroke_style={"width": 2.5, **({"dasharray": dash} if dash else {})})
    description = _describe(labels, checked, unit)
    if unit:
        description += " " + _("Unité : %(unit)s.", unit=unit)
    return _image(chart, "line", title, description, height)
