"""The charts (pygal, served as SVG images): accessible, escaped, scaled, every value written,
same look in the page and the PDF, nothing the CSP would block."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup, escape

from relais_platform.reporting.charts import PALETTE, bar_chart, line_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"
IMG = re.compile(r'<img class="chart chart--(\w+)" role="img" '
                 r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)" '
                 r'width="\d+" height="\d+">')


def parts(markup: Markup) -> tuple[str, ET.Element, str]:
    """(kind, the SVG's root, the alt text) of a chart."""
    assert isinstance(markup, Markup)
    match = IMG.fullmatch(str(markup))
    assert match, str(markup)[:200]
    return match[1], ET.fromstring(base64.b64decode(match[2])), match[3]


def texts(root: ET.Element) -> list[str]:
    return [(t.text or "").replace("\u2007", "") for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("chart", [
    lambda: bar_chart("Distributions", ["SIM", "Recharge"], [3, 5]),
    lambda: stacked_bar_chart("Stock", ["SIM"], {"Disponible": [3], "Réservé": [1]}),
    lambda: line_chart("Mois", ["2026-01", "2026-02"], {"SIM": [1, 2]}),
    lambda: bar_chart("Vide", [], []),
])
def test_every_chart_is_an_accessible_scalable_image(app_ctx, chart):
    _kind, root, alt = parts(chart())
    assert root.tag == f"{SVG}svg" and re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert alt and ". " in alt  # the chart's name, then its summary
    # Served as an image: whatever the SVG holds, no script runs and the page's CSP holds.
    assert "<script" not in str(chart()) and "style=" not in str(chart())


def test_text_is_escaped(app_ctx):
    evil = '<script>x</script>&'
    for markup in (bar_chart(evil, [evil], [1]), stacked_bar_chart(evil, [evil], {evil: [1]}),
                   line_chart(evil, [evil], {evil: [1]}, unit=evil)):
        assert "<script>x" not in str(markup)
        _kind, root, alt = parts(markup)  # well-formed XML, or this raises
        assert str(escape(evil)) in alt
        raw = base64.b64decode(IMG.fullmatch(str(markup))[2]).decode()
        assert "<script>x" not in raw and any(evil in t for t in texts(root))


def test_each_value_is_written_and_summarised(app_ctx):
    _kind, root, alt = parts(bar_chart("Distributions", ["SIM", "Recharge", "Laptop"], [10, 5, 2.5],
                                       unit="unités"))
    assert {"10 unités", "5 unités", "2,5 unités"} <= set(texts(root))
    assert "minimum 2,5 unités (Laptop)" in alt and "maximum 10 unités (SIM)" in alt
    assert "total 17,5 unités" in alt


def test_bars_scale_to_the_largest_value(app_ctx):
    _kind, root, _alt = parts(bar_chart("Distributions", ["a", "b"], [10, 5]))
    bars = [r for r in root.iter(f"{SVG}rect") if "rect" in (r.get("class") or "")]
    widths = sorted(float(r.get("width")) for r in bars)
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.02)


def test_values_follow_the_locale(app_ctx):
    from flask_babel import force_locale

    with force_locale("fr"):
        _kind, root, _alt = parts(bar_chart("Distributions", ["SIM"], [1234.5]))
    assert "1\u202f234,5" in texts(root) or "1\xa0234,5" in texts(root)


def test_zero_and_negative_values(app_ctx):
    _kind, root, alt = parts(bar_chart("Écart", ["perte", "rien", "gain"], [-4, 0, 8]))
    assert {"-4", "0", "8"} <= set(texts(root)) and "minimum -4 (perte)" in alt


def test_empty_data_says_so(app_ctx):
    for markup in (bar_chart("Vide", [], []), stacked_bar_chart("Vide", [], {}),
                   line_chart("Vide", [], {"SIM": []}), line_chart("Vide", ["a"], {})):
        _kind, root, alt = parts(markup)
        assert "Aucune donnée pour cette période." in texts(root)
        assert "aucune valeur" in alt


def test_mismatched_or_non_finite_data_is_refused(app_ctx):
    with pytest.raises(ValueError):
        bar_chart("x", ["a", "b"], [1])
    with pytest.raises(ValueError):
        line_chart("x", ["a"], {"s": [float("nan")]})


def test_stacked_bar_has_a_legend_and_each_segment_value(app_ctx):
    _kind, root, alt = parts(stacked_bar_chart("Stock", ["SIM", "Laptop"],
                                               {"Disponible": [6, 0], "Réservé": [2, 1]}))
    assert {"Disponible", "Réservé"} <= set(texts(root)) and {"6", "2", "1"} <= set(texts(root))
    assert "Disponible" in alt and "Réservé" in alt


def test_line_chart_series_differ_by_dash_pattern_not_only_colour(app_ctx):
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    _kind, root, alt = parts(line_chart("Distributions par mois", labels,
                                        {"SIM": list(range(24)), "Recharges": [24 - i for i in range(24)],
                                         "Manquants": [None, *range(1, 24)]}))
    svg = ET.tostring(root, encoding="unicode")
    assert "stroke-dasharray" in svg  # the second and third series are dashed
    assert "Recharges" in alt and "maximum 24 (2025-01)" in alt
    shown = [t for t in texts(root) if t in labels]
    assert "2025-01" in shown and len(set(shown)) <= 8  # thinned x labels


def test_colours_contrast_with_white():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour


def test_charts_render_in_weasyprint(app_ctx):
    weasyprint = pytest.importorskip("weasyprint")
    html = Markup("<html><head><style>img {{ width: 160mm; height: auto }}</style></head>"
                  "<body>{}{}{}</body></html>").format(
        bar_chart("SIM", ["a"], [1]), stacked_bar_chart("Stock", ["a"], {"x": [1], "y": [2]}),
        line_chart("Mois", ["a", "b"], {"x": [1, 2]}))
    document = weasyprint.HTML(string=str(html)).render()
    boxes = []

    def walk(box):
        if str(getattr(box, "element_tag", "")).endswith("img"):
            boxes.append(box)
        for child in getattr(box, "children", None) or []:
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    assert len(boxes) == 3
    assert all(box.width > 300 and box.height > 20 for box in boxes)  # scaled to the page width
