"""The SVG charts: accessible markup, escaped text, scaling, empty and negative data, PDF."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from relais_platform.reporting.charts import PALETTE, bar_chart, line_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def rects(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("height") == "16"]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def widths(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in rects(root)]


@pytest.mark.parametrize("chart", [
    lambda: bar_chart("Distributions", ["SIM", "Recharge"], [3, 5]),
    lambda: stacked_bar_chart("Stock", ["SIM"], {"Disponible": [3], "Réservé": [1]}),
    lambda: line_chart("Mois", ["2026-01", "2026-02"], {"SIM": [1, 2]}),
    lambda: bar_chart("Vide", [], []),
])
def test_every_chart_is_an_accessible_scalable_image(chart):
    root = parse(chart())
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+ \d+(\.\d)?", root.get("viewBox"))
    title, desc = root[0], root[1]
    assert title.tag == f"{SVG}title" and title.text
    assert desc.tag == f"{SVG}desc" and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "style=" not in str(chart())  # the CSP forbids inline styles


def test_text_is_escaped():
    evil = '<script>alert("x")</script> & co'
    for markup in (bar_chart(evil, [evil], [1]),
                   stacked_bar_chart(evil, [evil], {evil: [1]}),
                   line_chart(evil, [evil], {evil: [1]}, unit=evil)):
        assert "<script>" not in str(markup)
        root = parse(markup)
        assert root[0].text == evil
        assert any(evil in t for t in texts(root))


def test_bars_scale_to_the_largest_value_and_write_each_value():
    root = parse(bar_chart("Distributions", ["SIM", "Recharge", "Laptop"], [10, 5, 2.5], unit="unités"))
    first, second, third = widths(root)
    assert first == pytest.approx(2 * second, abs=0.2) == pytest.approx(4 * third, abs=0.4)
    assert {"10 unités", "5 unités", "2.5 unités"} <= set(texts(root))
    desc = root[1].text
    assert "minimum 2.5 unités (Laptop)" in desc and "maximum 10 unités (SIM)" in desc
    assert "total 17.5 unités" in desc


def test_values_follow_the_locale(app_ctx):
    from flask_babel import force_locale

    with force_locale("fr"):
        root = parse(bar_chart("Distributions", ["SIM"], [1234.5]))
    assert "1\u202f234,5" in texts(root) or "1\xa0234,5" in texts(root)


def test_zero_and_negative_values():
    root = parse(bar_chart("Écart", ["perte", "rien", "gain"], [-4, 0, 8]))
    bars = rects(root)
    assert len(bars) == 2  # a zero value draws no bar, but its value is written
    assert "0" in texts(root)
    negative, positive = bars
    zero_x = float(negative.get("x")) + float(negative.get("width"))
    assert float(positive.get("x")) == pytest.approx(zero_x)
    assert float(positive.get("width")) == pytest.approx(2 * float(negative.get("width")), abs=0.2)
    assert any(line.get("x1") == line.get("x2") for line in root.iter(f"{SVG}line"))  # zero mark
    all_zero = parse(bar_chart("Rien", ["a", "b"], [0, 0]))
    assert rects(all_zero) == [] and texts(all_zero).count("0") == 2


def test_empty_data_says_so():
    for markup in (bar_chart("Vide", [], []), stacked_bar_chart("Vide", [], {}),
                   line_chart("Vide", [], {"SIM": []}), line_chart("Vide", ["a"], {})):
        root = parse(markup)
        assert "Aucune donnée" in root[1].text
        assert not rects(root)


def test_mismatched_or_non_finite_data_is_refused():
    with pytest.raises(ValueError):
        bar_chart("x", ["a", "b"], [1])
    with pytest.raises(ValueError):
        line_chart("x", ["a"], {"s": [float("nan")]})


def test_stacked_segments_use_patterns_and_the_total_follows_the_bar():
    root = parse(stacked_bar_chart("Stock", ["SIM", "Laptop"],
                                   {"Disponible": [6, 0], "Réservé": [2, 1], "En transit": [2, 3]}))
    patterns = list(root.iter(f"{SVG}pattern"))
    assert len(patterns) == 3 and len({p.get("id") for p in patterns}) == 3
    segments = rects(root)
    assert len(segments) == 5  # the zero segment is not drawn
    assert all(s.get("fill").startswith("url(#") for s in segments)
    assert {"10", "4"} <= set(texts(root))
    assert {"Disponible", "Réservé", "En transit"} <= set(texts(root))  # legend
    sim = [float(s.get("width")) for s in segments[:3]]
    assert sim[0] == pytest.approx(3 * sim[1], abs=0.3)


def test_line_chart_distinguishes_series_without_colour():
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    root = parse(line_chart("Distributions par mois", labels,
                            {"SIM": list(range(24)), "Recharges": [24 - i for i in range(24)],
                             "Négatif": [-i for i in range(24)]}))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 3
    assert len({line.get("stroke-dasharray") for line in lines}) == 3
    assert [len(line.get("points").split()) for line in lines] == [24, 24, 24]
    assert len(list(root.iter(f"{SVG}circle"))) == 24 + 1  # markers + the legend's sample
    assert len(list(root.iter(f"{SVG}rect"))) >= 24  # squares for the second series
    shown = [t for t in texts(root) if t in labels]
    assert shown[0] == "2025-01" and shown[-1] == "2026-12" and len(shown) <= 6
    # The y axis runs from below the lowest to above the highest value.
    ticks = [float(t) for t in texts(root) if re.fullmatch(r"-?\d+", t)]
    assert min(ticks) <= -23 and max(ticks) >= 24
    assert "Recharges" in root[1].text and "maximum 24 (2025-01)" in root[1].text


def test_colours_contrast_with_white():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour


def test_charts_render_in_weasyprint():
    weasyprint = pytest.importorskip("weasyprint")
    html = Markup("<html><body>{}{}{}</body></html>").format(
        bar_chart("SIM", ["a"], [1]), stacked_bar_chart("Stock", ["a"], {"x": [1], "y": [2]}),
        line_chart("Mois", ["a", "b"], {"x": [1, 2]}))
    document = weasyprint.HTML(string=str(html)).render()
    page = document.pages[0]._page_box
    boxes = []

    def walk(box):
        if str(getattr(box, "element_tag", "")).endswith("svg"):
            boxes.append(box)
        for child in getattr(box, "children", None) or []:
            walk(child)

    walk(page)
    assert len(boxes) == 3
    assert all(box.width > 300 and box.height > 20 for box in boxes)  # scaled to the page width
