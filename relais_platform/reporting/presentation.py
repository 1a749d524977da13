"""The bilan's charts, each with the data table that is its accessible alternative (page and PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from relais_platform.beneficiaries.referrers import kind_label
from relais_platform.reporting.bilan import CATEGORY_ORDER
from relais_platform.reporting.charts import bar_chart

# Counts compared year on year in the activity chart (same unit: people or occurrences).
COMPARED = (
    ("beneficiaries", lambda: _("Personnes accompagnées")),
    ("new_beneficiaries", lambda: _("Nouvelles personnes inscrites")),
    ("parcours_completed", lambda: _("Parcours terminés")),
    ("events", lambda: _("Événements organisés")),
    ("governance_participations", lambda: _("Participations aux instances")),
    ("professionals_trained", lambda: _("Professionnels formés")),
)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


CATEGORY_LABELS: dict[str, Any] = {
    "sims": _l("Cartes SIM"), "recharges": _l("Recharges"), "devices": _l("Équipements"),
    "kits": _l("Kits Connect Refugees"), "other": _l("Autres"),
}


def charts_of(bilan: dict[str, Any]) -> list[Chart]:
    year, previous = bilan["year"], bilan["previous_year"]
    by_category = [(str(CATEGORY_LABELS[k]), bilan["distributions_by_category"][k],
                    previous["distributions_by_category"][k]) for k in CATEGORY_ORDER]
    title = _("Distributions par catégorie en %(year)d", year=year)
    distributions = Chart(
        bar_chart(title, [label for label, _n, _p in by_category], [float(n) for _l, n, _p in by_category]),
        title, (_("Catégorie"), str(year), str(previous["year"])), by_category)
    compared = [(label(), bilan[key], previous[key]) for key, label in COMPARED]
    title = _("Activité %(previous)d et %(year)d", previous=previous["year"], year=year)
    labels, numbers = [], []
    for label, current, before in compared:
        labels += [f"{label} — {previous['year']}", f"{label} — {year}"]
        numbers += [float(before), float(current)]
    activity = Chart(bar_chart(title, labels, numbers), title,
                     (_("Indicateur"), str(year), str(previous["year"])), compared)
    hours_title = _("Heures d'accompagnement")
    hours = Chart(
        bar_chart(hours_title, [str(previous["year"]), str(year)],
                  [previous["accompaniment_hours"], bilan["accompaniment_hours"]], unit="h"),
        hours_title, (_("Indicateur"), str(year), str(previous["year"])),
        [(hours_title, bilan["accompaniment_hours"], previous["accompaniment_hours"])])
    kinds = sorted(set(bilan["new_beneficiaries_by_referrer_kind"])
                   | set(previous["new_beneficiaries_by_referrer_kind"]))
    by_kind = [(kind_label(k), bilan["new_beneficiaries_by_referrer_kind"].get(k, 0),
                previous["new_beneficiaries_by_referrer_kind"].get(k, 0)) for k in kinds]
    title = _("%(n)d structures ont orienté %(people)d nouvelles personnes en %(year)d",
              n=bilan["referrers"], people=bilan["new_beneficiaries"], year=year)
    referred = Chart(bar_chart(title, [label for label, _n, _p in by_kind],
                               [float(n) for _l, n, _p in by_kind]),
                     title, (_("Structure orienteuse"), str(year), str(previous["year"])), by_kind)
    return [activity, distributions, hours, referred]
