"""Labels, tables and charts of the activity report, shared by its page and its documents.

Figures arrive already protected (`privacy.protect`) when the viewer is outside the
relais: a "<5" or "s" is written as it is; charts draw only the figures shown as numbers.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from relais_platform.beneficiaries import themes
from relais_platform.beneficiaries.forms import LABELS
from relais_platform.beneficiaries.models import (
    Banked,
    Housing,
    Language,
    Nationality,
    SessionKind,
    Situation,
)
from relais_platform.reporting.charts import bar_chart
from relais_platform.reporting.presentation import Chart

TOTAL_LABELS: dict[str, Any] = {
    "beneficiaries": _l("Personnes accompagnées"),
    "new_beneficiaries": _l("Nouvelles personnes inscrites"),
    "accompaniment_hours": _l("Heures d'accompagnement (durée × participants)"),
    "sessions": _l("Séances d'accompagnement"),
    "parcours_completed": _l("Parcours terminés"),
    "events": _l("Événements organisés"),
    "governance": _l("Participations aux instances de gouvernance"),
    "relais_active": _l("Relais actifs"),
    "professionals_trained": _l("Professionnels formés"),
}
BREAKDOWN_LABELS: dict[str, Any] = {
    "situation": _l("Situation"), "age_band": _l("Âge"), "housing": _l("Logement"),
    "banked": _l("Compte bancaire"), "nationality": _l("Nationalité"), "language": _l("Langue"),
    "referrer_kind": _l("Structure orienteuse"), "session_kind": _l("Type de séance"),
    "theme": _l("Thème des séances"), "programme": _l("Programme (quantités distribuées)"),
    "departement": _l("Département"),
}
ENUMS: dict[str, type[Enum]] = {
    "situation": Situation, "housing": Housing, "banked": Banked, "nationality": Nationality,
    "language": Language, "session_kind": SessionKind,
}
VALUE_LABELS: dict[str, Any] = {
    "unknown": _l("Non renseigné"), "none": _l("Sans thème"), "under_25": _l("Moins de 25 ans"),
    "25_44": _l("25 à 44 ans"), "45_64": _l("45 à 64 ans"), "65_plus": _l("65 ans et plus"),
    "standard": _l("Standard"), "connect_refugees": _l("Connect Refugees"),
}


def value_label(breakdown: str, value: str) -> str:
    if breakdown == "theme" and value in themes.labels():
        return themes.labels()[value]
    enum_cls = ENUMS.get(breakdown)
    if enum_cls is not None:
        labels: dict[Any, Any] = LABELS[enum_cls]
        try:
            return str(labels[enum_cls(value)])
        except (KeyError, ValueError):
            pass
    return str(VALUE_LABELS.get(value, value))


def total_rows(report: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(key, label, this period, previous period)."""
    totals, previous = report["totals"], report["previous"]
    return [(key, str(label), totals[key], previous[key]) for key, label in TOTAL_LABELS.items()]


def product_rows(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    current, previous = report["totals"]["distributions"], report["previous"]["distributions"]
    return [(sku, current.get(sku, 0), previous.get(sku, 0)) for sku in sorted(set(current) | set(previous))]


def breakdown_tables(report: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    """(key, title, [(value label, count)]) for each breakdown, in the contract's order."""
    return [(name, str(BREAKDOWN_LABELS[name]),
             [(value_label(name, value), count) for value, count in cells.items()])
            for name, cells in report["breakdowns"].items()]


def _numbers(rows: list[tuple[str, Any]]) -> tuple[list[str], list[float]]:
    shown = [(label, float(n)) for label, n in rows if isinstance(n, int | float)]
    return [label for label, _n in shown], [n for _l2, n in shown]


def charts_of(report: dict[str, Any]) -> list[Chart]:
    """A chart per non-empty breakdown, with its data table (protected cells included)."""
    charts = []
    compared = [(label, current, before) for key, label, current, before in total_rows(report)
                if key != "accompaniment_hours"]
    labels, values = _numbers([(label, current) for label, current, _before in compared])
    title = _("Activité de la période")
    charts.append(Chart(bar_chart(title, labels, values), title,
                        (_("Indicateur"), _("Période"), _("Période précédente")), compared))
    for _key, title, rows in breakdown_tables(report):
        if not rows:
            continue
        labels, values = _numbers(rows)
        charts.append(Chart(bar_chart(title, labels, values), title, (title, _("Effectif")), rows))
    return charts
